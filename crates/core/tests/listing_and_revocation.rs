//! Per-user listings, admin listing, revocation of a user's sessions, 50
//! interleaved logins, and userIds that could collide in a naive layout.

mod common;

use common::Ops;
use common::{block_on, env, join_all, Env, Service, T0};
use session_core::store::KvStore;
use session_core::testing::{KvOpCounts, StoreOp};
use session_core::{ClientInfo, NewSession, SessionError, Token};

fn create(service: &Service, user: &str) -> (Token, session_core::Session) {
    block_on(service.create(NewSession::for_user(user))).unwrap()
}

fn lists(n: usize) -> KvOpCounts {
    KvOpCounts {
        lists: n,
        ..KvOpCounts::default()
    }
}

#[test]
fn listing_1500_sessions_costs_two_list_calls_and_no_reads() {
    let Env { kv, service, clock } = env();
    let mut ids = Vec::new();
    for i in 0..1500 {
        clock.set_ms(T0 + i);
        ids.push(create(&service, "busy").1.id);
    }
    create(&service, "other");
    kv.reset_counts();
    let listed = block_on(service.list_user("busy", None)).unwrap();
    assert_eq!(kv.counts(), lists(2));
    assert_eq!(listed.len(), 1500);
    let listed_ids: Vec<_> = listed.iter().map(|s| s.id.clone()).collect();
    assert_eq!(listed_ids, ids, "oldest first");
    assert!(listed
        .iter()
        .all(|s| s.user_id == "busy" && s.current.is_none()));
}

#[test]
fn list_user_returns_summaries_with_current_and_omits_expired() {
    let Env { clock, service, .. } = env();
    let (_, a) = block_on(service.create(NewSession {
        label: Some("laptop".into()),
        meta: Some(serde_json::json!({"secret-ish": "not in summaries"})),
        client: ClientInfo::new(Some("UA/1"), Some("de")),
        ..NewSession::for_user("alice")
    }))
    .unwrap();
    clock.advance_secs(1);
    let short = NewSession {
        idle_ttl: Some(60),
        absolute_ttl: Some(60),
        ..NewSession::for_user("alice")
    };
    let (_, b) = block_on(service.create(short)).unwrap();
    create(&service, "bob");

    let listed = block_on(service.list_user("alice", Some(&a.id))).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].current),
        (a.id.as_str(), Some(true))
    );
    assert_eq!(
        (listed[1].id.as_str(), listed[1].current),
        (b.id.as_str(), Some(false))
    );
    let json = listed[0].to_json();
    assert_eq!(json["label"], "laptop");
    assert_eq!(json["client"]["country"], "DE");
    assert_eq!(json["client"]["userAgent"], "UA/1");
    assert_eq!(json["current"], true);
    assert_eq!(json["createdAt"], "2023-11-14T22:13:20.000Z");
    assert!(json.get("meta").is_none());
    assert_eq!(listed[0], a.summary(Some(true)));

    clock.advance_secs(60); // b is past its expiry; its keys are still in KV (grace)
    let listed = block_on(service.list_user("alice", None)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, a.id);
    assert!(block_on(service.list_user("nobody", None))
        .unwrap()
        .is_empty());
}

#[test]
fn list_user_validates_the_user_id() {
    let Env { kv, service, .. } = env();
    for bad in [String::new(), "x".repeat(257)] {
        assert!(matches!(
            block_on(service.list_user(&bad, None)),
            Err(SessionError::Invalid(e)) if e.field == "userId"
        ));
        assert!(matches!(
            block_on(service.destroy_user(&bad, None)),
            Err(SessionError::Invalid(e)) if e.field == "userId"
        ));
    }
    assert_eq!(kv.counts().total(), 0);
}

#[test]
fn fifty_interleaved_logins_are_all_listed_and_all_revoked() {
    let Env { kv, service, .. } = env();
    kv.set_yield_each_op(true);
    let futures = (0..50)
        .map(|i| {
            service.create(NewSession {
                label: Some(format!("device {i}")),
                ..NewSession::for_user("alice")
            })
        })
        .collect();
    let created: Vec<_> = block_on(join_all(futures))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    kv.set_yield_each_op(false);
    assert_eq!(
        kv.counts(),
        KvOpCounts {
            writes: 100,
            ..KvOpCounts::default()
        }
    );

    let listed = block_on(service.list_user("alice", None)).unwrap();
    assert_eq!(listed.len(), 50);
    for (_, s) in &created {
        assert!(listed.iter().any(|l| l.id == s.id));
    }
    for (token, _) in &created {
        assert!(block_on(service.verify(token.expose())).is_ok());
    }

    kv.reset_counts();
    assert_eq!(block_on(service.destroy_user("alice", None)).unwrap(), 50);
    assert_eq!(
        kv.counts(),
        KvOpCounts {
            lists: 1,
            deletes: 100,
            ..KvOpCounts::default()
        }
    );
    for (token, _) in &created {
        assert_eq!(
            block_on(service.verify(token.expose())).unwrap_err(),
            SessionError::InvalidToken
        );
    }
    assert!(block_on(service.list_user("alice", None))
        .unwrap()
        .is_empty());
    assert!(kv.is_empty());
}

#[test]
fn interleaved_logins_and_revocation_of_others() {
    // Logins interleaved with a revocation of "others": no lost session, no
    // resurrected one, the kept session still works.
    let Env { kv, service, .. } = env();
    let (keep_token, keep) = create(&service, "alice");
    let old: Vec<_> = (0..5).map(|_| create(&service, "alice")).collect();
    kv.set_yield_each_op(true);
    let (revoked, new) = block_on(common::join2(
        service.destroy_user("alice", Some(&keep.id)),
        join_all(
            (0..10)
                .map(|_| service.create(NewSession::for_user("alice")))
                .collect(),
        ),
    ));
    let revoked = revoked.unwrap();
    kv.set_yield_each_op(false);
    assert!((5..=15).contains(&revoked), "{revoked}");
    assert!(block_on(service.verify(keep_token.expose())).is_ok());
    for (token, _) in &old {
        assert!(block_on(service.verify(token.expose())).is_err());
    }
    // Every session still working is listed (nothing works unlisted).
    let listed = block_on(service.list_user("alice", None)).unwrap();
    for result in new {
        let (token, s) = result.unwrap();
        let works = block_on(service.verify(token.expose())).is_ok();
        assert_eq!(works, listed.iter().any(|l| l.id == s.id));
    }
    assert_eq!(
        listed.len() - 1 + revoked,
        15,
        "each of the 15 others revoked or listed"
    );
}

#[test]
fn destroy_user_keeps_the_current_session_and_counts_only_live_ones() {
    let Env { clock, kv, service } = env();
    let (current_token, current) = create(&service, "alice");
    let (other_token, _) = create(&service, "alice");
    let short = NewSession {
        idle_ttl: Some(60),
        absolute_ttl: Some(60),
        ..NewSession::for_user("alice")
    };
    let (_, expired) = block_on(service.create(short)).unwrap();
    let (bob_token, _) = create(&service, "bob");
    clock.advance_secs(61);

    assert_eq!(
        block_on(service.destroy_user("alice", Some(&current.id))).unwrap(),
        1
    );
    assert!(block_on(service.verify(current_token.expose())).is_ok());
    assert_eq!(
        block_on(service.verify(other_token.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
    assert!(block_on(service.verify(bob_token.expose())).is_ok());
    assert!(
        kv.keys().iter().all(|k| !k.contains(expired.id.as_str())),
        "expired keys deleted, not counted"
    );
    let listed = block_on(service.list_user("alice", None)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, current.id);

    assert_eq!(block_on(service.destroy_user("alice", None)).unwrap(), 1);
    assert_eq!(block_on(service.destroy_user("alice", None)).unwrap(), 0);
    assert_eq!(block_on(service.destroy_user("nobody", None)).unwrap(), 0);
    assert!(block_on(service.verify(bob_token.expose())).is_ok());
}

#[test]
fn user_ids_with_separators_and_non_ascii_work_and_never_collide() {
    let Env { kv, service, .. } = env_prefixed();
    let long = "\u{10348}".repeat(64); // 256 bytes of 4-byte chars
    let users = [
        "a",
        "a:b",
        "a:",
        "a/b",
        "a%3Ab",
        "a%",
        "ab",
        "b",
        "é",
        "e\u{301}",
        "用户",
        "a b",
        "\0",
        "u:YQ",
        long.as_str(),
    ];
    let mut tokens = Vec::new();
    for (i, user) in users.iter().enumerate() {
        for _ in 0..=i % 3 {
            tokens.push((user.to_string(), create(&service, user)));
        }
    }
    assert!(kv
        .keys()
        .iter()
        .all(|k| k.len() <= 512 && k.starts_with("tenant:1/")));
    for (i, user) in users.iter().enumerate() {
        let listed = block_on(service.list_user(user, None)).unwrap();
        assert_eq!(listed.len(), i % 3 + 1, "{user:?}");
        assert!(listed.iter().all(|s| s.user_id == *user));
    }
    for (user, (token, _)) in &tokens {
        assert_eq!(
            &block_on(service.verify(token.expose())).unwrap().user_id,
            user
        );
    }
    // The admin listing decodes every userId from the key names.
    let (all, cursor) = block_on(service.list_all(1000, None)).unwrap();
    assert_eq!((all.len(), cursor), (tokens.len(), None));
    for (user, (_, s)) in &tokens {
        assert!(all.iter().any(|a| a.id == s.id && &a.user_id == user));
    }
    // Revoking "a" leaves "a:b", "a:", "ab"... alone.
    assert_eq!(block_on(service.destroy_user("a", None)).unwrap(), 1);
    for (user, (token, _)) in &tokens {
        assert_eq!(
            block_on(service.verify(token.expose())).is_ok(),
            user != "a",
            "{user:?}"
        );
    }
    assert_eq!(block_on(service.destroy_user(&long, None)).unwrap(), 3);
}

fn env_prefixed() -> Env {
    common::env_with(&common::key_entry("k1", 1), "tenant:1/")
}

#[test]
fn list_all_pages_with_cursor_and_validates_inputs() {
    let Env { clock, kv, service } = env();
    for i in 0..7 {
        create(&service, &format!("user{i}"));
    }
    let short = NewSession {
        idle_ttl: Some(60),
        absolute_ttl: Some(60),
        ..NewSession::for_user("gone")
    };
    block_on(service.create(short)).unwrap();
    clock.advance_secs(60);
    kv.reset_counts();
    let (mut cursor, mut seen, mut calls) = (None, Vec::new(), 0);
    loop {
        let (page, next) = block_on(service.list_all(3, cursor.as_deref())).unwrap();
        calls += 1;
        assert!(page.len() <= 3);
        assert!(page.iter().all(|s| s.current.is_none()));
        seen.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(calls, 3);
    assert_eq!(kv.counts(), lists(3));
    assert_eq!(seen.len(), 7, "the expired session is left out");
    assert!(seen.iter().all(|s| s.user_id.starts_with("user")));
    assert!(seen[0].to_json().get("current").is_none());

    for limit in [0, 1001] {
        assert!(matches!(
            block_on(service.list_all(limit, None)),
            Err(SessionError::Invalid(e)) if e.field == "limit"
        ));
    }
    for cursor in ["", "bogus", &"c".repeat(2000)] {
        assert!(matches!(
            block_on(service.list_all(10, Some(cursor))),
            Err(SessionError::Invalid(e)) if e.field == "cursor"
        ));
    }
    assert_eq!(block_on(service.list_all(1000, None)).unwrap().0.len(), 7);
}

#[test]
fn index_entries_of_other_apps_and_garbage_are_skipped() {
    // Two apps share the namespace with different prefixes.
    let Env { kv, clock, service } = common::env_with(&common::key_entry("k1", 1), "app1/");
    let other = common::service_over(&kv, &clock, &common::key_entry("k1", 1), "app2/", 7);
    create(&service, "alice");
    create(&other, "alice");
    block_on(kv.put("app1/u:!!:x", "", Default::default())).unwrap();
    block_on(kv.put(
        "app1/u:YWxpY2U:AAAAAAAAAAAAAAAAAAAAAA",
        "",
        Default::default(),
    ))
    .unwrap();
    assert_eq!(block_on(service.list_user("alice", None)).unwrap().len(), 1);
    assert_eq!(block_on(service.list_all(100, None)).unwrap().0.len(), 1);
    assert_eq!(block_on(other.list_all(100, None)).unwrap().0.len(), 1);
    // Revoking in app1 leaves app2's sessions alone.
    block_on(service.destroy_user("alice", None)).unwrap();
    assert_eq!(block_on(other.list_user("alice", None)).unwrap().len(), 1);
}

#[test]
fn no_interleaving_of_a_login_and_a_revocation_leaves_a_working_unlisted_session() {
    // For every relative timing of one login and one "revoke all", the end
    // state has every working session listed (so a later revocation finds it).
    for (write_latency, login_delay, revoke_delay) in
        (1..=3).flat_map(|w| (0..6).flat_map(move |l| (0..8).map(move |r| (w, l, r))))
    {
        {
            let Env { kv, service, .. } = env();
            let (old_token, _) = create(&service, "alice");
            kv.set_yield_each_op(true);
            kv.set_op_latency(StoreOp::Write, write_latency);
            let (created, revoked) = block_on(common::join2(
                async {
                    common::yield_times(login_delay).await;
                    service.create(NewSession::for_user("alice")).await
                },
                async {
                    common::yield_times(revoke_delay).await;
                    service.destroy_user("alice", None).await
                },
            ));
            kv.set_yield_each_op(false);
            let (token, session) = created.unwrap();
            assert!(revoked.unwrap() >= 1);
            assert!(block_on(service.verify(old_token.expose())).is_err());
            let works = block_on(service.verify(token.expose())).is_ok();
            let listed = block_on(service.list_user("alice", None)).unwrap();
            assert_eq!(
                works,
                listed.iter().any(|l| l.id == session.id),
                "write latency {write_latency}, login delay {login_delay}, \
                 revoke delay {revoke_delay}: works={works}"
            );
            if works {
                assert_eq!(block_on(service.destroy_user("alice", None)).unwrap(), 1);
                assert!(block_on(service.verify(token.expose())).is_err());
            }
        }
    }
}

/// A long user agent beside a worst-case label is cut once, so the session
/// and its listing show the same client (summaries are every field but meta).
#[test]
fn listings_show_the_same_user_agent_as_the_session() {
    let Env { service, .. } = env();
    let user_agent = "Mozilla/5.0 ".repeat(42); // 504 bytes
    let label = "\u{1}".repeat(128); // escapes to 768 bytes of JSON
    let new = NewSession {
        label: Some(label),
        client: ClientInfo::new(Some(&user_agent), Some("FR")),
        ..NewSession::for_user("ua-user")
    };
    let (_, created) = block_on(service.create(new)).unwrap();
    let kept = created
        .client
        .user_agent
        .clone()
        .expect("a prefix of the user agent is kept");
    assert!(kept.len() < user_agent.len() && user_agent.starts_with(&kept));
    let listed = block_on(service.list_user("ua-user", None)).unwrap();
    assert_eq!(listed[0].client, created.client);
    assert_eq!(
        block_on(service.get(&created.id)).unwrap().client,
        created.client
    );

    // Without a label the whole agent fits; a long label patched in later
    // cuts the stored agent too, and the listing follows.
    let (_, roomy) = block_on(service.create(NewSession {
        client: ClientInfo::new(Some(&user_agent), None),
        ..NewSession::for_user("ua-user")
    }))
    .unwrap();
    assert_eq!(
        roomy.client.user_agent.as_deref(),
        Some(user_agent.as_str()),
        "no label: the whole agent fits"
    );
    let patched = block_on(service.update(
        &roomy.id,
        &serde_json::json!({"label": "\u{1}".repeat(128)}),
    ))
    .unwrap();
    let listed = block_on(service.list_user("ua-user", None)).unwrap();
    let summary = listed.iter().find(|s| s.id == roomy.id).unwrap();
    assert_eq!(summary.client, patched.client);
    assert!(patched.client.user_agent.unwrap().len() < roomy.client.user_agent.unwrap().len());
}
