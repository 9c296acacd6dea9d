//! The cron cleanup: dangling index entries go, live ones stay, bounded work
//! per run, resuming from a stored cursor.

mod common;

use common::Ops;
use common::{block_on, env, Env};
use session_core::kv::CLEANUP_GRACE_MS;
use session_core::store::{KvStore, PutOptions};
use session_core::{NewSession, Session};

fn create_many(env: &Env, users: usize, per_user: usize) -> Vec<(session_core::Token, Session)> {
    let mut out = Vec::new();
    for u in 0..users {
        for _ in 0..per_user {
            out.push(
                block_on(env.service.create(NewSession::for_user(format!("user{u}")))).unwrap(),
            );
        }
    }
    out
}

fn index_keys(env: &Env) -> Vec<String> {
    env.kv
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("u:"))
        .collect()
}

#[test]
fn removes_dangling_entries_over_bounded_runs_and_keeps_live_ones() {
    let env = env();
    let sessions = create_many(&env, 5, 6); // 30 sessions
                                            // Make every third session dangling: its session key vanished (e.g. a
                                            // destroy whose index delete failed).
    let mut dangling = Vec::new();
    for (i, (_, s)) in sessions.iter().enumerate() {
        if i % 3 == 0 {
            block_on(env.kv.delete(&format!("s:{}", s.id))).unwrap();
            dangling.push(s.id.clone());
        }
    }
    env.clock.set_ms(env.clock_now() + CLEANUP_GRACE_MS + 1);

    let budget = 7;
    let mut runs = 0;
    let (mut scanned, mut removed) = (0, 0);
    loop {
        env.kv.reset_counts();
        let report = block_on(env.service.repo().cleanup(budget)).unwrap();
        runs += 1;
        let counts = env.kv.counts();
        assert_eq!(counts.lists, 1, "one list page per run");
        assert!(report.scanned <= budget && report.reads <= budget);
        assert!(
            counts.reads <= budget + 1,
            "cursor read + at most budget reads: {counts:?}"
        );
        assert_eq!(counts.reads, report.reads + 1);
        scanned += report.scanned;
        removed += report.removed;
        if report.done {
            assert!(
                !env.kv.keys().contains(&"m:cleanup".to_string()),
                "cursor cleared at the end"
            );
            break;
        }
        assert!(
            env.kv.keys().contains(&"m:cleanup".to_string()),
            "cursor stored"
        );
        assert!(runs < 10);
    }
    assert_eq!(runs, 5, "30 entries by 7");
    assert_eq!((scanned, removed), (30, 10));
    let left = index_keys(&env);
    assert_eq!(left.len(), 20);
    for id in &dangling {
        assert!(left.iter().all(|k| !k.ends_with(id.as_str())));
    }
    for (i, (token, _)) in sessions.iter().enumerate() {
        if i % 3 != 0 {
            assert!(block_on(env.service.verify(token.expose())).is_ok());
        }
    }
    for u in 0..5 {
        assert_eq!(
            block_on(env.service.list_user(&format!("user{u}"), None))
                .unwrap()
                .len(),
            4
        );
    }
    // The next run starts over and finds nothing more to remove.
    let report = block_on(env.service.repo().cleanup(100)).unwrap();
    assert_eq!((report.scanned, report.removed, report.done), (20, 0, true));
}

#[test]
fn expired_entries_are_removed_without_a_read() {
    let env = env();
    let short = NewSession {
        idle_ttl: Some(60),
        absolute_ttl: Some(60),
        ..NewSession::for_user("u")
    };
    block_on(env.service.create(short.clone())).unwrap();
    block_on(env.service.create(short)).unwrap();
    let (live, _) = block_on(env.service.create(NewSession::for_user("u"))).unwrap();
    env.clock.set_ms(env.clock_now() + CLEANUP_GRACE_MS + 1);
    env.kv.reset_counts();
    let report = block_on(env.service.repo().cleanup(10)).unwrap();
    assert_eq!(
        (report.scanned, report.removed, report.reads, report.done),
        (3, 2, 1, true)
    );
    assert_eq!(env.kv.counts().reads, 2, "cursor + the one live entry");
    assert_eq!(index_keys(&env).len(), 1);
    assert!(block_on(env.service.verify(live.expose())).is_ok());
}

#[test]
fn recent_entries_are_kept_even_without_their_session_key() {
    // KV is eventually consistent: the cron's location may not see a
    // session key written a moment ago elsewhere.
    let env = env();
    let (_, s) = block_on(env.service.create(NewSession::for_user("u"))).unwrap();
    block_on(env.kv.delete(&format!("s:{}", s.id))).unwrap();
    let report = block_on(env.service.repo().cleanup(10)).unwrap();
    assert_eq!((report.scanned, report.removed, report.reads), (1, 0, 0));
    env.clock.set_ms(env.clock_now() + CLEANUP_GRACE_MS + 1);
    let report = block_on(env.service.repo().cleanup(10)).unwrap();
    assert_eq!((report.scanned, report.removed, report.reads), (1, 1, 1));
    assert!(index_keys(&env).is_empty());
}

#[test]
fn a_stale_cursor_restarts_the_scan_and_foreign_keys_are_left_alone() {
    let env = env();
    create_many(&env, 2, 2);
    block_on(
        env.kv
            .put("m:cleanup", "not-a-cursor", PutOptions::default()),
    )
    .unwrap();
    block_on(env.kv.put("u:garbage", "", PutOptions::default())).unwrap();
    env.clock.set_ms(env.clock_now() + CLEANUP_GRACE_MS + 1);
    let report = block_on(env.service.repo().cleanup(10)).unwrap();
    assert_eq!((report.scanned, report.removed, report.done), (4, 0, true));
    assert!(env.kv.keys().contains(&"u:garbage".to_string()));
    assert!(!env.kv.keys().contains(&"m:cleanup".to_string()));
}

#[test]
fn budget_is_clamped_to_kv_limits() {
    let env = env();
    create_many(&env, 1, 3);
    let report = block_on(env.service.repo().cleanup(0)).unwrap();
    assert_eq!((report.scanned, report.done), (1, false));
    let report = block_on(env.service.repo().cleanup(usize::MAX)).unwrap();
    assert_eq!((report.scanned, report.done), (2, true));
}

trait ClockNow {
    fn clock_now(&self) -> i64;
}

impl ClockNow for Env {
    fn clock_now(&self) -> i64 {
        use session_core::Clock;
        self.clock.now_ms()
    }
}
