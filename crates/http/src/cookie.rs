//! Session cookie and bearer token handling (contract section 2).
//!
//! - [`get_cookie`] reads one cookie from a `Cookie` request header.
//! - [`set_cookie`] / [`clear_cookie`] build the `Set-Cookie` values.
//! - [`bearer_token`] reads `Authorization: Bearer …`.
//! - [`request_token`] picks the token of a request: the bearer token when
//!   there is one, else the cookie, and says which, because CSRF checks apply
//!   to cookie authentication only.

/// Longest `Cookie` header read, in bytes; longer headers yield no cookie.
pub const MAX_COOKIE_HEADER_BYTES: usize = 32 * 1024;
/// Longest cookie value returned, in bytes.
pub const MAX_COOKIE_VALUE_BYTES: usize = 4096;

/// Whether `name` is a cookie name: an RFC 6265 / RFC 9110 token (visible
/// ASCII without separators), at most 128 bytes.
pub fn is_cookie_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 128 && name.bytes().all(crate::rules::is_tchar)
}

/// Whether `value` is made of RFC 6265 `cookie-octet`s (visible ASCII except
/// `"`, `,`, `;` and `\`), i.e. safe to put in `Set-Cookie` unquoted.
pub fn is_cookie_value(value: &str) -> bool {
    value.len() <= MAX_COOKIE_VALUE_BYTES
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

/// The value of the first cookie called `name` (case-sensitive) in a
/// `Cookie` header such as `a=b; c="d"`.
///
/// Spaces and tabs around pairs, names and values are tolerated, a value in
/// double quotes is returned without them, pairs without `=` are skipped.
/// When the name appears several times the first wins (browsers send the
/// most specific cookie first). `None` when the header is longer than
/// [`MAX_COOKIE_HEADER_BYTES`] or the first match's value is longer than
/// [`MAX_COOKIE_VALUE_BYTES`]. The value is not otherwise checked: it goes
/// to the token parser, which rejects anything malformed.
pub fn get_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    if header.len() > MAX_COOKIE_HEADER_BYTES || name.is_empty() {
        return None;
    }
    for pair in header.split(';') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        if k.trim_matches(is_ows) != name {
            continue;
        }
        let v = v.trim_matches(is_ows);
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .unwrap_or(v);
        return (v.len() <= MAX_COOKIE_VALUE_BYTES).then_some(v);
    }
    None
}

fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `Set-Cookie` value for the session cookie:
/// `name=value; Max-Age=N; Path=/; HttpOnly; Secure; SameSite=Lax`.
///
/// `name` must satisfy [`is_cookie_name`] (the configuration checks
/// `COOKIE_NAME`) and `value` [`is_cookie_value`] (tokens are URL-safe
/// base64); this is not re-checked here. The attributes satisfy the
/// `__Host-` prefix rules (Secure, Path=/, no Domain).
pub fn set_cookie(name: &str, value: &str, max_age_secs: u64) -> String {
    format!("{name}={value}; Max-Age={max_age_secs}; Path=/; HttpOnly; Secure; SameSite=Lax")
}

/// `Set-Cookie` value clearing the session cookie (`Max-Age=0`, same
/// attributes so the browser replaces the right cookie).
pub fn clear_cookie(name: &str) -> String {
    set_cookie(name, "", 0)
}

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
    let h = authorization.trim_matches(is_ows);
    let scheme = h.get(..6)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let rest = &h[6..];
    // The scheme must be followed by whitespace ("Bearerx" is another scheme).
    if !rest.starts_with(is_ows) {
        return None;
    }
    let token = rest.trim_matches(is_ows);
    (!token.is_empty()).then_some(token)
}

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The `COOKIE_NAME` cookie: subject to CSRF checks; refreshed cookies
    /// are re-issued.
    Cookie,
    /// `Authorization: Bearer`: exempt from CSRF checks.
    Bearer,
}

/// The token a request authenticates with, and its source. `Debug` shows
/// the source only: tokens never reach logs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestToken<'a> {
    pub token: &'a str,
    pub source: TokenSource,
}

impl std::fmt::Debug for RequestToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestToken").field("token", &"<redacted>").field("source", &self.source).finish()
    }
}

/// Picks the request's token: a well-formed bearer token wins over the
/// cookie. An `Authorization` header that is not a usable bearer token
/// (e.g. `Basic …` meant for the origin) is ignored, so the cookie, if any,
/// is used — the request then counts as cookie-authenticated and CSRF
/// applies. An empty cookie value counts as no cookie. `None`: no token
/// (401 `unauthorized`).
pub fn request_token<'a>(
    authorization: Option<&'a str>,
    cookie_header: Option<&'a str>,
    cookie_name: &str,
) -> Option<RequestToken<'a>> {
    if let Some(token) = authorization.and_then(bearer_token) {
        return Some(RequestToken {
            token,
            source: TokenSource::Bearer,
        });
    }
    let token = cookie_header.and_then(|h| get_cookie(h, cookie_name))?;
    (!token.is_empty()).then_some(RequestToken {
        token,
        source: TokenSource::Cookie,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "__Host-session";

    #[test]
    fn reads_cookies() {
        assert_eq!(
            get_cookie("a=1; __Host-session=tok; b=2", NAME),
            Some("tok")
        );
        assert_eq!(get_cookie("__Host-session=tok", NAME), Some("tok"));
        assert_eq!(get_cookie("a=1;__Host-session=tok;b=2", NAME), Some("tok"));
        assert_eq!(
            get_cookie("  a=1 ;\t__Host-session = tok \t; b", NAME),
            Some("tok")
        );
        assert_eq!(get_cookie("__Host-session=\"tok\"", NAME), Some("tok"));
        assert_eq!(get_cookie("__Host-session=", NAME), Some(""));
        assert_eq!(get_cookie("__Host-session=a=b", NAME), Some("a=b"));
        assert_eq!(get_cookie("a=1; b=2", NAME), None);
        assert_eq!(get_cookie("", NAME), None);
    }

    #[test]
    fn names_match_exactly() {
        assert_eq!(get_cookie("__host-session=x", NAME), None);
        assert_eq!(get_cookie("x__Host-session=x", NAME), None);
        assert_eq!(
            get_cookie("__Host-sessionx=x; __Host-session=y", NAME),
            Some("y")
        );
        assert_eq!(get_cookie("sid=x", ""), None);
        assert_eq!(get_cookie("=x", ""), None);
    }

    #[test]
    fn first_duplicate_wins() {
        assert_eq!(
            get_cookie("__Host-session=one; __Host-session=two", NAME),
            Some("one")
        );
    }

    #[test]
    fn junk_never_panics_and_is_bounded() {
        for h in [
            ";;;",
            "=",
            "==;=",
            "\"",
            "__Host-session=\"",
            "__Host-session=\"\"",
            "é=è; ü",
            "\u{0}=\u{0}",
        ] {
            let _ = get_cookie(h, NAME);
        }
        assert_eq!(get_cookie("__Host-session=\"", NAME), Some("\""));
        assert_eq!(get_cookie("__Host-session=\"\"", NAME), Some(""));
        let big_value = format!("{NAME}={}", "a".repeat(MAX_COOKIE_VALUE_BYTES + 1));
        assert_eq!(get_cookie(&big_value, NAME), None);
        let ok_value = format!("{NAME}={}", "a".repeat(MAX_COOKIE_VALUE_BYTES));
        assert_eq!(
            get_cookie(&ok_value, NAME).map(str::len),
            Some(MAX_COOKIE_VALUE_BYTES)
        );
        let big_header = format!("{NAME}=tok; pad={}", "a".repeat(MAX_COOKIE_HEADER_BYTES));
        assert_eq!(get_cookie(&big_header, NAME), None);
    }

    #[test]
    fn set_and_clear() {
        assert_eq!(
            set_cookie(NAME, "abc_-123", 3600),
            "__Host-session=abc_-123; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(
            clear_cookie(NAME),
            "__Host-session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        // What we set is what we read back.
        let set = set_cookie("sid", "v.1~x", 60);
        let pair = set.split(';').next().unwrap();
        assert_eq!(get_cookie(pair, "sid"), Some("v.1~x"));
    }

    #[test]
    fn cookie_name_and_value_syntax() {
        for ok in ["__Host-session", "sid", "a!#$%&'*+-.^_`|~1"] {
            assert!(is_cookie_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "a;b",
            "a=b",
            "a,b",
            "(a)",
            "a\"",
            "é",
            "a/b",
            "a:b",
            &"a".repeat(129),
        ] {
            assert!(!is_cookie_name(bad), "{bad}");
        }
        assert!(is_cookie_value(""));
        assert!(is_cookie_value("AZaz09-_.~!#$%&'()*+/:<=>?@[]^`{|}"));
        for bad in ["a b", "a;b", "a,b", "a\"b", "a\\b", "é", "\u{7f}"] {
            assert!(!is_cookie_value(bad), "{bad}");
        }
    }

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
    fn bearer_wins_over_cookie() {
        let cookie = Some("__Host-session=from-cookie");
        let t = request_token(Some("Bearer from-bearer"), cookie, NAME).unwrap();
        assert_eq!(
            t,
            RequestToken {
                token: "from-bearer",
                source: TokenSource::Bearer
            }
        );
        let t = request_token(None, cookie, NAME).unwrap();
        assert_eq!(
            t,
            RequestToken {
                token: "from-cookie",
                source: TokenSource::Cookie
            }
        );
        let t = request_token(Some("Bearer only"), None, NAME).unwrap();
        assert_eq!(t.source, TokenSource::Bearer);
    }

    #[test]
    fn non_bearer_authorization_falls_back_to_cookie() {
        let cookie = Some("__Host-session=c");
        let t = request_token(Some("Basic dXNlcjpwYXNz"), cookie, NAME).unwrap();
        assert_eq!(t.source, TokenSource::Cookie);
        assert_eq!(request_token(Some("Basic x"), None, NAME), None);
        // A malformed bearer token is still the bearer token: it wins (and
        // fails as invalid_token) rather than letting the cookie through.
        let t = request_token(Some("Bearer a b"), cookie, NAME).unwrap();
        assert_eq!((t.source, t.token), (TokenSource::Bearer, "a b"));
    }

    #[test]
    fn no_token() {
        assert_eq!(request_token(None, None, NAME), None);
        assert_eq!(request_token(None, Some("other=1"), NAME), None);
        assert_eq!(request_token(None, Some("__Host-session="), NAME), None);
        assert_eq!(request_token(None, Some("__Host-session=\"\""), NAME), None);
    }
}
