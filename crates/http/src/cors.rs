//! CORS for the session API (`{API_PREFIX}/…`) only; guarded paths are the
//! origin's business.
//!
//! Credentialed CORS needs the exact origin echoed back, never `*`, so an
//! `Origin` is answered only when it is one of `ALLOWED_ORIGINS` (compared by
//! ASCII serialization). A disallowed or missing origin gets no CORS headers
//! at all: the browser then hides the response from the calling page.
//! `Vary: Origin` is sent on every API response either way, since the
//! headers depend on the request's `Origin` and a cache must not mix them up.

use http::header::{HeaderName, HeaderValue, VARY};
use http::{HeaderMap, Response, StatusCode};

use crate::csrf::normalize_origin;

/// Methods the session API answers.
pub const ALLOW_METHODS: &str = "GET, POST, PATCH, DELETE, OPTIONS";
/// Request headers the session API reads.
pub const ALLOW_HEADERS: &str = "Content-Type, Authorization";
/// How long browsers may cache a preflight answer, in seconds.
pub const MAX_AGE_SECS: u32 = 600;

/// A header to add to a response.
pub type Header = (&'static str, String);

/// The normalized `origin` if it is allowed.
pub fn allowed_origin(origin: Option<&str>, allowed: &[String]) -> Option<String> {
    let origin = normalize_origin(origin?)?;
    allowed.contains(&origin).then_some(origin)
}

/// Whether a request is a CORS preflight: `OPTIONS` with both `Origin` and
/// `Access-Control-Request-Method`. A plain `OPTIONS` is routed normally.
pub fn is_preflight(method: &str, origin: Option<&str>, request_method: Option<&str>) -> bool {
    method == "OPTIONS" && origin.is_some() && request_method.is_some()
}

/// Headers to add to an actual (non-preflight) API response:
/// `Access-Control-Allow-Origin: <origin>`,
/// `Access-Control-Allow-Credentials: true` and `Vary: Origin` for an
/// allowed origin; only `Vary: Origin` otherwise.
pub fn cors_headers(origin: Option<&str>, allowed: &[String]) -> Vec<Header> {
    let mut out = Vec::with_capacity(3);
    if let Some(o) = allowed_origin(origin, allowed) {
        out.push(("Access-Control-Allow-Origin", o));
        out.push(("Access-Control-Allow-Credentials", "true".to_owned()));
    }
    out.push(("Vary", "Origin".to_owned()));
    out
}

/// Headers of the preflight answer: those of [`cors_headers`] plus
/// `Access-Control-Allow-Methods`, `-Allow-Headers` and `-Max-Age` for an
/// allowed origin; only `Vary: Origin` otherwise.
pub fn preflight_headers(origin: Option<&str>, allowed: &[String]) -> Vec<Header> {
    let mut out = cors_headers(origin, allowed);
    if out.len() > 1 {
        out.push(("Access-Control-Allow-Methods", ALLOW_METHODS.to_owned()));
        out.push(("Access-Control-Allow-Headers", ALLOW_HEADERS.to_owned()));
        out.push(("Access-Control-Max-Age", MAX_AGE_SECS.to_string()));
    }
    out
}

/// The preflight answer: `204 No Content` with [`preflight_headers`]. A
/// disallowed origin also gets a 204, without CORS headers, which the
/// browser treats as a refusal.
pub fn preflight_response(origin: Option<&str>, allowed: &[String]) -> Response<Vec<u8>> {
    let mut res = Response::new(Vec::new());
    *res.status_mut() = StatusCode::NO_CONTENT;
    apply(res.headers_mut(), preflight_headers(origin, allowed));
    res
}

/// Adds `headers` to `map` (`Vary` is appended, the others replaced).
pub fn apply(map: &mut HeaderMap, headers: Vec<Header>) {
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value))
        else {
            continue;
        };
        if name == VARY {
            map.append(name, value);
        } else {
            map.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec![
            "https://app.example.com".into(),
            "http://localhost:3000".into(),
        ]
    }

    fn get<'a>(h: &'a [Header], name: &str) -> Option<&'a str> {
        h.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn allowed_origin_gets_exact_echo_with_credentials() {
        let h = cors_headers(Some("https://app.example.com"), &allowed());
        assert_eq!(
            get(&h, "Access-Control-Allow-Origin"),
            Some("https://app.example.com")
        );
        assert_eq!(get(&h, "Access-Control-Allow-Credentials"), Some("true"));
        assert_eq!(get(&h, "Vary"), Some("Origin"));
        assert_eq!(get(&h, "Access-Control-Allow-Methods"), None);
        assert_eq!(h.len(), 3);
        let h = cors_headers(Some("http://localhost:3000"), &allowed());
        assert_eq!(
            get(&h, "Access-Control-Allow-Origin"),
            Some("http://localhost:3000")
        );
    }

    #[test]
    fn echo_is_the_normalized_serialization() {
        let h = cors_headers(Some("HTTPS://APP.EXAMPLE.COM:443"), &allowed());
        assert_eq!(
            get(&h, "Access-Control-Allow-Origin"),
            Some("https://app.example.com")
        );
    }

    #[test]
    fn disallowed_or_missing_origin_gets_no_cors_headers() {
        for o in [
            None,
            Some("https://evil.example"),
            Some("null"),
            Some(""),
            Some("*"),
            Some("https://app.example.com.evil.example"),
            Some("http://app.example.com"),
            Some("https://app.example.com/path"),
            Some("https://app.example.com\r\nX-Evil: 1"),
        ] {
            let h = cors_headers(o, &allowed());
            assert_eq!(h, vec![("Vary", "Origin".to_owned())], "{o:?}");
            let p = preflight_headers(o, &allowed());
            assert_eq!(p, vec![("Vary", "Origin".to_owned())], "{o:?}");
        }
        assert_eq!(cors_headers(Some("https://app.example.com"), &[]).len(), 1);
    }

    #[test]
    fn preflight_detection() {
        assert!(is_preflight("OPTIONS", Some("https://a"), Some("POST")));
        assert!(!is_preflight("OPTIONS", None, Some("POST")));
        assert!(!is_preflight("OPTIONS", Some("https://a"), None));
        assert!(!is_preflight("POST", Some("https://a"), Some("POST")));
    }

    #[test]
    fn preflight_answer() {
        let res = preflight_response(Some("https://app.example.com"), &allowed());
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert!(res.body().is_empty());
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(
            h["access-control-allow-methods"],
            "GET, POST, PATCH, DELETE, OPTIONS"
        );
        assert_eq!(
            h["access-control-allow-headers"],
            "Content-Type, Authorization"
        );
        assert_eq!(h["access-control-max-age"], "600");
        assert_eq!(h["vary"], "Origin");
        assert_eq!(h.len(), 6);

        let res = preflight_response(Some("https://evil.example"), &allowed());
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert!(res.headers().get("access-control-allow-origin").is_none());
        assert!(res.headers().get("access-control-allow-methods").is_none());
    }

    #[test]
    fn apply_appends_vary_and_replaces_others() {
        let mut map = HeaderMap::new();
        map.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        map.insert(
            "access-control-allow-origin",
            HeaderValue::from_static("https://stale"),
        );
        apply(
            &mut map,
            cors_headers(Some("https://app.example.com"), &allowed()),
        );
        let vary: Vec<_> = map
            .get_all(VARY)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(vary, ["Accept-Encoding", "Origin"]);
        assert_eq!(map.get_all("access-control-allow-origin").iter().count(), 1);
        assert_eq!(
            map["access-control-allow-origin"],
            "https://app.example.com"
        );
    }
}
