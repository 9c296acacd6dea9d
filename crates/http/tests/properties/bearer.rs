//! `Authorization: Bearer` (RFC 6750 §2.1), stripping our credentials, and
//! which token a request authenticates with (contract §2: the bearer token
//! wins over the cookie).

use http::header::{HeaderValue, AUTHORIZATION};
use http::HeaderMap;
use proptest::prelude::*;
use session_http::auth::{request_token, TokenSource};
use session_http::bearer::{authorization_bearer, bearer_token, strip_our_authorization};
use session_http::cookie::cookie_values;

fn ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The reference: surrounding spaces and tabs ignored, the scheme `Bearer`
/// in any case, at least one space or tab, then the token (trimmed, not
/// empty), whatever it holds.
fn reference_bearer(value: &str) -> Option<&str> {
    let v = value.trim_matches(ows);
    let (scheme, rest) = v.split_at(v.find(ows)?);
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim_matches(ows);
    (!token.is_empty()).then_some(token)
}

fn scheme() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&["Bearer", "bearer", "BEARER", "bEaReR"][..]).prop_map(str::to_owned),
        1 => prop::sample::select(&["Basic", "Bearerx", "Beare", "Token", "", "Bearé", "é"][..]).prop_map(str::to_owned),
    ]
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "es1\\.[A-Za-z0-9_-]{1,10}\\.[A-Za-z0-9_.-]{0,30}",
        2 => "[A-Za-z0-9+/=._~-]{0,20}",
        1 => any::<String>(),
    ]
}

fn authorization() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["", " ", "\t", "  "][..]),
        scheme(),
        prop::sample::select(&[" ", "\t", " \t ", ""][..]),
        token(),
        prop::sample::select(&["", " ", "\t"][..]),
    )
        .prop_map(|(a, s, b, t, c)| format!("{a}{s}{b}{t}{c}"))
}

proptest! {
    #![proptest_config(crate::cases(1024))]

    /// `bearer_token` is the reference for any value, generated or not.
    #[test]
    fn bearer_parsing_agrees_with_rfc_6750(value in prop_oneof![3 => authorization(), 1 => any::<String>()]) {
        prop_assert_eq!(bearer_token(&value), reference_bearer(&value), "{:?}", value);
    }

    /// Several credentials a runtime joined with `, `: the value's own
    /// bearer token, else that of the first later credential that is one.
    #[test]
    fn joined_credentials_give_the_first_bearer(values in prop::collection::vec(authorization(), 1..4)) {
        let joined = values.join(", ");
        let expected = reference_bearer(&joined)
            .or_else(|| joined.split(',').skip(1).find_map(reference_bearer));
        prop_assert_eq!(authorization_bearer(&joined), expected);
    }

    /// After stripping, no `Authorization` value carries a credential that is
    /// `Bearer es1.…`, forged or not; every other credential is kept.
    #[test]
    fn stripping_leaves_no_token_of_ours(values in prop::collection::vec(
        prop::collection::vec(authorization(), 1..3).prop_map(|c| c.join(", ")), 0..4)
    ) {
        let ours = |c: &str| reference_bearer(c).is_some_and(|t| t.starts_with("es1."));
        let mut headers = HeaderMap::new();
        let values: Vec<String> = values.into_iter().filter(|v| HeaderValue::from_str(v).is_ok()).collect();
        for v in &values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        strip_our_authorization(&mut headers);
        let after: Vec<&str> = headers.get_all(AUTHORIZATION).iter().map(|v| std::str::from_utf8(v.as_bytes()).unwrap()).collect();
        for v in &after {
            prop_assert!(!v.split(',').any(ours), "{:?} kept", v);
        }
        let kept = |list: &[&str]| -> Vec<String> {
            list.iter()
                .flat_map(|v| v.split(','))
                .filter(|c| !ours(c))
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect()
        };
        let before: Vec<&str> = values.iter().map(String::as_str).collect();
        prop_assert_eq!(kept(&after), kept(&before));
    }

    /// The token of a request: the bearer token whenever there is one;
    /// else the first non-empty cookie value whose tag verifies, else the
    /// first non-empty one; else none.
    #[test]
    fn the_bearer_token_wins_over_the_cookie(
        auth in prop::option::of(authorization()),
        cookie in prop::option::of(prop::collection::vec(
            prop_oneof![Just(String::new()), "[a-z]{1,6}", "ok-[a-z]{1,6}"], 0..4,
        ).prop_map(|vals| vals.iter().map(|v| format!("__Host-session={v}")).collect::<Vec<_>>().join("; "))),
    ) {
        let tag_ok = |t: &str| t.starts_with("ok-");
        let picked = request_token(auth.as_deref(), cookie.as_deref(), "__Host-session", tag_ok);
        let expected = match auth.as_deref().and_then(authorization_bearer) {
            Some(t) => Some((t.to_owned(), TokenSource::Bearer)),
            None => {
                let vals: Vec<&str> = cookie
                    .as_deref()
                    .map(|c| cookie_values(c, "__Host-session").filter(|v| !v.is_empty()).collect())
                    .unwrap_or_default();
                vals.iter()
                    .find(|v| tag_ok(v))
                    .or(vals.first())
                    .map(|t| (t.to_string(), TokenSource::Cookie))
            }
        };
        prop_assert_eq!(picked.map(|p| (p.token.to_owned(), p.source)), expected);
    }
}

// --- the counterexamples the properties found, as examples ---------------

/// A value holding a byte that is not visible ASCII was forwarded
/// untouched, our token in it.
#[test]
fn a_value_that_is_not_ascii_loses_our_token_too() {
    let mut h = HeaderMap::new();
    // The shrunk counterexample, and a credential of the origin's beside ours.
    for value in [
        "Bearer \u{fffc}, Bearer es1.a.",
        "Basic \u{e9}, Bearer es1.k.id.s.t",
    ] {
        h.append(
            AUTHORIZATION,
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    strip_our_authorization(&mut h);
    let kept: Vec<&[u8]> = h
        .get_all(AUTHORIZATION)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    assert_eq!(
        kept,
        ["Bearer \u{fffc}".as_bytes(), "Basic \u{e9}".as_bytes()]
    );
}
