//! `authenticatedAt` (contract §3): set when a session is created, never
//! moved by sliding, refresh or patches, in both consistency modes; and the
//! owner's exact count of a user's new sessions in `strong` mode
//! (`owner::creations`), at the edges of its window.

mod common;

use std::rc::Rc;

use common::{block_on, key_entry, owner_settings, service_over, strong_over, Api, Ops, T0};
use serde_json::json;
use session_core::owner::{CreateLimit, OwnerClient, OwnerTransport};
use session_core::service::slide_due;
use session_core::testing::{ManualClock, MemoryKv, MemoryOwners, SeededRandom};
use session_core::{Clock, NewSession, Policy, SessionError, Slide, Writer};

fn keys() -> String {
    key_entry("k1", 1)
}

/// Idle 1 h, absolute a year: room for a thousand slides.
fn policy() -> Policy {
    Policy::new(3600, 31_536_000).expect("policy")
}

fn both_modes() -> Vec<(&'static str, ManualClock, Api)> {
    let mut out = Vec::new();
    for strong in [false, true] {
        let clock = ManualClock::new(T0);
        let kv = MemoryKv::new(clock.clone());
        let here = service_over(&kv, &clock, &keys(), "", 5).with_policy(policy());
        let api = if strong {
            strong_over(&kv, &clock, here, &keys(), 6, policy()).0
        } else {
            Api::Eventual(here)
        };
        out.push((if strong { "strong" } else { "eventual" }, clock, api));
    }
    out
}

#[test]
fn a_thousand_slides_refreshes_and_patches_never_move_authenticated_at() {
    for (mode, clock, api) in both_modes() {
        let (token, created) = block_on(api.create(NewSession::for_user("alice"))).unwrap();
        assert_eq!(created.lifetime.authenticated_at, T0, "{mode}");
        let mut current = created;
        for i in 0..1000 {
            // Past half the idle TTL: the sliding write is due.
            clock.advance_secs(1801);
            let due = slide_due(&current, clock.now_ms()).expect("due");
            current = match block_on(api.slide(&due)).unwrap() {
                Slide::Written(s) => *s,
                Slide::Skipped => panic!("{mode}: slide {i} skipped"),
            };
            current = block_on(api.refresh(&current)).unwrap();
            let label = json!({ "label": format!("device {i}") });
            current = block_on(api.update_session(&current, &label, Writer::Holder)).unwrap();
            let meta = json!({ "meta": { "n": i } });
            current = block_on(api.update(current.id.as_str(), &meta)).unwrap();
            assert_eq!(current.lifetime.authenticated_at, T0, "{mode}: round {i}");
        }
        let read = block_on(api.verify(token.expose())).unwrap();
        assert_eq!(read.lifetime.authenticated_at, T0, "{mode}");
        assert!(
            read.lifetime.last_seen_at > T0 + 1000 * 1800 * 1000,
            "{mode}"
        );
        assert_eq!(
            read.to_json()["authenticatedAt"],
            "2023-11-14T22:13:20.000Z"
        );
        // A new sign-in is a new session, authenticated now.
        let (_, again) = block_on(api.create(NewSession::for_user("alice"))).unwrap();
        assert_eq!(again.lifetime.authenticated_at, clock.now_ms(), "{mode}");
    }
}

/// `strong` mode whose owners count 3 creations per user per 60 s.
fn limited() -> (
    ManualClock,
    Rc<MemoryOwners<ManualClock, SeededRandom>>,
    Api,
) {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let settings = session_core::owner::OwnerSettings {
        create_limit: Some(CreateLimit::new(3, 60)),
        ..owner_settings(&keys(), Policy::default())
    };
    let owners = Rc::new(MemoryOwners::new(
        kv.clone(),
        clock.clone(),
        Rc::new(SeededRandom::new(4)),
        settings.clone(),
    ));
    let here = service_over(&kv, &clock, &keys(), "", 3);
    let transport: Rc<dyn OwnerTransport> = owners.clone();
    let client = OwnerClient::new(settings, here, clock.clone(), transport);
    (clock, owners, Api::Strong(client))
}

fn create(api: &Api, user: &str) -> Result<(), SessionError> {
    block_on(api.create(NewSession::for_user(user))).map(drop)
}

#[test]
fn the_owner_counts_creations_exactly_at_the_edges_of_its_window() {
    let (clock, owners, api) = limited();
    // N−1 and N: created.
    create(&api, "alice").unwrap();
    clock.advance_secs(10);
    create(&api, "alice").unwrap();
    create(&api, "alice").unwrap();
    // N+1 within the window: refused, until the first leaves it.
    owners.reset_calls();
    assert_eq!(create(&api, "alice"), Err(SessionError::RateLimited(50)));
    assert_eq!(owners.calls(), 1, "the create's own request, nothing more");
    let listed = block_on(api.list_user("alice", None)).unwrap();
    assert_eq!(listed.len(), 3, "nothing created");
    // Another user has a count of their own.
    create(&api, "bob").unwrap();
    // A millisecond before the first creation leaves the window: refused.
    clock.set_ms(T0 + 59_999);
    assert_eq!(create(&api, "alice"), Err(SessionError::RateLimited(1)));
    // At 60 s it has left: one more fits, and the window is full again.
    clock.set_ms(T0 + 60_000);
    create(&api, "alice").unwrap();
    assert!(matches!(
        create(&api, "alice"),
        Err(SessionError::RateLimited(_))
    ));
    // At 70 s the two made at 10 s have left too.
    clock.set_ms(T0 + 70_000);
    create(&api, "alice").unwrap();
    create(&api, "alice").unwrap();
    assert!(create(&api, "alice").is_err());
}

#[test]
fn a_creation_that_fails_does_not_count() {
    let (_, _, api) = limited();
    let too_long = NewSession {
        label: Some("x".repeat(500)),
        ..NewSession::for_user("alice")
    };
    for _ in 0..5 {
        let e = block_on(api.create(too_long.clone())).unwrap_err();
        assert!(matches!(e, SessionError::Invalid(_)), "{e:?}");
    }
    for _ in 0..3 {
        create(&api, "alice").unwrap();
    }
    assert!(matches!(
        create(&api, "alice"),
        Err(SessionError::RateLimited(_))
    ));
}
