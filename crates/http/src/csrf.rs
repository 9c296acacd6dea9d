//! CSRF checks (contract section 6): [`csrf_ok`] for cookie-authenticated
//! requests, [`handoff_ok`] for the origin's sign-in and sign-out headers.
//!
//! A request with an unsafe method (anything but exactly `GET`, `HEAD`,
//! `OPTIONS`) needs an `Origin` header equal to the request's own origin or
//! to one of `ALLOWED_ORIGINS`. Origins are compared by their ASCII
//! serialization (`scheme://host[:port]`, lower-case, punycode, default port
//! dropped). `Origin: null`, a missing `Origin`, an unparsable one, or one
//! with a path are refused.
//!
//! There is **no `Referer` fallback**: every current browser sends `Origin`
//! on non-GET/HEAD requests, same-origin ones included, and the contract
//! says such a request "needs an `Origin`". Clients that cannot send one
//! (server-to-server calls) use bearer tokens, which are exempt.
//!
//! [`csrf_ok`] is for cookie-authenticated requests; the caller decides that
//! (see [`crate::auth::TokenSource`]).

use crate::http_url::HttpUrl;

/// Longest `Origin` value considered, in bytes.
pub const MAX_ORIGIN_BYTES: usize = 2048;

/// Longest request URL [`origin_of_url`] parses, in bytes (Workers cap URLs
/// at 16 KiB).
pub const MAX_REQUEST_URL_BYTES: usize = 64 * 1024;

/// The methods that never need an `Origin`. Compared case-sensitively:
/// runtimes normalize these three to upper case, so any other spelling is
/// some other (unsafe) method.
pub fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The ASCII serialization of the origin `s` names, or `None` when `s` is not
/// an `http`/`https` origin. Accepts `scheme://host[:port]` with an optional
/// single trailing `/`; refuses paths, queries, fragments, credentials,
/// `null` and anything over [`MAX_ORIGIN_BYTES`].
///
/// ```
/// use session_http::csrf::normalize_origin;
/// assert_eq!(normalize_origin("HTTPS://App.Example.COM:443").as_deref(), Some("https://app.example.com"));
/// assert_eq!(normalize_origin("https://a.example/path"), None);
/// ```
pub fn normalize_origin(s: &str) -> Option<String> {
    if s.len() > MAX_ORIGIN_BYTES {
        return None;
    }
    let s = s.trim();
    // Check the shape by hand: the URL parser would quietly accept and fix
    // `https:a`, tabs, backslashes and the like.
    let rest = strip_prefix_ci(s, "http://").or_else(|| strip_prefix_ci(s, "https://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty()
        || rest.bytes().any(|b| {
            matches!(b, b'/' | b'\\' | b'?' | b'#' | b'@') || !b.is_ascii_graphic() && b.is_ascii()
        })
    {
        return None;
    }
    let url = HttpUrl::parse(s).ok()?;
    (url.path() == "/" && url.query().is_none()).then(|| url.origin().to_owned())
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The origin of a full request URL (`https://app.example/x?y` →
/// `https://app.example`), `None` for non-http(s) URLs.
pub fn origin_of_url(url: &str) -> Option<String> {
    if url.len() > MAX_REQUEST_URL_BYTES {
        return None;
    }
    HttpUrl::parse(url).ok().map(|u| u.origin().to_owned())
}

/// Whether a cookie-authenticated request may proceed.
///
/// - `method`: the request method.
/// - `origin_header`: the `Origin` header, if any.
/// - `request_url_origin`: the request's own origin, or its full URL.
/// - `allowed`: `ALLOWED_ORIGINS`, already normalized by [`crate::config`].
pub fn csrf_ok(
    method: &str,
    origin_header: Option<&str>,
    request_url_origin: &str,
    allowed: &[String],
) -> bool {
    if is_safe_method(method) {
        return true;
    }
    origin_header.is_some_and(|origin| origin_allowed(origin, request_url_origin, allowed))
}

/// Whether `origin` (an `Origin` header's value) names the request's own
/// origin or one of `allowed`.
fn origin_allowed(origin: &str, request_url_origin: &str, allowed: &[String]) -> bool {
    let Some(origin) = normalize_origin(origin) else {
        return false;
    };
    origin_of_url(request_url_origin).is_some_and(|own| own == origin) || allowed.contains(&origin)
}

/// What [`handoff_ok`] reads of a request.
#[derive(Debug, Clone, Copy)]
pub struct HandoffRequest<'a> {
    /// The request method.
    pub method: &'a str,
    /// The request carries the session cookie (a non-empty value).
    pub carries_cookie: bool,
    /// The `Origin` header, if any; one that is not visible ASCII as `""`
    /// (present, and no origin).
    pub origin: Option<&'a str>,
    /// The `Sec-Fetch-Site` header, if any.
    pub sec_fetch_site: Option<&'a str>,
    /// The request's own origin, or its full URL.
    pub request_url_origin: &'a str,
}

/// Whether the origin's `X-Session-Issue` / `X-Session-Revoke` answering
/// this request may be acted on (contract §6, "Handoff and CSRF"): a safe
/// method always; an unsafe one only when the request is not cross-site.
/// One carrying the session cookie must pass [`csrf_ok`] (the guard's
/// check); any other must carry neither an `Origin` outside its own and
/// `allowed` (`null` and unreadable ones included) nor
/// `Sec-Fetch-Site: cross-site`. A request with neither header (a native
/// client) passes.
///
/// ```
/// use session_http::csrf::{handoff_ok, HandoffRequest};
/// let own = "https://app.example/login";
/// let login = |origin, sec_fetch_site| HandoffRequest {
///     method: "POST", carries_cookie: false, origin, sec_fetch_site, request_url_origin: own,
/// };
/// assert!(handoff_ok(login(Some("https://app.example"), Some("same-origin")), &[]));
/// assert!(handoff_ok(login(None, None), &[]), "a native client");
/// assert!(!handoff_ok(login(Some("https://evil.example"), None), &[]));
/// assert!(!handoff_ok(login(None, Some("cross-site")), &[]));
/// let logout = HandoffRequest { carries_cookie: true, ..login(None, None) };
/// assert!(!handoff_ok(logout, &[]), "the cookie needs an allowed Origin");
/// ```
pub fn handoff_ok(request: HandoffRequest<'_>, allowed: &[String]) -> bool {
    let HandoffRequest {
        method,
        carries_cookie,
        origin,
        sec_fetch_site,
        request_url_origin,
    } = request;
    if is_safe_method(method) {
        return true;
    }
    if carries_cookie {
        return csrf_ok(method, origin, request_url_origin, allowed);
    }
    let cross_site = sec_fetch_site.is_some_and(|s| s.trim().eq_ignore_ascii_case("cross-site"));
    let foreign = origin.is_some_and(|o| !origin_allowed(o, request_url_origin, allowed));
    !cross_site && !foreign
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "https://app.example.com/api/thing?x=1";

    fn allowed() -> Vec<String> {
        vec![
            "https://admin.example.com".into(),
            "http://localhost:8787".into(),
        ]
    }

    #[test]
    fn safe_methods_always_pass() {
        for m in ["GET", "HEAD", "OPTIONS"] {
            assert!(csrf_ok(m, None, OWN, &[]), "{m}");
            assert!(csrf_ok(m, Some("https://evil.example"), OWN, &[]), "{m}");
            assert!(csrf_ok(m, Some("null"), OWN, &[]), "{m}");
        }
    }

    #[test]
    fn unsafe_methods_need_a_matching_origin() {
        for m in [
            "POST", "PUT", "PATCH", "DELETE", "get", "Post", "PROPFIND", "",
        ] {
            assert!(!csrf_ok(m, None, OWN, &allowed()), "{m} without Origin");
            assert!(!csrf_ok(m, Some("null"), OWN, &allowed()), "{m} null");
            assert!(!csrf_ok(m, Some(""), OWN, &allowed()), "{m} empty");
            assert!(
                !csrf_ok(m, Some("https://evil.example"), OWN, &allowed()),
                "{m} evil"
            );
            assert!(
                csrf_ok(m, Some("https://app.example.com"), OWN, &allowed()),
                "{m} own"
            );
            assert!(
                csrf_ok(m, Some("https://admin.example.com"), OWN, &allowed()),
                "{m} allowed"
            );
            assert!(
                csrf_ok(m, Some("http://localhost:8787"), OWN, &allowed()),
                "{m} allowed"
            );
        }
    }

    #[test]
    fn origins_compare_by_serialization() {
        assert!(csrf_ok(
            "POST",
            Some("HTTPS://APP.example.com:443"),
            OWN,
            &[]
        ));
        assert!(csrf_ok("POST", Some(" https://app.example.com "), OWN, &[]));
        assert!(csrf_ok(
            "POST",
            Some("https://app.example.com"),
            "https://app.example.com",
            &[]
        ));
        // Scheme, port and host all count.
        assert!(!csrf_ok("POST", Some("http://app.example.com"), OWN, &[]));
        assert!(!csrf_ok(
            "POST",
            Some("https://app.example.com:8443"),
            OWN,
            &[]
        ));
        assert!(!csrf_ok(
            "POST",
            Some("https://sub.app.example.com"),
            OWN,
            &[]
        ));
        assert!(!csrf_ok(
            "POST",
            Some("https://app.example.com.evil.example"),
            OWN,
            &[]
        ));
        assert!(!csrf_ok(
            "POST",
            Some("http://localhost:8788"),
            OWN,
            &allowed()
        ));
        // IDN hosts are compared in punycode, the form browsers send in Origin.
        let own = "https://xn--bcher-kva.example/";
        assert!(csrf_ok(
            "POST",
            Some("https://XN--BCHER-KVA.example"),
            own,
            &[]
        ));
        assert!(!csrf_ok("POST", Some("https://bücher.example"), own, &[]));
    }

    #[test]
    fn malformed_origins_are_refused() {
        for o in [
            "https://app.example.com/",
            "https://app.example.com/x",
            "https://app.example.com?x",
            "https://app.example.com#x",
            "https://user@app.example.com",
            "app.example.com",
            "//app.example.com",
            "file:///etc/passwd",
            "data:text/plain,hi",
            "https://",
            "https:app.example.com",
            "https:/app.example.com",
            "https://app.example.com\\",
            "https://app.exa\tmple.com",
            "https://app.example.com /",
            "\u{0}",
            "é",
        ] {
            let ok = csrf_ok("POST", Some(o), OWN, &[]);
            // A trailing "/" is not what browsers send but names the same origin.
            assert_eq!(ok, o == "https://app.example.com/", "{o:?}");
        }
        let long = format!("https://{}.example.com", "a".repeat(MAX_ORIGIN_BYTES));
        assert!(!csrf_ok("POST", Some(&long), &format!("{long}/"), &[]));
    }

    #[test]
    fn bad_request_url_falls_back_to_allowed_list_only() {
        assert!(!csrf_ok(
            "POST",
            Some("https://app.example.com"),
            "not a url",
            &[]
        ));
        assert!(csrf_ok(
            "POST",
            Some("https://admin.example.com"),
            "not a url",
            &allowed()
        ));
    }

    #[test]
    fn handoff_needs_a_request_that_is_not_cross_site() {
        let req = |method, carries_cookie, origin, sec_fetch_site| HandoffRequest {
            method,
            carries_cookie,
            origin,
            sec_fetch_site,
            request_url_origin: OWN,
        };
        let own = Some("https://app.example.com");
        let listed = Some("https://admin.example.com");
        let evil = Some("https://evil.example");
        // Safe methods: always (an OAuth callback is a cross-site GET).
        for m in ["GET", "HEAD", "OPTIONS"] {
            for cookie in [false, true] {
                assert!(handoff_ok(req(m, cookie, evil, Some("cross-site")), &[]));
            }
        }
        for m in ["POST", "PUT", "DELETE", "get"] {
            // With the session cookie: exactly the guard's check.
            for (origin, site) in [
                (own, None),
                (listed, Some("cross-site")),
                (evil, None),
                (None, None),
                (Some("null"), None),
            ] {
                assert_eq!(
                    handoff_ok(req(m, true, origin, site), &allowed()),
                    csrf_ok(m, origin, OWN, &allowed()),
                    "{m} {origin:?} {site:?}"
                );
            }
            // Without: a native client (neither header) passes.
            assert!(handoff_ok(req(m, false, None, None), &allowed()), "{m}");
            assert!(handoff_ok(
                req(m, false, own, Some("same-origin")),
                &allowed()
            ));
            assert!(handoff_ok(req(m, false, None, Some("none")), &allowed()));
            assert!(handoff_ok(
                req(m, false, listed, Some("same-site")),
                &allowed()
            ));
            assert!(handoff_ok(
                req(m, false, None, Some(" Same-Site ")),
                &allowed()
            ));
            // A foreign, null or unreadable Origin, or Sec-Fetch-Site: cross-site.
            for origin in [
                evil,
                Some("null"),
                Some(""),
                Some("https://app.example.com/x"),
            ] {
                assert!(
                    !handoff_ok(req(m, false, origin, None), &allowed()),
                    "{m} {origin:?}"
                );
            }
            for site in ["cross-site", "Cross-Site", " cross-site "] {
                assert!(
                    !handoff_ok(req(m, false, None, Some(site)), &allowed()),
                    "{site:?}"
                );
                assert!(
                    !handoff_ok(req(m, false, own, Some(site)), &allowed()),
                    "{site:?}"
                );
            }
        }
    }

    #[test]
    fn normalize_origin_examples() {
        assert_eq!(
            normalize_origin("https://a.example").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(
            normalize_origin("https://a.example/").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(normalize_origin("https://a.example//"), None);
        assert_eq!(
            normalize_origin("http://A.example:80").as_deref(),
            Some("http://a.example")
        );
        assert_eq!(
            normalize_origin("http://a.example:8080").as_deref(),
            Some("http://a.example:8080")
        );
        assert_eq!(
            normalize_origin("http://[::1]:3000").as_deref(),
            Some("http://[::1]:3000")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1").as_deref(),
            Some("http://127.0.0.1")
        );
        assert_eq!(normalize_origin("null"), None);
        assert_eq!(normalize_origin("*"), None);
        assert_eq!(normalize_origin("ws://a.example"), None);
        assert_eq!(
            origin_of_url("https://a.example:443/x?y#z").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(origin_of_url("about:blank"), None);
        let long = format!("https://a.example/?q={}", "x".repeat(20_000));
        assert_eq!(origin_of_url(&long).as_deref(), Some("https://a.example"));
    }
}
