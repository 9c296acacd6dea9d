//! `ASSERTION_KEYS` (contract §1): the key parser against the `p256` crate
//! as reference (a key `p256` reads is read, with the same public key; what
//! is read besides is only a key whose public key `p256` finds wrong, which
//! the platform's signer refuses in turn), and the list grammar against a
//! model of it. Never a panic, never the value in an error.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::DecodePrivateKey;
use p256::SecretKey;
use proptest::prelude::*;
use session_http::assertion::{jwks, AssertionKeys, MAX_KEYS};

use crate::support::{ASSERTION_K1, ASSERTION_K2};

fn der(entry: &str) -> Vec<u8> {
    STANDARD.decode(entry.split_once(':').unwrap().1).unwrap()
}

/// Where the private scalar and the public key's `x‖y` sit in the DER of
/// the test keys.
const SCALAR: std::ops::Range<usize> = 36..68;
const XY: std::ops::Range<usize> = 74..138;

/// The public key `p256` derives from the DER, when it reads it: `(x, y)`
/// in base64url.
fn reference(der: &[u8]) -> Option<(String, String)> {
    let key = SecretKey::from_pkcs8_der(der).ok()?;
    let point = key.public_key().to_sec1_point(false);
    let b = point.as_bytes();
    Some((
        URL_SAFE_NO_PAD.encode(&b[1..33]),
        URL_SAFE_NO_PAD.encode(&b[33..65]),
    ))
}

fn ours(der: &[u8]) -> Result<(String, String), String> {
    let keys = AssertionKeys::parse(&format!("k:{}", STANDARD.encode(der)))?;
    let jwk = &jwks(Some(&keys))["keys"][0];
    Ok((
        jwk["x"].as_str().unwrap().to_owned(),
        jwk["y"].as_str().unwrap().to_owned(),
    ))
}

/// A DER changed in one of the ways a copy-paste or a wrong tool changes it.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Truncate(usize),
    Append(Vec<u8>),
    Insert(usize, u8),
    Remove(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        2 => (0usize..138, any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        // The structure's bytes (tags, lengths, OIDs, the point's form), more often.
        2 => (prop::sample::select((0..36).chain(68..74).collect::<Vec<usize>>()), any::<u8>())
            .prop_map(|(i, b)| Edit::Set(i, b)),
        1 => (0usize..138).prop_map(Edit::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..4).prop_map(Edit::Append),
        1 => (0usize..138, any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        1 => (0usize..138).prop_map(Edit::Remove),
    ]
}

fn apply(mut der: Vec<u8>, edit: &Edit) -> Vec<u8> {
    match edit {
        Edit::Set(i, b) => der[*i] = *b,
        Edit::Truncate(n) => der.truncate(*n),
        Edit::Append(bytes) => der.extend_from_slice(bytes),
        Edit::Insert(i, b) => der.insert(*i, *b),
        Edit::Remove(i) => {
            der.remove(*i);
        }
    }
    der
}

/// One entry of a generated `ASSERTION_KEYS`, and whether it is valid.
fn entry() -> impl Strategy<Value = (String, bool)> {
    let good = [ASSERTION_K1, ASSERTION_K2].map(|e| e.split_once(':').unwrap().1.to_owned());
    (
        prop_oneof![
            3 => "[A-Za-z0-9_-]{1,4}".prop_map(|k| (k, true)),
            1 => "[A-Za-z0-9_-]{33,34}".prop_map(|k| (k, false)),
            1 => "[ .:é/]{1,3}".prop_map(|k| (k, false)),
            1 => Just((String::new(), false)),
        ],
        prop_oneof![
            4 => prop::sample::select(good.to_vec()).prop_map(|k| (k, true)),
            1 => "[A-Za-z0-9+/]{4,40}".prop_map(|k| (k, false)),
        ],
        prop::sample::select(&["", " ", "\t"][..]),
    )
        .prop_map(|((kid, kid_ok), (key, key_ok), pad)| {
            (format!("{pad}{kid}:{key}{pad}"), kid_ok && key_ok)
        })
}

proptest! {
    #![proptest_config(crate::cases(512))]

    /// An edited key: what `p256` reads, the parser reads with the same
    /// public key; what only the parser reads is a key whose scalar or
    /// public point was changed, so that they no longer match (curve
    /// arithmetic, which the parser leaves to the platform's import).
    #[test]
    fn edited_keys_agree_with_p256(key in prop::sample::select(vec![ASSERTION_K1, ASSERTION_K2]), edit in edit()) {
        let original = der(key);
        let edited = apply(original.clone(), &edit);
        match (reference(&edited), ours(&edited)) {
            (Some(want), got) => prop_assert_eq!(got, Ok(want), "{:?}", edit),
            (None, Ok(_)) => {
                let mismatch = matches!(edit, Edit::Set(i, _) if SCALAR.contains(&i) || XY.contains(&i));
                prop_assert!(mismatch, "read a key p256 refuses: {:?}", edit);
            }
            (None, Err(e)) => {
                prop_assert!(e.starts_with("entry 1: "), "{}", e);
                let value = STANDARD.encode(&edited);
                prop_assert!(value.len() < 8 || !e.contains(&value[..8]), "{}", e);
            }
        }
    }

    /// Any bytes: read or refused, never a panic.
    #[test]
    fn any_bytes_are_read_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok((x, y)) = ours(&bytes) {
            prop_assert_eq!((x.len(), y.len()), (43, 43));
        }
    }

    /// A list of entries: read when every entry is a valid kid and key, the
    /// kids are unique and at most MAX_KEYS; the kids in order, the first
    /// signing. Otherwise the error names the first bad entry (or the count).
    #[test]
    fn lists_agree_with_their_grammar(entries in prop::collection::vec(entry(), 1..11)) {
        let text = entries.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>().join(",");
        let kids: Vec<String> = entries.iter().map(|(e, _)| e.trim().split_once(':').unwrap().0.to_owned()).collect();
        let mut first_bad = None;
        for (i, (_, ok)) in entries.iter().enumerate() {
            if i >= MAX_KEYS { first_bad = Some(format!("holds more than {MAX_KEYS} keys")); break; }
            let repeated = kids[..i].contains(&kids[i]);
            if !ok || repeated { first_bad = Some(format!("entry {}", i + 1)); break; }
        }
        let result = AssertionKeys::parse(&text);
        match first_bad {
            None => {
                let keys = result.unwrap();
                prop_assert_eq!(keys.kids(), kids.iter().map(String::as_str).collect::<Vec<_>>());
                prop_assert_eq!(keys.signing_key().kid(), kids[0].as_str());
            }
            Some(why) => {
                let e = result.unwrap_err();
                prop_assert!(e.starts_with(&why), "{} (expected {})", e, why);
            }
        }
    }
}
