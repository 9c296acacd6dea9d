//! `strong` mode: each user's owner (here [`MemoryOwners`], the in-memory
//! twin of the Durable Object, over SQLite itself) reached from the
//! Worker's [`OwnerClient`]. Guarantees, costs, interleavings, the import
//! from `eventual` mode, and another location's stale view side by side.

mod common;

use std::rc::Rc;

use common::{
    block_on, join2, join_all, key_entry, owner_settings, request_over, service_over, strong_over,
    yield_times, Api, LaggedKv, Ops, Owners, T0,
};
use serde_json::json;
use session_core::owner::{OwnerClient, OwnerTransport};
use session_core::service::slide_due;
use session_core::store::{KvStore, PutOptions};
use session_core::testing::{ManualClock, MemoryKv, MemoryOwners, SeededRandom, StoreOp};
use session_core::{
    Clock, KeyLayout, NewSession, Policy, Session, SessionError, Slide, StoreError, Writer,
};

struct World {
    clock: ManualClock,
    kv: MemoryKv,
    owners: Rc<Owners>,
    sessions: Api,
}

fn keys() -> String {
    key_entry("k1", 1)
}

fn world_with(policy: Policy) -> World {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let here = service_over(&kv, &clock, &keys(), "", 8);
    let (sessions, owners) = strong_over(&kv, &clock, here, &keys(), 7, policy);
    World {
        clock,
        kv,
        owners,
        sessions,
    }
}

fn world() -> World {
    world_with(Policy::default())
}

/// The eventual-mode service over the same KV (before or after a switch).
/// Each has its own random stream.
fn eventual(w: &World) -> Api {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: AtomicU64 = AtomicU64::new(1000);
    let seed = SEED.fetch_add(1, Ordering::Relaxed);
    Api::Eventual(service_over(&w.kv, &w.clock, &keys(), "", seed))
}

fn owner_name(user: &str) -> String {
    let layout = KeyLayout::default();
    layout.owner_name(layout.owner(user))
}

/// The ids of the sessions the owner of `user` holds in its table.
fn held(w: &World, user: &str) -> Vec<String> {
    let owner = w.owners.owner(&owner_name(user)).expect("an owner");
    owner
        .tables()
        .sql()
        .rows("SELECT id FROM sessions ORDER BY id")
        .into_iter()
        .filter_map(|row| row[0].as_str().map(str::to_owned))
        .collect()
}

/// The KV keys the owner of `user` still has to bring to KV.
fn outbox(w: &World, user: &str) -> Vec<String> {
    let owner = w.owners.owner(&owner_name(user)).expect("an owner");
    owner
        .tables()
        .sql()
        .rows("SELECT key FROM outbox ORDER BY seq")
        .into_iter()
        .filter_map(|row| row[0].as_str().map(str::to_owned))
        .collect()
}

fn create(w: &World, user: &str) -> (String, Session) {
    let (token, s) = block_on(w.sessions.create(NewSession::for_user(user))).unwrap();
    (token.expose().to_owned(), s)
}

fn kv_index_keys(w: &World, user: &str) -> Vec<String> {
    let prefix = KeyLayout::default().user_index_prefix(user);
    w.kv.keys()
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

#[test]
fn a_token_names_its_owner_and_verifying_costs_one_owner_call_and_no_kv() {
    let w = world();
    let (token, s) = create(&w, "alice");
    assert_eq!(
        s.id.owner(),
        KeyLayout::default().owner("alice"),
        "the id carries the owner"
    );
    w.owners.reset_calls();
    w.kv.reset_counts();
    let verified = block_on(w.sessions.verify(&token)).unwrap();
    assert_eq!(verified.id, s.id);
    assert_eq!(w.owners.calls(), 1);
    assert_eq!(w.kv.counts().total(), 0, "no KV call on the guard path");
    // KV holds the index entry (global listing), never the record.
    assert_eq!(kv_index_keys(&w, "alice").len(), 1);
    assert!(!w.kv.keys().iter().any(|k| k.starts_with("s:")));
    assert_eq!(w.owners.names(), vec![owner_name("alice")]);
    assert_eq!(held(&w, "alice"), vec![s.id.to_string()]);
}

#[test]
fn forged_and_malformed_tokens_and_ids_cost_no_call_at_all() {
    let w = world();
    let (token, _) = create(&w, "alice");
    w.owners.reset_calls();
    w.kv.reset_counts();
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [forged.as_str(), "es1.k1.x.y.z", "", "garbage"] {
        assert_eq!(
            block_on(w.sessions.verify(bad)).unwrap_err(),
            SessionError::InvalidToken
        );
    }
    assert_eq!(
        block_on(w.sessions.get("not-an-id")).unwrap_err(),
        SessionError::NotFound
    );
    assert!(!block_on(w.sessions.destroy("not-an-id")).unwrap());
    assert_eq!(w.owners.calls(), 0);
    assert_eq!(w.kv.counts().total(), 0);
}

#[test]
fn a_bad_patch_and_an_expired_refresh_are_refused_before_any_call() {
    let w = world();
    let (token, _) = create(&w, "alice");
    let s = block_on(w.sessions.verify(&token)).unwrap();
    w.owners.reset_calls();
    assert_eq!(
        block_on(
            w.sessions
                .update_session(&s, &json!({"meta": {}}), Writer::Holder)
        )
        .unwrap_err(),
        SessionError::Forbidden { field: "meta" }
    );
    w.clock.advance_secs(8 * 86_400);
    assert_eq!(
        block_on(w.sessions.refresh(&s)).unwrap_err(),
        SessionError::Expired
    );
    assert_eq!(w.owners.calls(), 0);
}

#[test]
fn a_revocation_is_refused_by_the_very_next_request() {
    let w = world();
    let (token, s) = create(&w, "alice");
    block_on(w.sessions.destroy_session(&s)).unwrap();
    assert_eq!(
        block_on(w.sessions.verify(&token)).unwrap_err(),
        SessionError::InvalidToken
    );
    // By id (admin) and by user as well.
    let (token2, s2) = create(&w, "alice");
    assert!(block_on(w.sessions.destroy(s2.id.as_str())).unwrap());
    assert!(block_on(w.sessions.verify(&token2)).is_err());
    let (token3, _) = create(&w, "alice");
    assert_eq!(block_on(w.sessions.destroy_user("alice", None)).unwrap(), 1);
    assert!(block_on(w.sessions.verify(&token3)).is_err());
    // KV's index follows (the owner drains its outbox after each call).
    assert!(kv_index_keys(&w, "alice").is_empty());
    assert!(held(&w, "alice").is_empty() && outbox(&w, "alice").is_empty());
}

#[test]
fn no_write_brings_a_revoked_session_back_in_any_order() {
    // Each race: the revocation and one write of the same session, started
    // together, in both orders, with KV calls yielding so that the owner's
    // KV work interleaves; afterwards the session is gone everywhere.
    let patch = json!({"label": "renamed"});
    for first_revoke in [true, false] {
        for race in ["slide", "refresh", "update", "admin_update"] {
            let w = world_with(Policy::new(600, 86_400).unwrap());
            let (token, s) = create(&w, "alice");
            w.clock.advance_secs(400); // sliding is due
            let verified = block_on(w.sessions.verify(&token)).unwrap();
            let claimed = slide_due(&verified, w.clock.now_ms()).expect("slide due");
            w.kv.set_yield_each_op(true);
            let revoke = async {
                w.sessions
                    .destroy_session(&s)
                    .await
                    .map(|_| None::<Session>)
            };
            let write = async {
                match race {
                    "slide" => w.sessions.slide(&claimed).await.map(|r| match r {
                        Slide::Written(s) => Some(*s),
                        Slide::Skipped => None,
                    }),
                    "refresh" => w.sessions.refresh(&verified).await.map(Some),
                    "update" => w
                        .sessions
                        .update_session(&verified, &patch, Writer::Holder)
                        .await
                        .map(Some),
                    _ => w.sessions.update(s.id.as_str(), &patch).await.map(Some),
                }
            };
            let results = if first_revoke {
                block_on(join2(revoke, write))
            } else {
                let (b, a) = block_on(join2(write, revoke));
                (a, b)
            };
            assert!(results.0.is_ok(), "{race}: revoke failed: {:?}", results.0);
            w.kv.set_yield_each_op(false);
            assert_eq!(
                block_on(w.sessions.verify(&token)).unwrap_err(),
                SessionError::InvalidToken,
                "{race} (revoke first: {first_revoke}) brought the session back"
            );
            block_on(w.owners.run_alarms()).unwrap();
            assert!(held(&w, "alice").is_empty(), "{race}: owner still holds it");
            assert!(
                kv_index_keys(&w, "alice").is_empty(),
                "{race}: KV index left"
            );
        }
    }
}

#[test]
fn fifty_concurrent_logins_are_all_listed_and_all_revoked() {
    let w = world();
    w.kv.set_yield_each_op(true);
    let created: Vec<_> = block_on(join_all(
        (0..50)
            .map(|_| w.sessions.create(NewSession::for_user("bob")))
            .collect(),
    ));
    w.kv.set_yield_each_op(false);
    let tokens: Vec<String> = created
        .into_iter()
        .map(|r| r.unwrap().0.expose().to_owned())
        .collect();
    assert_eq!(
        block_on(w.sessions.list_user("bob", None)).unwrap().len(),
        50
    );
    assert_eq!(kv_index_keys(&w, "bob").len(), 50, "global index complete");
    w.kv.set_yield_each_op(true);
    // Revoke-all while more logins come in: each new one either is revoked
    // or outlives it, never half of both.
    let (revoked, late) = block_on(join2(
        w.sessions.destroy_user("bob", None),
        w.sessions.create(NewSession::for_user("bob")),
    ));
    w.kv.set_yield_each_op(false);
    let revoked = revoked.unwrap();
    let (late_token, _) = late.unwrap();
    assert!(revoked == 50 || revoked == 51, "revoked {revoked}");
    for t in &tokens {
        assert!(block_on(w.sessions.verify(t)).is_err());
    }
    let late_works = block_on(w.sessions.verify(late_token.expose())).is_ok();
    let listed = block_on(w.sessions.list_user("bob", None)).unwrap();
    assert_eq!(
        listed.len(),
        usize::from(late_works),
        "listing = what works"
    );
    assert_eq!(revoked, 51 - usize::from(late_works));
}

#[test]
fn revoke_all_of_5000_sessions_completes_and_kv_catches_up_by_alarm() {
    let w = world();
    let tokens: Vec<String> = (0..5000).map(|_| create(&w, "carol").0).collect();
    assert_eq!(kv_index_keys(&w, "carol").len(), 5000);
    w.kv.reset_counts();
    w.owners.reset_calls();
    assert_eq!(
        block_on(w.sessions.destroy_user("carol", None)).unwrap(),
        5000
    );
    assert_eq!(w.owners.calls(), 1, "one call from the Worker");
    let in_call = w.kv.counts().total();
    assert_eq!(
        in_call, 500,
        "the call itself stays far below 1000 subrequests"
    );
    // KV's index lags until the alarms ran...
    assert_eq!(kv_index_keys(&w, "carol").len(), 4500);
    assert_eq!(outbox(&w, "carol").len(), 4500);
    block_on(w.owners.run_alarms()).unwrap();
    assert_eq!(
        w.kv.counts().deletes,
        5000,
        "one KV delete per index entry, none twice"
    );
    assert_eq!(w.kv.counts().total(), 5000);
    assert!(kv_index_keys(&w, "carol").is_empty());
    for t in &tokens {
        assert!(block_on(w.sessions.verify(t)).is_err());
    }
}

#[test]
fn session_cap_revokes_the_least_recently_seen_in_both_modes() {
    let policy = Policy::default().with_session_cap(Some(3));
    for strong in [true, false] {
        let w = world_with(policy);
        let eventual_sessions =
            Api::Eventual(service_over(&w.kv, &w.clock, &keys(), "", 11).with_policy(policy));
        let sessions = if strong {
            &w.sessions
        } else {
            &eventual_sessions
        };
        let mut tokens = Vec::new();
        for _ in 0..3 {
            let (t, s) = block_on(sessions.create(NewSession::for_user("dan"))).unwrap();
            tokens.push((t.expose().to_owned(), s));
            w.clock.advance_secs(10);
        }
        // The first one is seen again: the second is now the least recent.
        let first = block_on(sessions.verify(&tokens[0].0)).unwrap();
        block_on(sessions.refresh(&first)).unwrap();
        w.clock.advance_secs(10);
        let (t4, _) = block_on(sessions.create(NewSession::for_user("dan"))).unwrap();
        let works = |t: &str| block_on(sessions.verify(t)).is_ok();
        assert!(works(&tokens[0].0), "strong={strong}: refreshed one kept");
        assert!(
            !works(&tokens[1].0),
            "strong={strong}: least recent revoked"
        );
        assert!(works(&tokens[2].0) && works(t4.expose()));
        assert_eq!(block_on(sessions.list_user("dan", None)).unwrap().len(), 3);
    }
}

#[test]
fn the_cap_is_exact_in_strong_mode_under_concurrent_logins() {
    let w = world_with(Policy::default().with_session_cap(Some(5)));
    w.kv.set_yield_each_op(true);
    let made = block_on(join_all(
        (0..40)
            .map(|_| w.sessions.create(NewSession::for_user("cap")))
            .collect(),
    ));
    w.kv.set_yield_each_op(false);
    assert!(made.iter().all(Result::is_ok));
    let working = made
        .iter()
        .filter(|r| {
            let token = r.as_ref().unwrap().0.expose();
            block_on(w.sessions.verify(token)).is_ok()
        })
        .count();
    assert_eq!(working, 5, "never more than the cap, even for a moment");
    assert_eq!(held(&w, "cap").len(), 5);
}

#[test]
fn expired_sessions_leave_the_owner_tables_on_their_own() {
    let w = world();
    let mut new = NewSession::for_user("erin");
    new.idle_ttl = Some(60);
    new.absolute_ttl = Some(120);
    let (token, s) = block_on(w.sessions.create(new)).unwrap();
    assert_eq!(held(&w, "erin"), vec![s.id.to_string()]);
    // Still there while it may answer `session_expired`...
    w.clock.advance_secs(120);
    block_on(w.owners.run_alarms()).unwrap();
    assert_eq!(held(&w, "erin").len(), 1);
    assert_eq!(
        block_on(w.sessions.verify(token.expose())).unwrap_err(),
        SessionError::Expired
    );
    // ...gone once KV's copy would be (a day later).
    w.clock.advance_secs(86_400 + 60);
    block_on(w.owners.run_alarms()).unwrap();
    assert!(held(&w, "erin").is_empty());
    assert_eq!(
        block_on(w.sessions.verify(token.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
}

#[test]
fn the_alarm_is_asked_for_when_kv_work_is_left_and_for_the_first_purge() {
    let w = world();
    w.owners.set_drain_budget(Some(0));
    let (_, s) = create(&w, "gus");
    let owner = w.owners.owner(&owner_name("gus")).unwrap();
    assert_eq!(outbox(&w, "gus").len(), 1, "KV's index entry is queued");
    let now = w.clock.now_ms();
    let handled = block_on(owner.handle(
        session_core::Op::Get {
            id: s.id.to_string(),
        },
        &Default::default(),
    ));
    assert!(handled.reply.is_ok());
    assert_eq!(
        handled.alarm_ms,
        Some(now + session_core::owner::RETRY_MS),
        "soon: the outbox is not empty"
    );
    w.owners.set_drain_budget(None);
    let next = block_on(owner.alarm());
    assert!(outbox(&w, "gus").is_empty());
    let purge = session_core::layout::kept_until_ms(&s.lifetime);
    assert_eq!(next, Some(purge), "then when the session is to be dropped");
}

#[test]
fn an_unreachable_owner_fails_closed() {
    let w = world();
    let (token, s) = create(&w, "fay");
    w.owners.set_unreachable(true);
    let unavailable = |r: Result<_, SessionError>| {
        matches!(r, Err(SessionError::Store(StoreError::Unavailable(_))))
    };
    assert!(unavailable(block_on(w.sessions.verify(&token)).map(|_| ())));
    assert!(unavailable(block_on(w.sessions.destroy_session(&s))));
    assert!(unavailable(
        block_on(w.sessions.list_user("fay", None)).map(|_| ())
    ));
    assert!(unavailable(
        block_on(w.sessions.create(NewSession::for_user("fay"))).map(|_| ())
    ));
    w.owners.set_unreachable(false);
    assert!(block_on(w.sessions.verify(&token)).is_ok());
}

#[test]
fn an_operation_of_another_owner_is_refused_by_the_owner() {
    let w = world();
    create(&w, "amy");
    let amy = w.owners.owner(&owner_name("amy")).unwrap();
    let handled = block_on(amy.handle(
        session_core::Op::ListUser {
            user_id: "bob".into(),
            current: None,
        },
        &Default::default(),
    ));
    assert!(matches!(
        handled.reply,
        Err(SessionError::Store(StoreError::Rejected(_)))
    ));
}

#[test]
fn switching_from_eventual_imports_once_and_keeps_revoked_sessions_revoked() {
    let w = world();
    // Before the switch: two sessions of "gil", one of "hal", in KV only.
    let ev = eventual(&w);
    let made = |user: &str| {
        let (t, s) = block_on(ev.create(NewSession::for_user(user))).unwrap();
        (t.expose().to_owned(), s)
    };
    let (kept_token, kept) = made("gil");
    let (revoked_token, revoked) = made("gil");
    let (unused_token, _) = made("hal");

    // After: the first call imports the user's sessions (one KV list, one
    // read per session, and one read to find the user of a token).
    w.kv.reset_counts();
    assert_eq!(
        block_on(w.sessions.verify(&kept_token)).unwrap().id,
        kept.id
    );
    let c = w.kv.counts();
    assert_eq!((c.lists, c.reads, c.writes, c.deletes), (1, 3, 0, 0));
    assert_eq!(held(&w, "gil").len(), 2, "both imported");
    // Once imported, no KV read at all.
    w.kv.reset_counts();
    block_on(w.sessions.verify(&revoked_token)).unwrap();
    assert_eq!(
        block_on(w.sessions.list_user("gil", None)).unwrap().len(),
        2
    );
    assert_eq!(w.kv.counts().total(), 0);

    // Revoked after the switch: refused, its KV record deleted, and never
    // imported again even if another location's KV still shows the record.
    let layout = KeyLayout::default();
    let stale_record =
        w.kv.entries()
            .into_iter()
            .find(|e| e.name == layout.session_key(&revoked.id))
            .unwrap()
            .value;
    block_on(w.sessions.destroy_session(&revoked)).unwrap();
    assert!(block_on(w.sessions.verify(&revoked_token)).is_err());
    assert!(
        !w.kv.keys().contains(&layout.session_key(&revoked.id)),
        "its KV record is deleted too"
    );
    block_on(w.kv.put(
        &layout.session_key(&revoked.id),
        &stale_record,
        PutOptions::default(),
    ))
    .unwrap();
    assert_eq!(
        block_on(w.sessions.verify(&revoked_token)).unwrap_err(),
        SessionError::InvalidToken
    );
    // Revoking all after the switch covers sessions never used since.
    assert_eq!(block_on(w.sessions.destroy_user("hal", None)).unwrap(), 1);
    assert!(block_on(w.sessions.verify(&unused_token)).is_err());
    // Back to eventual: revoked sessions stay revoked there too; the kept
    // one works, as it stands now.
    block_on(w.kv.delete(&layout.session_key(&revoked.id))).unwrap();
    let back = eventual(&w);
    assert!(block_on(back.verify(&revoked_token)).is_err());
    assert!(block_on(back.verify(&unused_token)).is_err());
    assert!(block_on(back.verify(&kept_token)).is_ok());
}

#[test]
fn an_imported_session_in_use_keeps_its_kv_record_in_step() {
    // The guarantee the KV copy of an imported session stands for: it
    // follows every change, so it never expires under an active user and a
    // switch back serves it as it stands (its roles as the admin left them).
    let w = world();
    let ev = eventual(&w);
    let (token, _) = block_on(ev.create(NewSession {
        meta: Some(json!({"roles": ["admin"]})),
        ..NewSession::for_user("ned")
    }))
    .unwrap();
    let token = token.expose().to_owned();
    let first = block_on(w.sessions.verify(&token)).unwrap();
    block_on(
        w.sessions
            .update(first.id.as_str(), &json!({"meta": {"roles": []}})),
    )
    .unwrap();
    // Active every hour for 10 days (idle TTL 7 days).
    for step in 0..(10 * 86_400 / 3600) {
        let s = block_on(w.sessions.verify(&token))
            .unwrap_or_else(|e| panic!("refused after {} s: {e:?}", step * 3600));
        block_on(w.sessions.refresh(&s)).unwrap();
        w.clock.advance_secs(3600);
    }
    block_on(w.owners.run_alarms()).unwrap();
    let back = block_on(eventual(&w).verify(&token)).expect("works after the switch back");
    assert!(!back.has_role("admin"), "the role stays removed");
    let now = block_on(w.sessions.verify(&token)).unwrap();
    assert_eq!(back.lifetime, now.lifetime, "KV's copy is the owner's");
}

#[test]
fn another_locations_stale_view_revives_a_session_only_in_eventual_mode() {
    // Location B reads KV as it was `lag` seconds ago (KV's propagation
    // window); the revocation is made in location A.
    let lag = 30;
    for strong in [false, true] {
        let w = world();
        let replica = LaggedKv::new(w.kv.clone(), w.clock.clone(), lag);
        let far_here = request_over(replica.clone(), &w.clock, &Rc::default(), 13);
        let transport: Rc<dyn OwnerTransport> = w.owners.clone();
        let settings = owner_settings(&keys(), Policy::default());
        let far_strong = OwnerClient::new(settings, far_here, w.clock.clone(), transport);
        let far_eventual = request_over(replica.clone(), &w.clock, &Rc::default(), 14);
        let near = if strong { &w.sessions } else { &eventual(&w) };
        let (token, s) = block_on(near.create(NewSession::for_user("ivy"))).unwrap();
        let far_verify = |t: &str| {
            if strong {
                block_on(far_strong.verify(t)).is_ok()
            } else {
                block_on(far_eventual.verify(t)).is_ok()
            }
        };
        replica.snapshot();
        w.clock.advance_secs(lag + 1);
        assert!(far_verify(token.expose()), "seen far away");
        block_on(near.destroy_session(&s)).unwrap();
        replica.snapshot();
        let stale = far_verify(token.expose());
        assert_eq!(stale, !strong, "strong={strong}: just after the revocation");
        w.clock.advance_secs(lag + 1);
        assert!(!far_verify(token.expose()), "after the window");
    }
}

#[test]
fn until_kv_has_it_a_change_waits_in_the_owners_outbox() {
    // What the owner writes lands in its table at once, and in its outbox
    // until KV has the index entry.
    let w = world();
    w.owners.set_drain_budget(Some(0));
    let (_, s) = create(&w, "jo");
    let layout = KeyLayout::default();
    assert_eq!(held(&w, "jo"), vec![s.id.to_string()]);
    assert_eq!(outbox(&w, "jo"), vec![layout.index_key("jo", &s.id)]);
    assert!(kv_index_keys(&w, "jo").is_empty(), "not drained yet");
    // A later change of the same key replaces the queued one.
    block_on(w.sessions.update(s.id.as_str(), &json!({"label": "x"}))).unwrap();
    assert_eq!(outbox(&w, "jo").len(), 1);
    w.kv.reset_counts();
    block_on(w.owners.run_alarms()).unwrap();
    assert_eq!(w.kv.counts().writes, 1, "one put: the latest change");
    assert_eq!(kv_index_keys(&w, "jo").len(), 1);
    let (listed, _) = block_on(w.sessions.list_all(10, None)).unwrap();
    assert_eq!(listed[0].label.as_deref(), Some("x"));
    assert!(outbox(&w, "jo").is_empty());
}

#[test]
fn a_failed_transaction_leaves_nothing_half_done() {
    // Every storage call of an operation inside the owner is one
    // transaction: failing it leaves the tables and the outbox as they were.
    let w = world();
    let (_, s) = create(&w, "kim");
    let faults = session_core::testing::Faults::new();
    w.owners.set_faults(Some(&faults));
    let before = (held(&w, "kim"), outbox(&w, "kim"));
    let owner = w.owners.owner(&owner_name("kim")).unwrap();
    let sql = owner.tables().sql();
    let rows_before = sql.rows("SELECT record FROM sessions");
    faults.fail_call(1, session_core::testing::FaultKind::Lost);
    let r = block_on(w.sessions.update(s.id.as_str(), &json!({"label": "x"})));
    assert!(r.is_err());
    assert_eq!((held(&w, "kim"), outbox(&w, "kim")), before);
    assert_eq!(sql.rows("SELECT record FROM sessions"), rows_before);
    w.owners.set_faults(None);
}

// Found by attack reviews of this mode; each failed before its fix.

/// A revocation made while the first import of the same user is in flight
/// is never undone by a write of that session that started before it.
#[test]
fn a_write_racing_the_first_import_never_revives_a_revoked_session() {
    let w = world();
    // Before the switch: five sessions of "vic" in KV (eventual mode).
    let ev = eventual(&w);
    let mut made = Vec::new();
    for _ in 0..5 {
        let (t, s) = block_on(ev.create(NewSession::for_user("vic"))).unwrap();
        made.push((t.expose().to_owned(), s));
    }
    let (token, target) = made[0].clone();
    // KV is remote: reads and lists take a while.
    w.kv.set_op_latency(StoreOp::Read, 5);
    w.kv.set_op_latency(StoreOp::List, 5);
    // A: the first request after the switch (imports).
    let a = async { w.sessions.verify(&token).await.map(|_| ()) };
    // B: a refresh of the same session, arriving while A imports.
    let b = async {
        yield_times(8).await;
        w.sessions.refresh(&target).await.map(|_| ())
    };
    // C: the admin revokes the session, while B imports too.
    let c = async {
        yield_times(14).await;
        w.sessions.destroy(target.id.as_str()).await
    };
    let ((_, _), rc) = block_on(join2(join2(a, b), c));
    w.kv.set_op_latency(StoreOp::Read, 0);
    w.kv.set_op_latency(StoreOp::List, 0);
    assert!(rc.unwrap(), "the admin was told it is revoked");
    assert!(
        block_on(w.sessions.verify(&token)).is_err(),
        "the revoked session works again"
    );
    assert_eq!(
        held(&w, "vic").len(),
        4,
        "imported once, the revoked one gone"
    );
}

/// A 64-byte KEY_PREFIX and a 256-byte userId (both allowed) log in, in
/// both modes: every KV key the owner queues fits KV's 512 bytes.
#[test]
fn the_longest_prefix_and_user_id_log_in_in_strong_mode() {
    let prefix = "p".repeat(64);
    let user = "u".repeat(256);
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let mut settings = owner_settings(&keys(), Policy::default());
    settings.layout = Rc::new(KeyLayout::new(&prefix).unwrap());
    let owners = Rc::new(MemoryOwners::new(
        kv.clone(),
        clock.clone(),
        Rc::new(SeededRandom::new(7)),
        settings.clone(),
    ));
    let here = service_over(&kv, &clock, &keys(), &prefix, 8);
    let transport: Rc<dyn OwnerTransport> = owners.clone();
    let strong = Api::Strong(OwnerClient::new(settings, here, clock.clone(), transport));
    let ev = Api::Eventual(service_over(&kv, &clock, &keys(), &prefix, 9));
    assert!(
        block_on(ev.create(NewSession::for_user(user.clone()))).is_ok(),
        "eventual ok"
    );
    let r = block_on(strong.create(NewSession::for_user(user.clone())));
    assert!(r.is_ok(), "strong create failed: {:?}", r.err());
    block_on(owners.run_alarms()).unwrap();
    let (listed, _) = block_on(strong.list_all(10, None)).unwrap();
    assert_eq!(listed.len(), 2, "both in KV's index");
}

/// Two calls of one owner whose drains would overlap: only one drains at a
/// time, so an older KV put never lands after a newer delete.
#[test]
fn overlapping_drains_never_leave_a_revoked_session_in_kvs_index() {
    let w = world();
    w.owners.set_drain_budget(Some(0));
    let (token, s) = create(&w, "lee");
    w.owners.set_drain_budget(None);
    w.kv.set_op_latency(StoreOp::Write, 10); // a slow KV put
                                             // A drains the put (its label change queued one), B the delete.
    let a = async {
        w.sessions
            .update(s.id.as_str(), &json!({"label": "a"}))
            .await
            .map(drop)
    };
    let b = async {
        yield_times(2).await;
        w.sessions.destroy_session(&s).await
    };
    let (ra, rb) = block_on(join2(a, b));
    w.kv.set_op_latency(StoreOp::Write, 0);
    ra.unwrap();
    rb.unwrap();
    block_on(w.owners.run_alarms()).unwrap();
    assert!(block_on(w.sessions.verify(&token)).is_err());
    let (listed, _) = block_on(w.sessions.list_all(100, None)).unwrap();
    assert!(
        listed.is_empty() && kv_index_keys(&w, "lee").is_empty(),
        "the admin listing shows the revoked session {:?}",
        listed.iter().map(|s| s.id.to_string()).collect::<Vec<_>>()
    );
}

/// A guarded request (verify) never pays for another call's KV backlog:
/// only calls that queued KV work drain before they answer.
#[test]
fn a_guarded_request_never_waits_for_another_calls_kv_backlog() {
    let w = world();
    for _ in 0..2000 {
        create(&w, "max");
    }
    block_on(w.sessions.destroy_user("max", None)).unwrap();
    let (token, _) = create(&w, "max");
    w.kv.reset_counts();
    block_on(w.sessions.verify(&token)).unwrap();
    let n = w.kv.counts().total();
    assert_eq!(
        n, 0,
        "one guarded request made {n} KV calls inside the owner before answering"
    );
}

/// Two requests at once never apply the same outbox entries twice (KV
/// allows 1 write/s per key).
#[test]
fn concurrent_requests_never_drain_the_same_entries_twice() {
    let w = world();
    let made: Vec<Session> = (0..400).map(|_| create(&w, "max").1).collect();
    w.owners.set_drain_budget(Some(0));
    block_on(w.sessions.destroy_user("max", None)).unwrap();
    let (_, a) = create(&w, "max");
    let (_, b) = create(&w, "max");
    w.owners.set_drain_budget(None);
    w.kv.reset_counts();
    w.kv.set_yield_each_op(true);
    let (ra, rb) = block_on(join2(
        w.sessions.update(a.id.as_str(), &json!({"label": "a"})),
        w.sessions.update(b.id.as_str(), &json!({"label": "b"})),
    ));
    w.kv.set_yield_each_op(false);
    ra.unwrap();
    rb.unwrap();
    block_on(w.owners.run_alarms()).unwrap();
    let c = w.kv.counts();
    assert_eq!(
        (c.deletes, c.writes),
        (made.len(), 2),
        "each outbox entry applied once"
    );
}

/// An owner imports only its own user's sessions, whatever id a caller
/// names (here a self-service delete of another user's id, while the
/// caller's own import has not completed).
#[test]
fn an_owner_never_imports_another_users_sessions() {
    let w = world();
    let ev = eventual(&w);
    let (amy1, _) = block_on(ev.create(NewSession::for_user("amy"))).unwrap();
    let (amy2, _) = block_on(ev.create(NewSession::for_user("amy"))).unwrap();
    let bob: Vec<_> = (0..3)
        .map(|_| block_on(ev.create(NewSession::for_user("bob"))).unwrap().1)
        .collect();
    // Amy's first request after the switch: the import's KV list fails.
    w.kv.fail_op(StoreOp::List, Some(StoreError::Unavailable("kv".into())));
    assert!(block_on(w.sessions.verify(amy1.expose())).is_err());
    w.kv.fail_op(StoreOp::List, None);
    // Amy (authenticated) asks to delete one of Bob's sessions by id.
    assert!(!block_on(w.sessions.destroy_owned("amy", bob[0].id.as_str())).unwrap());
    let bobs: Vec<String> = bob.iter().map(|s| s.id.to_string()).collect();
    let copied: Vec<_> = held(&w, "amy")
        .into_iter()
        .filter(|id| bobs.contains(id))
        .collect();
    assert!(copied.is_empty(), "amy's owner holds bob's {copied:?}");
    assert!(block_on(w.sessions.verify(amy1.expose())).is_ok());
    assert!(block_on(w.sessions.verify(amy2.expose())).is_ok());
    assert_eq!(
        block_on(w.sessions.list_user("bob", None)).unwrap().len(),
        3,
        "bob's own owner imports all three"
    );
}

/// The first requests after the switch race each other's import, one of
/// them failing at any storage call: no session ever works unlisted, and
/// "revoke all" reaches every session that works.
#[test]
fn racing_first_requests_after_the_switch_never_leave_a_session_working_unlisted() {
    let run = |fault: Option<usize>| {
        let w = world();
        let (token, s) = block_on(eventual(&w).create(NewSession::for_user("vic"))).unwrap();
        let token = token.into_string();
        let faults = session_core::testing::Faults::new();
        w.kv.set_faults(Some((&faults, "kv")));
        w.owners.set_faults(Some(&faults));
        match fault {
            Some(k) => faults.fail_call(k, session_core::testing::FaultKind::Lost),
            None => faults.restart(),
        }
        w.kv.set_op_latency(StoreOp::Read, 3);
        let _ = block_on(join2(
            w.sessions.verify(&token),
            w.sessions.list_user("vic", None),
        ));
        w.kv.set_op_latency(StoreOp::Read, 0);
        let calls = faults.calls();
        w.kv.set_faults(None);
        w.owners.set_faults(None);
        (w, token, s, calls)
    };
    let (_, _, _, calls) = run(None);
    assert!(calls > 3, "the import made its calls: {calls}");
    for k in 1..=calls {
        let (w, token, s, _) = run(Some(k));
        let working = block_on(w.sessions.verify(&token)).is_ok();
        let listed: Vec<String> = block_on(w.sessions.list_user("vic", None))
            .unwrap()
            .into_iter()
            .map(|s| s.id.to_string())
            .collect();
        assert_eq!(working, listed.contains(&s.id.to_string()), "call {k}");
        block_on(w.sessions.destroy_user("vic", None)).unwrap();
        assert!(block_on(w.sessions.verify(&token)).is_err(), "call {k}");
    }
}

/// A session KV holds but does not list (its index entry dropped) is not
/// the owner's once the import is done, also when a request read its
/// record from KV before a "revoke all" imported the user: after "revoke
/// all" answered, none of the user's sessions works.
#[test]
fn a_session_read_from_kv_before_a_revoke_all_is_not_imported_after_it() {
    let setup = || {
        let w = world();
        let ev = eventual(&w);
        block_on(ev.create(NewSession::for_user("zed"))).unwrap();
        let (t2, s2) = block_on(ev.create(NewSession::for_user("zed"))).unwrap();
        let layout = KeyLayout::default();
        block_on(w.kv.delete(&layout.index_key("zed", &s2.id))).unwrap();
        (w, t2.into_string())
    };
    let (w, t2) = setup();
    assert_eq!(block_on(w.sessions.destroy_user("zed", None)).unwrap(), 1);
    assert_eq!(
        block_on(w.sessions.verify(&t2)).unwrap_err(),
        SessionError::InvalidToken
    );
    // Overlapping: the request reads s2 from KV before the revoke all.
    let (w, t2) = setup();
    w.kv.set_op_latency(StoreOp::Read, 3);
    let request = async {
        yield_times(1).await;
        w.sessions.verify(&t2).await
    };
    let (_, revoked) = block_on(join2(request, w.sessions.destroy_user("zed", None)));
    w.kv.set_op_latency(StoreOp::Read, 0);
    assert_eq!(revoked.unwrap(), 1, "revoke all answered: s1 revoked");
    assert_eq!(
        block_on(w.sessions.verify(&t2)).unwrap_err(),
        SessionError::InvalidToken
    );
}

/// A user with more sessions in KV than one request may read: each request
/// (or alarm) imports one page, within a request's subrequests, answering
/// 503 until the last page is in; then every one of them is the owner's.
#[test]
fn a_user_with_a_thousand_sessions_in_kv_is_imported_page_by_page() {
    let w = world();
    let ev = eventual(&w);
    let tokens: Vec<String> = (0..1000)
        .map(|_| {
            block_on(ev.create(NewSession::for_user("pat")))
                .unwrap()
                .0
                .into_string()
        })
        .collect();
    let page = session_core::owner::IMPORT_PAGE;
    let mut unavailable = 0;
    loop {
        w.kv.reset_counts();
        let r = block_on(w.sessions.verify(&tokens[999]));
        let c = w.kv.counts();
        assert!(
            c.total() <= page + 2,
            "{} KV calls in one request",
            c.total()
        );
        match r {
            Ok(_) => break,
            Err(SessionError::Store(StoreError::Unavailable(_))) => unavailable += 1,
            Err(e) => panic!("{e:?}"),
        }
        assert!(unavailable < 10, "the import does not end");
    }
    assert_eq!(
        unavailable,
        1000 / page,
        "one 503 per page left after the first"
    );
    assert_eq!(held(&w, "pat").len(), 1000);
    assert_eq!(
        block_on(w.sessions.destroy_user("pat", None)).unwrap(),
        1000
    );
    assert!(tokens
        .iter()
        .all(|t| block_on(w.sessions.verify(t)).is_err()));

    // The alarm goes on with an import nobody asks for.
    let w = world();
    let ev = eventual(&w);
    let token = (0..900)
        .map(|_| block_on(ev.create(NewSession::for_user("pat"))).unwrap().0)
        .last()
        .unwrap();
    assert!(block_on(w.sessions.verify(token.expose())).is_err());
    let owner = w.owners.owner(&owner_name("pat")).unwrap();
    while block_on(owner.alarm()).is_some_and(|at| at <= w.clock.now_ms() + 1000) {}
    w.kv.reset_counts();
    assert!(block_on(w.sessions.verify(token.expose())).is_ok());
    assert_eq!(w.kv.counts().total(), 0, "imported by the alarms");
}
