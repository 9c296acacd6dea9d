//! The identity headers the guard adds to forwarded requests, and the handoff
//! headers origins answer with (contract section 6).
//!
//! - `X-Session-User`: the userId percent-encoded exactly as JavaScript's
//!   `encodeURIComponent` does ([`encode_user`]); an origin reads it back with
//!   `decodeURIComponent`.
//! - `X-Session-Meta`: base64url without padding of the meta JSON
//!   ([`encode_meta`]).
//! - `X-Session-Auth-Time`: when the user last proved who they are, in
//!   seconds since the epoch ([`auth_time`]).
//! - `X-Session-Assertion`: the signed identity assertion
//!   ([`crate::assertion`]); with `IDENTITY_HEADERS=assertion`
//!   ([`IdentityHeaders`]) it is the only one of these sent.
//! - Every `X-Session-*` header a client sends is removed before forwarding
//!   ([`strip_session_headers`], [`is_session_header`]); `X-Session-Issue` and
//!   `X-Session-Revoke` are removed from every origin response after being
//!   acted on ([`is_handoff_header`]).
//! - Header names are compared as origins compare them: without case, and
//!   with `_` read as `-` ([`same_header_name`]). CGI, WSGI, Rack, PHP and
//!   Apache map `X-Session-User` and `X_Session_User` to the same
//!   `HTTP_X_SESSION_USER`, so a client's `X_Session_User` must go too.
//! - The request-override headers are removed before forwarding as well
//!   ([`is_override_header`]): rules are decided on the request's own method
//!   and path, so the origin must not act on another method
//!   (`X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override`) nor
//!   another path (`X-Original-URL`, `X-Rewrite-URL`, read by IIS and older
//!   Symfony and Zend stacks).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use session_core::Session;

/// Header names as documented (HTTP header names are case-insensitive).
pub const SESSION_ID: &str = "X-Session-Id";
pub const SESSION_USER: &str = "X-Session-User";
pub const SESSION_META: &str = "X-Session-Meta";
pub const SESSION_AUTH_TIME: &str = "X-Session-Auth-Time";
pub const SESSION_ASSERTION: &str = "X-Session-Assertion";
pub const SESSION_ISSUE: &str = "X-Session-Issue";
pub const SESSION_REVOKE: &str = "X-Session-Revoke";

/// The same names as [`HeaderName`]s (lower-case, as `http` requires).
pub const SESSION_ID_HEADER: HeaderName = HeaderName::from_static("x-session-id");
pub const SESSION_USER_HEADER: HeaderName = HeaderName::from_static("x-session-user");
pub const SESSION_META_HEADER: HeaderName = HeaderName::from_static("x-session-meta");
pub const SESSION_AUTH_TIME_HEADER: HeaderName = HeaderName::from_static("x-session-auth-time");
pub const SESSION_ASSERTION_HEADER: HeaderName = HeaderName::from_static("x-session-assertion");
pub const SESSION_ISSUE_HEADER: HeaderName = HeaderName::from_static("x-session-issue");
pub const SESSION_REVOKE_HEADER: HeaderName = HeaderName::from_static("x-session-revoke");

/// The prefix of every header this project owns.
pub const SESSION_HEADER_PREFIX: &str = "x-session-";

/// Everything `encodeURIComponent` escapes: all but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `user_id` percent-encoded as `encodeURIComponent` does: UTF-8 bytes,
/// upper-case hex. The result is visible ASCII, safe in a header.
pub fn encode_user(user_id: &str) -> String {
    utf8_percent_encode(user_id, URI_COMPONENT).to_string()
}

/// The inverse of [`encode_user`]; `None` when the bytes are not UTF-8.
pub fn decode_user(encoded: &str) -> Option<String> {
    percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// base64url (RFC 4648 §5) without padding of `meta`'s JSON text (a
/// session's [`session_core::session::Meta::as_json`], as stored).
pub fn encode_meta(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

/// The inverse of [`encode_meta`]; `None` for bad base64 or JSON.
pub fn decode_meta(encoded: &str) -> Option<serde_json::Value> {
    let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `IDENTITY_HEADERS`: which identity headers a forwarded request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityHeaders {
    /// `plain` (default): `X-Session-Id`, `-User`, `-Meta`, `-Auth-Time`, and
    /// `X-Session-Assertion` when `ASSERTION_KEYS` is set.
    #[default]
    Plain,
    /// `assertion`: `X-Session-Assertion` only (needs `ASSERTION_KEYS`).
    Assertion,
}

/// When the session's user last proved who they are (`authenticatedAt`), in
/// whole seconds since the epoch: `X-Session-Auth-Time` and the assertion's
/// `auth_time`.
pub fn auth_time(session: &Session) -> i64 {
    session.lifetime.authenticated_at.div_euclid(1000)
}

/// `X-Session-Id`, `X-Session-User`, `X-Session-Meta` and
/// `X-Session-Auth-Time` of `session`. All four are visible ASCII by
/// construction; one that were not would be left out, never panic.
pub fn identity_headers(session: &Session) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
    [
        (SESSION_ID_HEADER, session.id.to_string()),
        (SESSION_USER_HEADER, encode_user(&session.user_id)),
        (SESSION_META_HEADER, encode_meta(session.meta.as_json())),
        (SESSION_AUTH_TIME_HEADER, auth_time(session).to_string()),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, HeaderValue::try_from(value).ok()?)))
}

/// Headers that make many frameworks treat a request as another method or
/// another path than the one the guard decided on.
pub const OVERRIDE_HEADERS: [&str; 5] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
];

/// Whether header names `a` and `b` are the same to an origin: ASCII case
/// ignored and `_` read as `-`.
pub fn same_header_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

fn fold(b: u8) -> u8 {
    if b == b'_' {
        b'-'
    } else {
        b.to_ascii_lowercase()
    }
}

/// Whether `name` is one of ours: it starts with `x-session-` compared as
/// [`same_header_name`] does (`X-Session-Id`, `x_session_user`, `X-SESSION_META`).
pub fn is_session_header(name: &str) -> bool {
    name.get(..SESSION_HEADER_PREFIX.len())
        .is_some_and(|p| same_header_name(p, SESSION_HEADER_PREFIX))
}

/// Whether `name` is one of the handoff headers, spelled any way an origin's
/// stack may treat as it ([`same_header_name`]). Only the canonical spelling
/// is acted on; every spelling is removed from responses.
pub fn is_handoff_header(name: &str) -> bool {
    same_header_name(name, SESSION_ISSUE) || same_header_name(name, SESSION_REVOKE)
}

/// Whether `name` is a request-override header ([`OVERRIDE_HEADERS`],
/// compared as [`same_header_name`] does).
pub fn is_override_header(name: &str) -> bool {
    OVERRIDE_HEADERS.iter().any(|h| same_header_name(name, h))
}

/// Removes every `X-Session-*` header (all values of each, every spelling).
pub fn strip_session_headers(headers: &mut HeaderMap) {
    remove_where(headers, is_session_header);
}

/// Removes every request-override header (all values of each, every spelling).
pub fn strip_override_headers(headers: &mut HeaderMap) {
    remove_where(headers, is_override_header);
}

fn remove_where(headers: &mut HeaderMap, doomed: impl Fn(&str) -> bool) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|k| doomed(k.as_str()))
        .cloned()
        .collect();
    for name in names {
        headers.remove(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encode_user_matches_encode_uri_component() {
        // Expected values are what `encodeURIComponent` returns in JS.
        let cases = [
            ("alice", "alice"),
            ("", ""),
            ("AZaz09-_.!~*'()", "AZaz09-_.!~*'()"),
            ("a b", "a%20b"),
            ("user:42", "user%3A42"),
            ("a/b", "a%2Fb"),
            ("100%", "100%25"),
            ("a+b=c&d", "a%2Bb%3Dc%26d"),
            ("alice@example.com", "alice%40example.com"),
            (
                "#?;,$[]{}|\\^`\"<>",
                "%23%3F%3B%2C%24%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E",
            ),
            ("é", "%C3%A9"),
            ("日本", "%E6%97%A5%E6%9C%AC"),
            ("😀", "%F0%9F%98%80"),
            ("\u{0}\n\r\t", "%00%0A%0D%09"),
            ("\u{7f}", "%7F"),
        ];
        for (input, expected) in cases {
            assert_eq!(encode_user(input), expected, "{input:?}");
            assert_eq!(decode_user(expected).as_deref(), Some(input));
        }
    }

    #[test]
    fn encoded_user_is_always_a_valid_header_value() {
        let all: String = (0u32..0x800).filter_map(char::from_u32).collect();
        let enc = encode_user(&all);
        assert!(HeaderValue::from_str(&enc).is_ok());
        assert_eq!(decode_user(&enc).as_deref(), Some(all.as_str()));
        assert_eq!(decode_user("%FF"), None);
    }

    #[test]
    fn encode_meta_is_unpadded_base64url_of_json() {
        // {"a":1} → eyJhIjoxfQ (base64 "eyJhIjoxfQ==")
        assert_eq!(encode_meta(&json!({"a": 1}).to_string()), "eyJhIjoxfQ");
        assert_eq!(encode_meta(&json!({}).to_string()), "e30");
        // No '+', '/' or '=' ever appear.
        let meta = json!({"roles": ["admin", "ü"], "s": "~~~???>>>", "n": null});
        let enc = encode_meta(&meta.to_string());
        assert!(!enc.contains(['+', '/', '=']), "{enc}");
        assert!(HeaderValue::from_str(&enc).is_ok());
        assert_eq!(decode_meta(&enc), Some(meta));
        // Standard base64 of this JSON has a '/': "eyJzIjoiPz4/In0=".
        assert_eq!(
            encode_meta(&json!({"s": "?>?"}).to_string()),
            "eyJzIjoiPz4_In0"
        );
        assert_eq!(decode_meta("!!"), None);
        assert_eq!(decode_meta("eyJh"), None);
    }

    #[test]
    fn header_names() {
        assert_eq!(SESSION_ID_HEADER.as_str(), SESSION_ID.to_ascii_lowercase());
        assert_eq!(
            SESSION_USER_HEADER.as_str(),
            SESSION_USER.to_ascii_lowercase()
        );
        assert_eq!(
            SESSION_META_HEADER.as_str(),
            SESSION_META.to_ascii_lowercase()
        );
        assert_eq!(
            SESSION_ISSUE_HEADER.as_str(),
            SESSION_ISSUE.to_ascii_lowercase()
        );
        assert_eq!(
            SESSION_REVOKE_HEADER.as_str(),
            SESSION_REVOKE.to_ascii_lowercase()
        );
        assert_eq!(
            SESSION_AUTH_TIME_HEADER.as_str(),
            SESSION_AUTH_TIME.to_ascii_lowercase()
        );
        assert_eq!(
            SESSION_ASSERTION_HEADER.as_str(),
            SESSION_ASSERTION.to_ascii_lowercase()
        );
        // Every header of ours is one a client cannot send: stripped by the
        // `x-session-` rule, in every spelling.
        for n in [
            SESSION_ID,
            SESSION_USER,
            SESSION_META,
            SESSION_AUTH_TIME,
            SESSION_ASSERTION,
            SESSION_ISSUE,
            SESSION_REVOKE,
            "x_session_assertion",
            "X-SESSION_ASSERTION",
        ] {
            assert!(is_session_header(n), "{n}");
        }
    }

    #[test]
    fn recognizes_session_headers() {
        assert!(is_session_header("x-session-id"));
        assert!(is_session_header("X-SESSION-ANYTHING"));
        assert!(is_session_header("x-session-"));
        assert!(!is_session_header("x-session"));
        assert!(!is_session_header("x-sessions-id"));
        assert!(!is_session_header("session-id"));
        assert!(!is_session_header("x-sessión-id"));
        assert!(!is_session_header(""));
        // Underscores read as dashes, as CGI-style origins read them.
        for spoof in [
            "X_Session_User",
            "x-session_meta",
            "X_SESSION-ID",
            "x_session_",
        ] {
            assert!(is_session_header(spoof), "{spoof}");
        }
        assert!(!is_session_header("x_sessionid"));
        assert!(!is_session_header("x__session-id"));
    }

    #[test]
    fn handoff_and_override_names() {
        for name in [
            "x-session-issue",
            "X_Session_Issue",
            "X-SESSION_REVOKE",
            "x_session_revoke",
        ] {
            assert!(is_handoff_header(name), "{name}");
        }
        assert!(!is_handoff_header("x-session-issued"));
        assert!(!is_handoff_header("x-session-id"));
        for name in [
            "X-HTTP-Method-Override",
            "x_http_method",
            "X-Method_Override",
        ] {
            assert!(is_override_header(name), "{name}");
        }
        assert!(!is_override_header("x-http-methods"));
        let mut h = HeaderMap::new();
        h.insert("x-http-method-override", HeaderValue::from_static("DELETE"));
        h.insert("x_http_method", HeaderValue::from_static("PUT"));
        h.insert("x-method-override", HeaderValue::from_static("PATCH"));
        h.insert("x-original-url", HeaderValue::from_static("/admin"));
        h.insert("x-other", HeaderValue::from_static("1"));
        strip_override_headers(&mut h);
        assert_eq!(
            h.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            ["x-other"]
        );
    }

    #[test]
    fn strips_every_session_header() {
        let mut h = HeaderMap::new();
        h.insert("x-session-id", HeaderValue::from_static("forged"));
        h.append("x-session-user", HeaderValue::from_static("admin"));
        h.append("x-session-user", HeaderValue::from_static("admin2"));
        h.insert("X-Session-Meta", HeaderValue::from_static("e30"));
        h.insert("x-session-issue", HeaderValue::from_static("{}"));
        h.insert("x-session-whatever", HeaderValue::from_static("1"));
        h.insert(
            "x-session-assertion",
            HeaderValue::from_static("e30.e30.sig"),
        );
        h.insert(
            "x_session_assertion",
            HeaderValue::from_static("e30.e30.sig"),
        );
        h.insert("x-session-auth-time", HeaderValue::from_static("0"));
        h.insert("x-sessionx", HeaderValue::from_static("keep"));
        h.insert("x_session_user", HeaderValue::from_static("root"));
        h.insert("x-session_meta", HeaderValue::from_static("e30"));
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        h.append("accept", HeaderValue::from_static("a"));
        h.append("accept", HeaderValue::from_static("b"));
        strip_session_headers(&mut h);
        let mut names: Vec<_> = h.keys().map(|k| k.as_str().to_owned()).collect();
        names.sort();
        assert_eq!(names, ["accept", "content-type", "x-sessionx"]);
        assert_eq!(h.get_all("accept").iter().count(), 2);
    }
}
