//! `Authorization: Bearer` (RFC 6750): reading a session token from it, and
//! removing ours before a request is forwarded.

use http::header::{GetAll, HeaderValue, AUTHORIZATION};
use http::HeaderMap;
use session_core::token::TOKEN_VERSION;

use crate::syntax::{is_ows, trim_ows};

/// The token of `Authorization: Bearer TOKEN`.
///
/// The scheme is case-insensitive; whitespace around the header and between
/// scheme and token is ignored. `None` for another scheme (`Basic …` is for
/// the origin) or an empty token. Whatever follows `Bearer ` is the token,
/// however malformed (`Bearer a b`, or kilobytes long): the token parser
/// refuses it (it reads at most 256 bytes of it) without any KV
/// call, so such a request answers 401 `invalid_token`, as a malformed token
/// does, rather than `unauthorized`.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let h = authorization.trim_matches([' ', '\t']);
    let scheme = h.get(..6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let rest = &h[6..];
    // The scheme must be followed by whitespace ("Bearerx" is another scheme).
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let token = rest.trim_matches([' ', '\t']);
    (!token.is_empty()).then_some(token)
}

/// The bearer token of an `Authorization` value that may hold several
/// credentials a runtime joined from several lines with `, `: the value's
/// own when it is `Bearer …` (see [`bearer_token`]), else that of the first
/// comma-separated credential that is (`Basic x, Bearer es1.…`).
pub fn authorization_bearer(value: &str) -> Option<&str> {
    bearer_token(value).or_else(|| value.split(',').skip(1).find_map(bearer_token))
}

/// Whether a credential is `Bearer <one of our tokens>` (by its version
/// prefix; the tag is not checked, so even forged tokens are not forwarded).
/// On bytes: a value that is not visible ASCII elsewhere still holds it.
fn is_our_credential(credential: &[u8]) -> bool {
    let c = trim_ows(credential);
    c.len() > 6
        && c[..6].eq_ignore_ascii_case(b"bearer")
        && is_ows(c[6])
        && trim_ows(&c[6..])
            .strip_prefix(TOKEN_VERSION.as_bytes())
            .is_some_and(|r| r.starts_with(b"."))
}

/// Removes our bearer credentials from every `Authorization` value, also
/// from a value a runtime joined from several lines with `, ` and from one
/// holding bytes that are not visible ASCII; the origin's own credentials
/// beside them are kept as written.
pub fn strip_our_authorization(headers: &mut HeaderMap) {
    if let Some(kept) = without_our_credentials(&headers.get_all(AUTHORIZATION)) {
        headers.remove(AUTHORIZATION);
        for value in kept {
            headers.append(AUTHORIZATION, value);
        }
    }
}

/// What [`strip_our_authorization`] leaves of the `Authorization` lines
/// `values`; `None` when none holds one of our credentials (nothing to change).
pub fn without_our_credentials(values: &GetAll<'_, HeaderValue>) -> Option<Vec<HeaderValue>> {
    let ours = |v: &HeaderValue| v.as_bytes().split(|&b| b == b',').any(is_our_credential);
    if !values.iter().any(ours) {
        return None;
    }
    let kept = values
        .iter()
        .filter_map(|v| {
            if !ours(v) {
                return Some(v.clone());
            }
            let rest: Vec<&[u8]> = v
                .as_bytes()
                .split(|&b| b == b',')
                .filter(|c| !is_our_credential(c))
                .collect();
            let rest = rest.join(&b","[..]);
            let rest = trim_ows(&rest);
            (!rest.is_empty())
                .then(|| HeaderValue::from_bytes(rest).ok())
                .flatten()
        })
        .collect();
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer_token("Bearer abc.def"), Some("abc.def"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("  Bearer \t abc  "), Some("abc"));
        assert_eq!(bearer_token("Bearer a+/b=="), Some("a+/b=="));
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearerabc"), None);
        // Malformed bearer tokens are still tokens (the parser refuses them).
        assert_eq!(bearer_token("Bearer a b"), Some("a b"));
        assert_eq!(bearer_token("Bearer a,b c"), Some("a,b c"));
        assert_eq!(bearer_token("Bearer é"), Some("é"));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token("Token abc"), None);
        assert_eq!(bearer_token(""), None);
        assert_eq!(bearer_token("Beaé abc"), None);
        assert_eq!(bearer_token("é"), None);
        let long = format!("Bearer {}", "a".repeat(5000));
        assert_eq!(bearer_token(&long).map(str::len), Some(5000));
    }

    #[test]
    fn stripping_keeps_the_origins_credentials() {
        let mut h = HeaderMap::new();
        h.append(
            AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcg==, Bearer es1.x.y"),
        );
        h.append(AUTHORIZATION, HeaderValue::from_static("Bearer es1.only"));
        h.append(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer other-scheme-token"),
        );
        strip_our_authorization(&mut h);
        let kept: Vec<&str> = h
            .get_all(AUTHORIZATION)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(kept, ["Basic dXNlcg==", "Bearer other-scheme-token"]);
    }

    #[test]
    fn bearer_in_joined_authorization_lines() {
        assert_eq!(
            authorization_bearer("Basic dXNlcg==, Bearer es1.x"),
            Some("es1.x")
        );
        assert_eq!(
            authorization_bearer("Bearer es1.x, Basic y"),
            Some("es1.x, Basic y")
        );
        assert_eq!(authorization_bearer("Digest a=\"1\", b=\"2\""), None);
        assert_eq!(authorization_bearer("Basic x"), None);
    }
}
