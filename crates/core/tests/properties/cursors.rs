//! Listing cursors (contract §5, `GET /admin/sessions?limit=&cursor=`): the
//! cursors the service emits page through every live session exactly once;
//! any other text is refused naming `cursor`, never a store failure.

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use serde_json::json;
use session_core::service::MAX_CURSOR_LEN;
use session_core::session::MAX_USER_ID_BYTES;
use session_core::{NewSession, SessionError};

use crate::common::Ops;
use crate::common::{block_on, env_with, key_entry};

fn user() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&["alice", "bob", "b", "a:b", "é"][..]).prop_map(str::to_owned),
        1 => Just("u".repeat(MAX_USER_ID_BYTES)),
        1 => Just("\u{10348}".repeat(MAX_USER_ID_BYTES / 4)),
    ]
}

fn prefix() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[!-~]{1,8}", "[\"\\\\]{64}"]
}

fn cursor_error(e: &SessionError) -> bool {
    matches!(e, SessionError::Invalid(v) if v.field == "cursor")
}

proptest! {
    #![proptest_config(crate::cases(256))]

    /// Following the emitted cursors with any page size: pages of at most
    /// `limit`, every live session exactly once, expired ones never, and
    /// every cursor short enough to be given back (`MAX_CURSOR_LEN`).
    #[test]
    fn emitted_cursors_page_through_every_live_session_once(
        prefix in prefix(),
        sessions in prop::collection::vec((user(), any::<bool>()), 0..30),
        limit in 1usize..8,
    ) {
        let env = env_with(&key_entry("k1", 1), &prefix);
        let mut live = BTreeSet::new();
        for (user, short) in &sessions {
            let new = NewSession {
                idle_ttl: short.then_some(60),
                absolute_ttl: short.then_some(60),
                ..NewSession::for_user(user.clone())
            };
            let (_, s) = block_on(env.service.create(new)).unwrap();
            if !short {
                live.insert(s.id.to_string());
            }
        }
        env.clock.advance_secs(61);
        let mut seen = BTreeSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..=sessions.len() + 1 {
            let (page, next) = block_on(env.service.list_all(limit, cursor.as_deref())).unwrap();
            prop_assert!(page.len() <= limit);
            for s in page {
                prop_assert!(seen.insert(s.id.to_string()), "{} listed twice", s.id);
            }
            match next {
                Some(c) => {
                    prop_assert!(!c.is_empty() && c.len() <= MAX_CURSOR_LEN, "cursor of {} bytes", c.len());
                    cursor = Some(c);
                }
                None => {
                    cursor = None;
                    break;
                }
            }
        }
        prop_assert!(cursor.is_none(), "the listing did not end");
        prop_assert_eq!(seen, live);
    }

    /// Any text as a cursor, or one shaped like the store's with any
    /// content: a page, or refused naming `cursor`; never another error.
    #[test]
    fn any_cursor_is_a_page_or_refused_naming_the_cursor(
        cursor in prop_oneof![
            any::<String>(),
            "mkv1\\.[A-Za-z0-9_-]{0,40}",
            (prefix(), any::<String>()).prop_map(|(p, k)| format!("mkv1.{}", URL_SAFE_NO_PAD.encode(json!([p, k]).to_string()))),
            "u:[A-Za-z0-9_-]{0,10}".prop_map(|k| format!("mkv1.{}", URL_SAFE_NO_PAD.encode(json!(["u:", k]).to_string()))),
            Just("x".repeat(MAX_CURSOR_LEN + 1)),
        ],
        limit in 1usize..5,
    ) {
        let env = env_with(&key_entry("k1", 1), "");
        for user in ["alice", "bob", "carol"] {
            block_on(env.service.create(NewSession::for_user(user))).unwrap();
        }
        match block_on(env.service.list_all(limit, Some(&cursor))) {
            Ok((page, _)) => prop_assert!(page.len() <= limit),
            Err(e) => prop_assert!(cursor_error(&e), "{:?} gave {:?}", cursor, e),
        }
    }

    /// The page size: 1 to 1000, refused naming `limit` otherwise.
    #[test]
    fn the_limit_is_1_to_1000(limit in prop_oneof![0usize..3, 998usize..1003, any::<usize>()]) {
        let env = env_with(&key_entry("k1", 1), "");
        match block_on(env.service.list_all(limit, None)) {
            Ok(_) => prop_assert!((1..=1000).contains(&limit)),
            Err(SessionError::Invalid(v)) => {
                prop_assert!(!(1..=1000).contains(&limit));
                prop_assert_eq!(v.field, "limit");
            }
            Err(e) => prop_assert!(false, "{:?}", e),
        }
    }
}
