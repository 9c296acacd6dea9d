//! create / verify / get / update / refresh / touch / save / destroy, their
//! validation rules, expiry with a manual clock, exact KV costs, store failures.

mod common;

use common::Ops;
use common::{block_on, env, Env, Isolate, T0};
use serde_json::{json, Value};
use session_core::layout::EXPIRED_RECORD_GRACE_SECS as GRACE;
use session_core::store::{KvStore, PutOptions};
use session_core::testing::{KvOpCounts, StoreOp};
use session_core::{
    ClientInfo, KeyLayout, NewSession, Policy, SessionError, Slide, StoreError, Writer,
};

fn writes(n: usize) -> KvOpCounts {
    KvOpCounts {
        writes: n,
        ..KvOpCounts::default()
    }
}

fn read_and_writes(reads: usize, writes: usize) -> KvOpCounts {
    KvOpCounts {
        reads,
        writes,
        ..KvOpCounts::default()
    }
}

fn invalid_field(result: Result<impl std::fmt::Debug, SessionError>) -> String {
    match result {
        Err(SessionError::Invalid(e)) => e.field.into_owned(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn create_writes_exactly_two_keys_and_no_reads() {
    let Env { kv, service, .. } = env();
    let (token, session) = block_on(service.create(NewSession {
        user_id: "alice".into(),
        label: Some("laptop".into()),
        meta: Some(json!({"roles": ["admin"]})),
        idle_ttl: Some(600),
        absolute_ttl: Some(3600),
        client: ClientInfo::new(Some("Mozilla/5.0"), Some("fr")),
    }))
    .unwrap();
    assert_eq!(kv.counts(), writes(2));
    assert_eq!(kv.len(), 2);
    assert_eq!(session.user_id, "alice");
    assert_eq!(session.label.as_deref(), Some("laptop"));
    assert_eq!(
        (session.lifetime.created_at, session.lifetime.last_seen_at),
        (T0, T0)
    );
    assert_eq!(session.lifetime.expires_at, T0 + 600_000);
    assert_eq!(session.lifetime.absolute_expires_at, T0 + 3_600_000);
    assert_eq!((session.idle_ttl, session.absolute_ttl), (600, 3600));
    assert_eq!(session.client.country.as_deref(), Some("FR"));
    assert!(token
        .expose()
        .starts_with(&format!("es1.k1.{}.", session.id)));
    // Both keys expire with the session: KV TTL = seconds to expiresAt + grace.
    for entry in kv.entries() {
        assert_eq!(
            entry.expiration,
            Some((T0 / 1000) as u64 + 600 + GRACE),
            "{}",
            entry.name
        );
    }
    let json = session.to_json();
    assert_eq!(json["expiresAt"], "2023-11-14T22:23:20.000Z");
    assert_eq!(json["absoluteExpiresAt"], "2023-11-14T23:13:20.000Z");
    assert_eq!(json["meta"], json!({"roles": ["admin"]}));
}

#[test]
fn create_defaults_follow_the_policy() {
    let Env { service, .. } = env();
    let (_, s) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    assert_eq!((s.idle_ttl, s.absolute_ttl), (604_800, 2_592_000));
    assert!(s.meta.is_empty() && s.label.is_none());

    let service = service.with_policy(Policy::new(120, 600).unwrap());
    let (_, s) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    assert_eq!(
        (s.lifetime.expires_at, s.lifetime.absolute_expires_at),
        (T0 + 120_000, T0 + 600_000)
    );
    // A missing TTL is adjusted to keep idle <= absolute.
    let only_absolute = NewSession {
        absolute_ttl: Some(60),
        ..NewSession::for_user("u")
    };
    let (_, s) = block_on(service.create(only_absolute)).unwrap();
    assert_eq!((s.idle_ttl, s.absolute_ttl), (60, 60));
    let only_idle = NewSession {
        idle_ttl: Some(3000),
        ..NewSession::for_user("u")
    };
    let (_, s) = block_on(service.create(only_idle)).unwrap();
    assert_eq!((s.idle_ttl, s.absolute_ttl), (3000, 3000));
}

#[test]
fn policy_rules_name_the_variable() {
    assert_eq!(
        Policy::default(),
        Policy {
            idle_ttl: 604_800,
            absolute_ttl: 2_592_000,
            max_sessions_per_user: None,
        }
    );
    assert!(Policy::new(60, 60).is_ok());
    assert_eq!(Policy::new(59, 600).unwrap_err().field, "SESSION_IDLE_TTL");
    assert_eq!(
        Policy::new(60, 59).unwrap_err().field,
        "SESSION_ABSOLUTE_TTL"
    );
    // An absolute TTL shorter than the idle one is the absolute one's fault,
    // as the configuration reports it.
    let e = Policy::new(700, 600).unwrap_err();
    assert_eq!(e.field, "SESSION_ABSOLUTE_TTL");
    assert!(e.reason.contains("SESSION_IDLE_TTL"));
}

#[test]
fn create_validation_boundaries() {
    let Env { kv, service, .. } = env();
    let create = |n: NewSession| block_on(service.create(n));
    let user = |u: &str| NewSession::for_user(u);
    let ttls = |i: u64, a: u64| NewSession {
        idle_ttl: Some(i),
        absolute_ttl: Some(a),
        ..user("u")
    };

    assert!(create(user(&"x".repeat(256))).is_ok());
    assert!(create(user(&"\u{10348}".repeat(64))).is_ok());
    assert_eq!(invalid_field(create(user(&"x".repeat(257)))), "userId");
    assert_eq!(invalid_field(create(user(""))), "userId");

    assert!(create(NewSession {
        label: Some("é".repeat(128)),
        ..user("u")
    })
    .is_ok());
    assert_eq!(
        invalid_field(create(NewSession {
            label: Some("é".repeat(129)),
            ..user("u")
        })),
        "label"
    );

    let meta = |n: usize| json!({ "k": "x".repeat(n - 8) });
    assert!(create(NewSession {
        meta: Some(meta(4096)),
        ..user("u")
    })
    .is_ok());
    assert_eq!(
        invalid_field(create(NewSession {
            meta: Some(meta(4097)),
            ..user("u")
        })),
        "meta"
    );
    for not_object in [json!([1]), json!("x"), json!(null), json!(3)] {
        assert_eq!(
            invalid_field(create(NewSession {
                meta: Some(not_object),
                ..user("u")
            })),
            "meta"
        );
    }

    assert!(create(ttls(60, 60)).is_ok());
    assert!(create(ttls(31_536_000, 31_536_000)).is_ok());
    assert_eq!(invalid_field(create(ttls(59, 600))), "idleTtl");
    assert_eq!(invalid_field(create(ttls(60, 59))), "absoluteTtl");
    assert_eq!(invalid_field(create(ttls(60, 31_536_001))), "absoluteTtl");
    assert_eq!(
        invalid_field(create(ttls(31_536_001, 31_536_001))),
        "idleTtl"
    );
    // One rule for both TTLs (crate::policy): when the absolute TTL is the
    // shorter, it is the one at fault, as the configuration reports it.
    assert_eq!(invalid_field(create(ttls(601, 600))), "absoluteTtl");
    let only_abs = NewSession {
        absolute_ttl: Some(59),
        ..user("u")
    };
    assert_eq!(invalid_field(create(only_abs)), "absoluteTtl");
    let only_idle = NewSession {
        idle_ttl: Some(31_536_001),
        ..user("u")
    };
    assert_eq!(invalid_field(create(only_idle)), "idleTtl");

    // 6 valid creates, 2 writes each; refused ones cost nothing.
    assert_eq!(kv.counts(), writes(12));
}

#[test]
fn verify_costs_exactly_one_read() {
    let Env { kv, service, .. } = env();
    let (token, created) = block_on(service.create(NewSession::for_user("alice"))).unwrap();
    kv.reset_counts();
    let session = block_on(service.verify(token.expose())).unwrap();
    assert_eq!(
        kv.counts(),
        KvOpCounts {
            reads: 1,
            ..KvOpCounts::default()
        }
    );
    assert_eq!(session.to_json(), created.to_json());
}

#[test]
fn malformed_forged_and_unknown_key_tokens_cost_nothing() {
    let Env { kv, service, .. } = env();
    let (token, _) = block_on(service.create(NewSession::for_user("alice"))).unwrap();
    let text = token.expose().to_string();
    let parts: Vec<&str> = text.split('.').collect();
    let other = common::env_with(&common::key_entry("k1", 9), "");
    let (foreign, _) = block_on(other.service.create(NewSession::for_user("alice"))).unwrap();
    let stranger = common::env_with(&common::key_entry("zz", 1), "");
    let (unknown_kid, _) =
        block_on(stranger.service.create(NewSession::for_user("alice"))).unwrap();
    let mut flipped_secret = parts.clone();
    let secret = parts[3].replacen(
        &parts[3][..1],
        if &parts[3][..1] == "A" { "B" } else { "A" },
        1,
    );
    flipped_secret[3] = &secret;
    let cases = vec![
        String::new(),
        "garbage".into(),
        format!("{text}x"),
        "A".repeat(10_000),
        flipped_secret.join("."),
        foreign.expose().to_string(),
        unknown_kid.expose().to_string(),
        text.replace("es1.", "es0."),
    ];
    kv.reset_counts();
    for case in cases {
        assert_eq!(
            block_on(service.verify(&case)).unwrap_err(),
            SessionError::InvalidToken
        );
    }
    assert_eq!(kv.counts(), KvOpCounts::default());
}

#[test]
fn a_well_tagged_token_whose_secret_hash_differs_is_invalid() {
    // A stored record of the same id with another secret hash (e.g. a record
    // tampered with): the tag verifies, the constant-time hash check refuses.
    let Env { kv, service, clock } = env();
    let (token_a, a) = block_on(service.create(NewSession::for_user("alice"))).unwrap();
    let (_, b) = block_on(service.create(NewSession::for_user("alice"))).unwrap();
    let key_a = format!("s:{}", a.id);
    let record_b = kv
        .entries()
        .into_iter()
        .find(|e| e.name == format!("s:{}", b.id))
        .unwrap()
        .value;
    let forged_record = record_b.replace(b.id.as_str(), a.id.as_str());
    block_on(kv.put(
        &key_a,
        &forged_record,
        PutOptions {
            expiration_ttl: Some(600),
            metadata: None,
        },
    ))
    .unwrap();
    assert_eq!(
        block_on(service.verify(token_a.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
    let _ = clock;
}

#[test]
fn verify_of_a_missing_session_is_invalid_and_of_an_unreadable_one_a_store_error() {
    let Env { kv, service, .. } = env();
    let (token, s) = block_on(service.create(NewSession::for_user("alice"))).unwrap();
    block_on(kv.delete(&format!("s:{}", s.id))).unwrap();
    assert_eq!(
        block_on(service.verify(token.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
    block_on(kv.put(&format!("s:{}", s.id), "{not json", PutOptions::default())).unwrap();
    assert!(matches!(
        block_on(service.verify(token.expose())),
        Err(SessionError::Store(StoreError::Rejected(_)))
    ));
}

#[test]
fn idle_expiry_and_absolute_cap() {
    let Env { clock, service, .. } = env();
    let new = NewSession {
        idle_ttl: Some(600),
        absolute_ttl: Some(1000),
        ..NewSession::for_user("u")
    };
    let (token, _) = block_on(service.create(new)).unwrap();
    clock.advance_secs(599);
    let s = block_on(service.verify(token.expose())).unwrap();
    // Refresh at 599 s: expiresAt = min(599 + 600, 1000) = 1000 s.
    let refreshed = block_on(service.refresh(&s)).unwrap();
    assert_eq!(refreshed.lifetime.expires_at, T0 + 1_000_000);
    assert_eq!(refreshed.lifetime.last_seen_at, T0 + 599_000);
    clock.advance_secs(400); // t = 999 s
    assert!(block_on(service.verify(token.expose())).is_ok());
    clock.advance_secs(1); // t = 1000 s: absolute cap
    assert_eq!(
        block_on(service.verify(token.expose())).unwrap_err(),
        SessionError::Expired
    );

    // Without refresh, idle expiry at exactly expiresAt.
    let (token, _) = block_on(service.create(NewSession {
        idle_ttl: Some(60),
        absolute_ttl: Some(120),
        ..NewSession::for_user("u")
    }))
    .unwrap();
    clock.advance_secs(59);
    assert!(block_on(service.verify(token.expose())).is_ok());
    clock.set_ms(clock_now(&clock) + 999);
    assert!(block_on(service.verify(token.expose())).is_ok());
    clock.set_ms(clock_now(&clock) + 1);
    assert_eq!(
        block_on(service.verify(token.expose())).unwrap_err(),
        SessionError::Expired
    );
    // Once KV's TTL (expiry + grace) drops the record, the token is just invalid.
    clock.advance_secs(GRACE as i64);
    assert_eq!(
        block_on(service.verify(token.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
}

fn clock_now(clock: &session_core::testing::ManualClock) -> i64 {
    use session_core::Clock;
    clock.now_ms()
}

#[test]
fn refresh_writes_both_keys_with_the_new_ttl() {
    let Env { clock, kv, service } = env();
    let new = NewSession {
        idle_ttl: Some(600),
        absolute_ttl: Some(7200),
        ..NewSession::for_user("u")
    };
    let (token, s) = block_on(service.create(new)).unwrap();
    clock.advance_secs(500);
    kv.reset_counts();
    let r = block_on(service.refresh(&s)).unwrap();
    // The record is read again and extended as it stands (issue 8, R8-4).
    assert_eq!(kv.counts(), read_and_writes(1, 2));
    assert_eq!(r.lifetime.expires_at, T0 + 1_100_000);
    for entry in kv.entries() {
        assert_eq!(
            entry.expiration,
            Some((T0 / 1000) as u64 + 1100 + GRACE),
            "{}",
            entry.name
        );
    }
    // The listing sees the new expiry too (index metadata rewritten).
    let listed = block_on(service.list_user("u", None)).unwrap();
    assert_eq!(listed[0].lifetime.expires_at, r.lifetime.expires_at);
    clock.advance_secs(200); // past the original expiresAt, before the new one
    assert!(block_on(service.verify(token.expose())).is_ok());
    assert_eq!(block_on(service.list_user("u", None)).unwrap().len(), 1);
    clock.advance_secs(400);
    assert_eq!(
        block_on(service.refresh(&r)).unwrap_err(),
        SessionError::Expired
    );
}

#[test]
fn sliding_expiration_is_due_below_half_the_idle_ttl_once_per_half() {
    let Env { clock, kv, service } = env();
    let new = NewSession {
        idle_ttl: Some(600),
        absolute_ttl: Some(1500),
        ..NewSession::for_user("u")
    };
    let (token, s) = block_on(service.create(new)).unwrap();

    clock.advance_secs(300); // exactly half left: not due
    assert!(service.slide_due(&s).is_none());
    clock.set_ms(T0 + 300_001); // less than half left: due
    let touched = service.slide_due(&s).expect("due");
    assert_eq!(touched.lifetime.expires_at, T0 + 900_001);
    assert_eq!(touched.lifetime.last_seen_at, T0 + 300_001);
    assert_eq!(s.lifetime.expires_at, T0 + 600_000, "touch_due is pure");
    kv.reset_counts();
    assert!(service.slide_due(&s).is_some());
    assert_eq!(kv.counts().total(), 0, "touch_due touches no store");
    assert!(matches!(
        block_on(service.slide(&touched)).unwrap(),
        Slide::Written(_)
    ));
    // The sliding write reads the record again, then writes both keys.
    assert_eq!(
        kv.counts(),
        KvOpCounts {
            reads: 1,
            writes: 2,
            ..KvOpCounts::default()
        }
    );

    let s = block_on(service.verify(token.expose())).unwrap();
    assert_eq!(s.lifetime.expires_at, T0 + 900_001);
    clock.advance_secs(200);
    assert!(
        service.slide_due(&s).is_none(),
        "not again within half the idle TTL"
    );
    clock.advance_secs(101); // t = 601.001 s, 299 s left
    let touched = service.slide_due(&s).expect("due again");
    assert_eq!(touched.lifetime.expires_at, T0 + 1_201_001);
    assert!(matches!(
        block_on(service.slide(&touched)).unwrap(),
        Slide::Written(_)
    ));

    // Near the absolute cap: slides only up to it, then never again.
    clock.set_ms(T0 + 1_000_000);
    let s = block_on(service.verify(token.expose())).unwrap();
    let touched = service.slide_due(&s).expect("due");
    assert_eq!(
        touched.lifetime.expires_at,
        T0 + 1_500_000,
        "capped at absoluteExpiresAt"
    );
    assert!(matches!(
        block_on(service.slide(&touched)).unwrap(),
        Slide::Written(_)
    ));
    clock.set_ms(T0 + 1_400_000);
    let s = block_on(service.verify(token.expose())).unwrap();
    assert!(service.slide_due(&s).is_none(), "capped: nothing to extend");
    clock.set_ms(T0 + 1_500_000);
    assert_eq!(
        block_on(service.verify(token.expose())).unwrap_err(),
        SessionError::Expired
    );
    assert!(service.slide_due(&s).is_none());
    assert_eq!(
        block_on(service.refresh(&s)).unwrap_err(),
        SessionError::Expired
    );
    assert!(matches!(
        block_on(service.slide(&s)).unwrap(),
        Slide::Skipped
    ));
}

#[test]
fn get_and_destroy_by_id() {
    let Env { clock, kv, service } = env();
    let (token, s) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    kv.reset_counts();
    assert_eq!(block_on(service.get(&s.id)).unwrap().to_json(), s.to_json());
    assert_eq!(kv.counts().reads, 1);
    kv.reset_counts();
    for bad in ["", "nope", "../../etc", &"A".repeat(23)] {
        assert_eq!(
            block_on(service.get(bad)).unwrap_err(),
            SessionError::NotFound
        );
        assert!(!block_on(service.destroy(bad)).unwrap());
    }
    assert_eq!(kv.counts().total(), 0, "malformed ids cost nothing");

    kv.reset_counts();
    assert!(block_on(service.destroy(&s.id)).unwrap());
    assert_eq!(
        kv.counts(),
        KvOpCounts {
            reads: 1,
            deletes: 2,
            ..KvOpCounts::default()
        }
    );
    assert!(kv.is_empty(), "both keys deleted");
    assert_eq!(
        block_on(service.verify(token.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
    assert!(!block_on(service.destroy(&s.id)).unwrap());
    assert_eq!(
        block_on(service.get(&s.id)).unwrap_err(),
        SessionError::NotFound
    );

    // Expired records are absent for get/update/destroy.
    let new = NewSession {
        idle_ttl: Some(60),
        absolute_ttl: Some(60),
        ..NewSession::for_user("u")
    };
    let (_, e) = block_on(service.create(new)).unwrap();
    let (_, keep) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    clock.advance_secs(60);
    assert_eq!(
        kv.len(),
        4,
        "expired keys are still in KV (grace): expiry is checked in code"
    );
    assert_eq!(
        block_on(service.get(&e.id)).unwrap_err(),
        SessionError::NotFound
    );
    assert_eq!(
        block_on(service.update(&e.id, &json!({"label": "x"}))).unwrap_err(),
        SessionError::NotFound
    );
    assert!(!block_on(service.destroy(&e.id)).unwrap(), "was not live");
    assert!(
        kv.keys().iter().all(|k| !k.contains(e.id.as_str())),
        "but its keys are gone"
    );
    assert!(block_on(service.get(&keep.id)).is_ok());
}

#[test]
fn destroy_owned_only_deletes_the_users_own_session() {
    let Env { kv, service, .. } = env();
    let (token, s) = block_on(service.create(NewSession::for_user("alice"))).unwrap();
    kv.reset_counts();
    assert!(!block_on(service.destroy_owned("mallory", &s.id)).unwrap());
    assert_eq!(kv.counts().deletes, 0);
    assert!(block_on(service.verify(token.expose())).is_ok());
    assert!(block_on(service.destroy_owned("alice", &s.id)).unwrap());
    assert_eq!(
        block_on(service.verify(token.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
}

#[test]
fn destroy_session_deletes_both_keys_without_a_read() {
    let Env { kv, service, .. } = env();
    let (token, s) = block_on(service.create(NewSession::for_user("alice"))).unwrap();
    kv.reset_counts();
    block_on(service.destroy_session(&s)).unwrap();
    assert_eq!(
        kv.counts(),
        KvOpCounts {
            deletes: 2,
            ..KvOpCounts::default()
        }
    );
    assert!(kv.is_empty());
    assert_eq!(
        block_on(service.verify(token.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
    assert!(block_on(service.list_user("alice", None))
        .unwrap()
        .is_empty());
}

#[test]
fn update_is_an_rfc7396_merge_patch_on_label_and_meta() {
    let Env { kv, service, .. } = env();
    let new = NewSession {
        label: Some("old".into()),
        meta: Some(json!({"a": 1, "b": {"c": 2, "d": 3}, "roles": ["x"]})),
        ..NewSession::for_user("u")
    };
    let (token, s) = block_on(service.create(new)).unwrap();
    kv.reset_counts();
    let u = block_on(service.update(
        &s.id,
        &json!({"meta": {"a": null, "b": {"c": 9}, "e": [1]}}),
    ))
    .unwrap();
    assert_eq!(
        kv.counts(),
        KvOpCounts {
            reads: 1,
            writes: 2,
            ..KvOpCounts::default()
        }
    );
    assert_eq!(
        u.meta.to_value(),
        json!({"b": {"c": 9, "d": 3}, "roles": ["x"], "e": [1]})
    );
    assert_eq!(u.label.as_deref(), Some("old"), "absent label untouched");
    assert_eq!(
        (u.lifetime.expires_at, u.lifetime.absolute_expires_at),
        (s.lifetime.expires_at, s.lifetime.absolute_expires_at)
    );

    let u = block_on(service.update(&s.id, &json!({"label": null}))).unwrap();
    assert_eq!(u.label, None);
    let u = block_on(service.update(&s.id, &json!({"label": "new"}))).unwrap();
    assert_eq!(u.label.as_deref(), Some("new"));
    let u = block_on(service.update(&s.id, &json!({"meta": null}))).unwrap();
    assert!(u.meta.is_empty());
    let u = block_on(service.update(&s.id, &json!({}))).unwrap();
    assert_eq!(u.label.as_deref(), Some("new"));

    // Persisted, in the record and in the listing.
    let v = block_on(service.verify(token.expose())).unwrap();
    assert_eq!((v.label.as_deref(), v.meta.is_empty()), (Some("new"), true));
    assert_eq!(
        block_on(service.list_user("u", None)).unwrap()[0]
            .label
            .as_deref(),
        Some("new")
    );

    // On a session already read: read again, patched as it stands (R8-4).
    kv.reset_counts();
    let u =
        block_on(service.update_session(&v, &json!({"meta": {"z": true}}), Writer::Admin)).unwrap();
    assert_eq!(kv.counts(), read_and_writes(1, 2));
    assert_eq!(u.meta.to_value(), json!({"z": true}));
}

#[test]
fn update_validation() {
    let Env { kv, service, .. } = env();
    let (_, s) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    let update = |patch: Value| block_on(service.update(&s.id, &patch));
    kv.reset_counts();
    assert_eq!(
        invalid_field(update(json!({"label": "é".repeat(129)}))),
        "label"
    );
    assert!(update(json!({"label": "é".repeat(128)})).is_ok());
    assert_eq!(invalid_field(update(json!({"label": 5}))), "label");
    assert_eq!(invalid_field(update(json!({"label": ["a"]}))), "label");
    assert_eq!(invalid_field(update(json!({"meta": "x"}))), "meta");
    assert_eq!(invalid_field(update(json!({"meta": [1]}))), "meta");
    assert_eq!(
        invalid_field(update(json!({"meta": {"k": "x".repeat(4089)}}))),
        "meta"
    );
    assert!(update(json!({"meta": {"k": "x".repeat(4088)}})).is_ok());
    // Growing an existing meta past the limit through a merge is refused too.
    assert_eq!(invalid_field(update(json!({"meta": {"k2": "y"}}))), "meta");
    assert_eq!(invalid_field(update(json!({"userId": "mallory"}))), "body");
    assert_eq!(invalid_field(update(json!({"expiresAt": 0}))), "body");
    assert_eq!(invalid_field(update(json!(null))), "body");
    assert_eq!(invalid_field(update(json!([{"op": "add"}]))), "body");
    // Only the two valid updates wrote (2 writes each); every call read once.
    assert_eq!(kv.counts().writes, 4);
    let now = block_on(service.get(&s.id)).unwrap();
    assert_eq!(now.user_id, "u");
    assert_eq!(now.meta.to_map().len(), 1);
}

#[test]
fn store_failures_surface_as_store_errors() {
    let Env { kv, service, .. } = env();
    let (token, s) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    let down = StoreError::Unavailable("kv down".into());
    kv.fail_with(Some(down.clone()));
    let store_err = SessionError::Store(down.clone());
    assert_eq!(
        block_on(service.create(NewSession::for_user("u"))).unwrap_err(),
        store_err
    );
    assert_eq!(
        block_on(service.verify(token.expose())).unwrap_err(),
        store_err
    );
    assert_eq!(block_on(service.get(&s.id)).unwrap_err(), store_err);
    assert_eq!(
        block_on(service.update(&s.id, &json!({}))).unwrap_err(),
        store_err
    );
    assert_eq!(block_on(service.refresh(&s)).unwrap_err(), store_err);
    assert_eq!(block_on(service.slide(&s)).unwrap_err(), store_err);
    assert_eq!(block_on(service.destroy(&s.id)).unwrap_err(), store_err);
    assert_eq!(
        block_on(service.destroy_session(&s)).unwrap_err(),
        store_err
    );
    assert_eq!(
        block_on(service.destroy_user("u", None)).unwrap_err(),
        store_err
    );
    assert_eq!(
        block_on(service.list_user("u", None)).unwrap_err(),
        store_err
    );
    assert_eq!(block_on(service.list_all(10, None)).unwrap_err(), store_err);
    assert_eq!(block_on(service.repo().cleanup(10)).unwrap_err(), store_err);
    kv.fail_with(None);

    // A failed write fails the create: no token is handed out.
    kv.fail_op(StoreOp::Write, Some(down.clone()));
    let before = kv.keys();
    assert_eq!(
        block_on(service.create(NewSession::for_user("u"))).unwrap_err(),
        store_err
    );
    assert_eq!(kv.keys(), before);
    kv.fail_op(StoreOp::Write, None);

    // Session key written, index write failed: the create fails, so its token
    // is never handed out, and the listing never shows a half-made session;
    // the session key it wrote is deleted again.
    kv.fail_prefix(Some(("u:", down.clone())));
    let before = kv.len();
    assert_eq!(
        block_on(service.create(NewSession::for_user("u"))).unwrap_err(),
        store_err
    );
    assert_eq!(kv.len(), before, "no orphan session key is left");
    kv.fail_prefix(None);
    assert_eq!(block_on(service.list_user("u", None)).unwrap().len(), 1);

    // Index delete failed after the session key was deleted: the session no
    // longer works, so the revocation is done and answered so (its event
    // goes out); the index entry left behind is the cron cleanup's.
    let (t2, s2) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    kv.fail_prefix(Some(("u:", down.clone())));
    assert!(block_on(service.destroy(&s2.id)).unwrap());
    kv.fail_prefix(None);
    assert_eq!(
        block_on(service.verify(t2.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
    assert!(kv
        .keys()
        .contains(&KeyLayout::default().index_key("u", &s2.id)));

    // A failed delete on destroy: reported, never a silent success.
    kv.fail_op(StoreOp::Delete, Some(down));
    assert_eq!(block_on(service.destroy(&s.id)).unwrap_err(), store_err);
    kv.fail_op(StoreOp::Delete, None);
    assert!(block_on(service.verify(token.expose())).is_ok());
    assert!(store_err.to_string().contains("kv down"));
}

#[test]
fn error_messages_name_fields_and_never_echo_tokens() {
    let Env { service, .. } = env();
    let (token, _) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    let tampered = format!("{}x", token.expose());
    let err = block_on(service.verify(&tampered)).unwrap_err();
    assert_eq!(err.to_string(), "invalid token");
    assert!(!format!("{err:?}").contains(token.expose()));
    assert_eq!(SessionError::Expired.to_string(), "session expired");
    let e = block_on(service.create(NewSession::for_user(""))).unwrap_err();
    assert!(e.to_string().starts_with("userId: "), "{e}");
    assert!(!format!("{token:?}").contains(token.expose()));
}

#[test]
fn unreadable_records_are_store_errors_and_admin_destroy_removes_them() {
    let Env { kv, service, .. } = env();
    let (_, s) = block_on(service.create(NewSession::for_user("alice"))).unwrap();
    let key = format!("s:{}", s.id);
    block_on(kv.put(&key, "[]", PutOptions::default())).unwrap();
    assert!(matches!(
        block_on(service.get(&s.id)),
        Err(SessionError::Store(StoreError::Rejected(_)))
    ));
    assert!(
        !block_on(service.destroy_owned("alice", &s.id)).unwrap(),
        "owner unknown: kept"
    );
    assert!(kv.keys().contains(&key));
    assert!(!block_on(service.destroy(&s.id)).unwrap());
    assert!(!kv.keys().contains(&key));
}

#[test]
fn deeply_nested_meta_survives_the_stored_round_trip() {
    use session_core::session::MAX_META_DEPTH;
    let Env { service, .. } = env();
    let mut meta = json!({});
    for _ in 1..MAX_META_DEPTH {
        meta = json!({ "a": meta });
    }
    let new = NewSession {
        meta: Some(meta.clone()),
        ..NewSession::for_user("u")
    };
    let (token, _) = block_on(service.create(new)).unwrap();
    let back = block_on(service.verify(token.expose())).unwrap();
    assert_eq!(back.meta.to_value(), meta);
    let deeper = NewSession {
        meta: Some(json!({ "a": meta })),
        ..NewSession::for_user("u")
    };
    assert_eq!(invalid_field(block_on(service.create(deeper))), "meta");
}

#[test]
fn a_failing_random_source_fails_create_without_writing() {
    struct Broken;
    impl session_core::Random for Broken {
        fn fill(&self, _: &mut [u8]) -> Result<(), session_core::RandomError> {
            Err(session_core::RandomError)
        }
    }
    let clock = session_core::testing::ManualClock::new(T0);
    let kv = session_core::testing::MemoryKv::new(clock.clone());
    let repo = session_core::KvRepo::new(
        kv.clone(),
        clock.clone(),
        std::rc::Rc::new(session_core::KeyLayout::default()),
        std::rc::Rc::default(),
    );
    let service = session_core::SessionService::new(
        repo,
        clock,
        Broken,
        session_core::KeyRing::parse(&common::key_entry("k1", 1)).unwrap(),
        "",
    );
    let err = block_on(service.create(NewSession::for_user("u"))).unwrap_err();
    assert_eq!(err, SessionError::Random);
    assert_eq!(kv.counts().total(), 0);
}

// Every JSON spelling of a TTL
// is read as the f64 (or integer) JSON gives, then range-checked by the
// policy: negative zero, underflow to zero, values past u64 and values a
// hair off the bounds all end up refused or equal to an allowed whole number.

#[test]
fn ttl_spellings_at_the_edges_are_refused_or_read_as_the_whole_number_json_gives() {
    use serde_json::Value;
    use session_core::ClientInfo;
    let policy = Policy::default();
    let read = |text: &str| -> Result<(u64, u64), String> {
        let json: Value = serde_json::from_str(&format!(r#"{{"userId":"u","idleTtl":{text}}}"#))
            .map_err(|e| format!("JSON: {e}"))?;
        let new = NewSession::from_json(json, ClientInfo::default()).map_err(|e| e.to_string())?;
        policy
            .ttls_for(new.idle_ttl, new.absolute_ttl)
            .map_err(|e| e.to_string())
    };
    for refused in [
        "-0",
        "-0.0",
        "0.0",
        "0e5",
        "1e-400",
        "-1e-400",
        "59",
        "59.0",
        "5.9e1",
        "59.5",
        "31536001",
        "31536001.0",
        "3.1536001e7",
        "1e19",
        "18446744073709551616",
        "1e300",
        "-60",
        "-60.0",
        "60.5",
        "1e400",
    ] {
        assert!(
            read(refused).is_err(),
            "{refused} was accepted: {:?}",
            read(refused)
        );
    }
    // JSON numbers are binary64 to every parser: these are 60 and 31536000.
    for (text, secs) in [
        ("60", 60),
        ("6e1", 60),
        ("60.0", 60),
        ("59.999999999999999", 60),
        ("60.0000000000000001", 60),
        ("31536000", 31_536_000),
        ("3.1536e7", 31_536_000),
    ] {
        assert_eq!(read(text).map(|t| t.0), Ok(secs), "{text}");
    }
}
