//! Tokens (contract §2): any string is refused or is a token whose tag
//! verifies, and then exactly the token that would be issued for its id and
//! secret (one spelling per session); any change of a valid token is
//! refused; another key's tokens are refused; `TOKEN_KEYS`, session ids and
//! owner tags read back what was written.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use proptest::prelude::*;
use session_core::testing::SeededRandom;
use session_core::token::{Secret, MAX_TOKEN_LEN};
use session_core::{KeyRing, OwnerTag, SessionId, TokenError};

fn ring(kid: &str, key: &[u8]) -> KeyRing {
    KeyRing::from_keys([(kid.to_owned(), key.to_vec())]).unwrap()
}

/// A token of `ring` for a fresh session of a user named after `seed`.
fn issue(ring: &KeyRing, seed: u64) -> (String, SessionId) {
    let random = SeededRandom::new(seed);
    let id = SessionId::generate(OwnerTag::for_user("", &seed.to_string()), &random).unwrap();
    let secret = Secret::generate(&random).unwrap();
    (ring.issue(&id, &secret).into_string(), id)
}

fn fixed_ring() -> KeyRing {
    ring("k1", &[7; 32])
}

fn kid() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,32}"
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 32..80)
}

/// Text close to a token: its alphabet and its dots.
fn tokenish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_.-]{0,200}",
        ("es1\\.[a-z0-9]{1,4}", "(\\.[A-Za-z0-9_-]{20,45}){2,4}").prop_map(|(a, b)| a + &b),
    ]
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~+/=";

proptest! {
    #![proptest_config(crate::cases(1024))]

    /// Any text (and issued tokens among it): refused, or a token whose tag
    /// verifies and that re-issues to exactly itself, so a session's token
    /// has one spelling. Refusals say why without reading any key.
    #[test]
    fn any_text_is_refused_or_is_exactly_an_issued_token(
        text in prop_oneof![
            3 => tokenish(),
            1 => any::<u64>().prop_map(|seed| issue(&fixed_ring(), seed).0),
        ],
    ) {
        let ring = fixed_ring();
        match ring.verify_token(&text) {
            Ok(v) => {
                let again = ring.issue(&v.id, &v.secret);
                prop_assert_eq!(again.expose(), text.as_str());
            }
            Err(e) => {
                let shape_ok = text.len() <= MAX_TOKEN_LEN
                    && text.split('.').count() == 5
                    && text.starts_with("es1.");
                if !shape_ok {
                    prop_assert_eq!(e, TokenError::Malformed);
                }
            }
        }
    }

    /// A valid token verifies, to its id; changing any one character to any
    /// other, cutting it or extending it, is refused.
    #[test]
    fn a_token_is_accepted_only_as_issued(
        k in key(),
        seed in any::<u64>(),
        at in any::<prop::sample::Index>(),
        with in prop::sample::select(ALPHABET),
        cut in any::<prop::sample::Index>(),
        extra in "[A-Za-z0-9_.-]{1,4}",
    ) {
        let ring = ring("k1", &k);
        let (token, id) = issue(&ring, seed);
        let verified = ring.verify_token(&token).unwrap();
        prop_assert_eq!(&verified.id, &id);
        prop_assert_eq!(verified.kid.as_str(), "k1");
        // One character changed.
        let i = at.index(token.len());
        let mut bytes = token.clone().into_bytes();
        prop_assume!(bytes[i] != with);
        bytes[i] = with;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(ring.verify_token(&changed).is_err(), "accepted {} (changed at {})", changed, i);
        // Cut, or extended.
        let short = &token[..cut.index(token.len())];
        prop_assert!(ring.verify_token(short).is_err());
        let longer = format!("{token}{extra}");
        prop_assert!(ring.verify_token(&longer).is_err());
    }

    /// The secret is what a token proves: the same id with any other secret
    /// and a tag from the right key still needs that secret's hash to match.
    #[test]
    fn the_secret_hash_binds_the_secret_and_the_id(seed in any::<u64>(), other in any::<u64>()) {
        prop_assume!(seed != other);
        let r = SeededRandom::new(seed);
        let id = SessionId::generate(OwnerTag::for_user("", "a"), &r).unwrap();
        let secret = Secret::generate(&r).unwrap();
        let r2 = SeededRandom::new(other);
        let other_secret = Secret::generate(&r2).unwrap();
        let other_id = SessionId::generate(OwnerTag::for_user("", "a"), &r2).unwrap();
        prop_assert!(secret.hash(&id).matches(&secret.hash(&id)));
        prop_assert!(!secret.hash(&id).matches(&other_secret.hash(&id)));
        prop_assert!(!secret.hash(&id).matches(&secret.hash(&other_id)));
    }

    /// A token made with another key is refused: `BadTag` under the same
    /// key id, `UnknownKey` under another; during a rotation (new key first)
    /// the old key's tokens still verify, and new ones are signed by the new.
    #[test]
    fn another_keys_tokens_are_refused(
        (kid_a, kid_b) in (kid(), kid()).prop_filter("distinct ids", |(a, b)| a != b),
        key_a in key(),
        key_b in key(),
        seed in any::<u64>(),
    ) {
        prop_assume!(key_a != key_b);
        let a = ring(&kid_a, &key_a);
        let (token, _) = issue(&a, seed);
        prop_assert_eq!(ring(&kid_a, &key_b).verify_token(&token).err(), Some(TokenError::BadTag));
        prop_assert_eq!(ring(&kid_b, &key_a).verify_token(&token).err(), Some(TokenError::UnknownKey));
        let rotated = KeyRing::from_keys([(kid_b.clone(), key_b.clone()), (kid_a.clone(), key_a.clone())]).unwrap();
        prop_assert!(rotated.verify_token(&token).is_ok());
        let (fresh, _) = issue(&rotated, seed);
        let signer = format!("es1.{kid_b}.");
        prop_assert!(fresh.starts_with(&signer));
        prop_assert_eq!(a.verify_token(&fresh).err(), Some(TokenError::UnknownKey));
    }

    /// `TOKEN_KEYS` written any way the contract allows (standard or
    /// URL-safe base64, padded or not, spaces around entries) reads back the
    /// keys: the same ids in order, and tokens verify as with the raw keys.
    #[test]
    fn token_keys_read_back(
        keys in prop::collection::vec((kid(), key(), 0..4usize, "[ \t]{0,2}"), 1..4),
        seed in any::<u64>(),
    ) {
        let mut seen = std::collections::HashSet::new();
        prop_assume!(keys.iter().all(|(k, ..)| seen.insert(k.clone())));
        let text: Vec<String> = keys
            .iter()
            .map(|(kid, key, style, pad)| {
                let b64 = match style {
                    0 => STANDARD.encode(key),
                    1 => STANDARD_NO_PAD.encode(key),
                    2 => URL_SAFE.encode(key),
                    _ => URL_SAFE_NO_PAD.encode(key),
                };
                format!("{pad}{kid}:{b64}{pad}")
            })
            .collect();
        let parsed = KeyRing::parse(&text.join(",")).unwrap();
        let raw = KeyRing::from_keys(keys.iter().map(|(k, key, ..)| (k.clone(), key.clone()))).unwrap();
        prop_assert_eq!(parsed.kids(), raw.kids());
        let (token, _) = issue(&raw, seed);
        prop_assert!(parsed.verify_token(&token).is_ok());
    }

    /// Any `TOKEN_KEYS` text: a ring or a reason that holds none of it.
    #[test]
    fn token_keys_errors_never_echo(
        text in prop_oneof![
            any::<String>(),
            ("[A-Za-z0-9_-]{3,10}", "[A-Za-z0-9+/=_-]{3,60}").prop_map(|(k, v)| format!("Qz{k}:Qz{v}")),
            ("[A-Za-z0-9_-]{3,10}", key()).prop_map(|(k, v)| format!("Qz{k}:{},Qz{k}:{}", STANDARD.encode(&v), STANDARD.encode(&v))),
        ],
    ) {
        if let Err(e) = KeyRing::parse(&text) {
            let reason = e.to_string();
            for part in text.split([',', ':']).map(str::trim).filter(|p| p.starts_with("Qz") || p.len() >= 12) {
                prop_assert!(!reason.contains(part), "{:?} echoed in {:?}", part, reason);
            }
        }
    }

    /// Session ids: exactly the canonical base64url of 32 bytes, and read
    /// back as written, naming their owner; owner tags likewise.
    #[test]
    fn session_ids_and_owner_tags_read_back(text in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{20,45}"], bytes in prop::collection::vec(any::<u8>(), 32..=32), user in any::<String>(), prefix in "[!-~]{0,8}") {
        let decoded = URL_SAFE_NO_PAD.decode(&text).ok();
        let canonical = decoded.as_ref().is_some_and(|d| d.len() == 32 && URL_SAFE_NO_PAD.encode(d) == text);
        match SessionId::parse(&text) {
            Some(id) => {
                prop_assert!(canonical, "{:?}", text);
                prop_assert_eq!(id.as_str(), text.as_str());
                let head = &decoded.as_ref().expect("canonical")[..16];
                prop_assert_eq!(Some(id.owner()), OwnerTag::from_text(&URL_SAFE_NO_PAD.encode(head)));
            }
            None => prop_assert!(!canonical, "{:?}", text),
        }
        let id = SessionId::parse(&URL_SAFE_NO_PAD.encode(&bytes)).unwrap();
        prop_assert_eq!(id.as_bytes(), &bytes[..]);
        let tag = OwnerTag::for_user(&prefix, &user);
        prop_assert_eq!(OwnerTag::from_text(&tag.to_text()), Some(tag));
    }
}
