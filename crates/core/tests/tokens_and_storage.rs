//! What KV holds never lets anyone rebuild a token; key rotation.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::Ops;
use common::{block_on, env, key_entry, service_over, Env, Isolate};
use serde_json::json;
use session_core::testing::KvOpCounts;
use session_core::{ClientInfo, NewSession, SessionError};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn no_stored_key_value_or_metadata_contains_token_material() {
    let Env { clock, kv, service } = env();
    let mut tokens = Vec::new();
    for i in 0..20 {
        let (token, s) = block_on(service.create(NewSession {
            label: Some(format!("device {i}")),
            meta: Some(json!({"i": i})),
            idle_ttl: Some(600),
            client: ClientInfo::new(Some("UA"), Some("FR")),
            ..NewSession::for_user(format!("user{}", i % 3))
        }))
        .unwrap();
        // Exercise every writing path.
        block_on(service.update(&s.id, &json!({"label": "renamed"}))).unwrap();
        clock.advance_secs(400);
        let v = block_on(service.verify(token.expose())).unwrap();
        let due = service.slide_due(&v).expect("due");
        block_on(service.slide(&due)).unwrap();
        block_on(service.refresh(&due)).unwrap();
        tokens.push(token);
    }
    block_on(service.repo().cleanup(5)).unwrap();

    let dump: Vec<String> = kv
        .entries()
        .into_iter()
        .flat_map(|e| {
            [
                e.name,
                e.value,
                e.metadata.map(|m| m.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    assert!(dump.len() > 40);
    for token in &tokens {
        let parts: Vec<&str> = token.expose().split('.').collect();
        let secret = URL_SAFE_NO_PAD.decode(parts[3]).unwrap();
        let tag = parts[4];
        let forms = [
            token.expose().to_string(),
            parts[3].to_string(),
            STANDARD.encode(&secret),
            hex(&secret),
            tag.to_string(),
            // Any 16-char window of the secret's text.
            parts[3][..16].to_string(),
            parts[3][27..].to_string(),
        ];
        for text in &dump {
            for form in &forms {
                assert!(!text.contains(form.as_str()), "{form} found in {text}");
            }
        }
    }
}

#[test]
fn key_rotation() {
    let Env {
        clock,
        kv,
        service: old,
    } = env(); // signs with k1
    let (old_token, _) = block_on(old.create(NewSession::for_user("alice"))).unwrap();

    // Rotation step 1: new key first, old key still verifying.
    let both = service_over(
        &kv,
        &clock,
        &format!("{},{}", key_entry("k2", 2), key_entry("k1", 1)),
        "",
        1,
    );
    assert!(block_on(both.verify(old_token.expose())).is_ok());
    let (new_token, _) = block_on(both.create(NewSession::for_user("alice"))).unwrap();
    assert!(new_token.expose().starts_with("es1.k2."));
    assert!(block_on(both.verify(new_token.expose())).is_ok());
    assert_eq!(
        block_on(old.verify(new_token.expose())).unwrap_err(),
        SessionError::InvalidToken,
        "old deployments do not know k2"
    );

    // Step 2: the old key removed. Old tokens fail without a KV read.
    let only_new = service_over(&kv, &clock, &key_entry("k2", 2), "", 2);
    kv.reset_counts();
    assert_eq!(
        block_on(only_new.verify(old_token.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
    assert_eq!(kv.counts(), KvOpCounts::default());
    assert!(block_on(only_new.verify(new_token.expose())).is_ok());

    // Same kid, different key material: refused without a read.
    let reused_kid = service_over(&kv, &clock, &key_entry("k2", 3), "", 3);
    kv.reset_counts();
    assert_eq!(
        block_on(reused_kid.verify(new_token.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
    assert_eq!(kv.counts().total(), 0);
}

#[test]
fn tokens_are_bound_to_their_session_and_the_namespace_prefix() {
    let Env { clock, kv, service } = env();
    let (token_a, a) = block_on(service.create(NewSession::for_user("alice"))).unwrap();
    let (token_b, _) = block_on(service.create(NewSession::for_user("bob"))).unwrap();
    // Splicing bob's secret and tag onto alice's id breaks the tag.
    let pa: Vec<&str> = token_a.expose().split('.').collect();
    let pb: Vec<&str> = token_b.expose().split('.').collect();
    let spliced = format!("{}.{}.{}.{}.{}", pa[0], pa[1], pa[2], pb[3], pb[4]);
    assert_eq!(
        block_on(service.verify(&spliced)).unwrap_err(),
        SessionError::InvalidToken
    );
    assert_eq!(block_on(service.verify(token_a.expose())).unwrap().id, a.id);
    // Another app (prefix) sharing the namespace and keys does not see the session.
    let other_app = service_over(&kv, &clock, &key_entry("k1", 1), "other/", 5);
    assert_eq!(
        block_on(other_app.verify(token_a.expose())).unwrap_err(),
        SessionError::InvalidToken
    );
}

#[test]
fn os_random_service_issues_distinct_tokens() {
    let clock = session_core::testing::ManualClock::new(common::T0);
    let kv = session_core::testing::MemoryKv::new(clock.clone());
    let repo = session_core::KvRepo::new(
        kv,
        clock.clone(),
        std::rc::Rc::new(session_core::KeyLayout::default()),
        std::rc::Rc::default(),
    );
    let service = session_core::SessionService::new(
        repo,
        clock,
        session_core::OsRandom,
        session_core::KeyRing::parse(&key_entry("k", 4)).unwrap(),
        "",
    );
    let (a, sa) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    let (b, sb) = block_on(service.create(NewSession::for_user("u"))).unwrap();
    assert_ne!(a, b);
    assert_ne!(sa.id, sb.id);
    assert!(block_on(service.verify(a.expose())).is_ok());
}
