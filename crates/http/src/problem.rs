//! RFC 9457 problem details: every error the Worker answers.
//!
//! A problem body is `{"type", "title", "status", "detail", "code"}`, plus a
//! `"field"` extension member when a 400 names the offending request field.
//!
//! `type` is [`PROBLEM_TYPE_BASE`] followed by the code, e.g.
//! `https://edge-session.dev/problems/invalid_token`. It is a stable identifier
//! of the problem kind (one per [`ErrorCode`]); clients should switch on
//! `code` (or `type`), never on `title` or `detail`, which are for humans.
//!
//! `detail` is free text written by this project. It must never contain a
//! token, a secret or a request body: callers pass only fixed phrases, field
//! names and limits. Details and field names are truncated to
//! [`MAX_DETAIL_BYTES`] / [`MAX_FIELD_BYTES`] so no input can inflate a
//! response.

use std::fmt;

use http::header::{
    HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};
use serde::Serialize;
use session_core::session::json::rfc3339;
use session_core::text::truncate_owned;
use session_core::SessionError;

/// Prefix of every problem `type` URI; the code is appended.
pub const PROBLEM_TYPE_BASE: &str = "https://edge-session.dev/problems/";

/// Media type of every error body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Longest `detail` kept, in bytes (cut on a character boundary).
pub const MAX_DETAIL_BYTES: usize = 512;

/// Longest `field` kept, in bytes (cut on a character boundary).
pub const MAX_FIELD_BYTES: usize = 128;

/// Declares [`ErrorCode`] from one table: each code once, with its `code`
/// string, HTTP status, title and default detail (after axum's
/// `define_rejection!`: one row per error, nothing kept in step by hand).
macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $status:ident, $title:literal, $detail:literal; )*) => {
        /// The machine-readable error codes of the contract (section 7).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the contract's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The `code` member, e.g. `"invalid_token"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status answered with this code.
            pub const fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status,)* }
            }

            /// Short human-readable summary, the same for every occurrence of the code.
            pub const fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }

            /// A generic detail for when the caller has nothing more specific.
            pub const fn default_detail(self) -> &'static str {
                match self { $(ErrorCode::$variant => $detail,)* }
            }
        }
    };
}

error_codes! {
    InvalidRequest = "invalid_request", BAD_REQUEST, "Invalid request",
        "The request is malformed.";
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE, "Payload too large",
        "The request body is larger than 64 KiB.";
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type",
        "The body must be sent as application/json or application/merge-patch+json.";
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed",
        "This method is not allowed on this resource.";
    NotFound = "not_found", NOT_FOUND, "Not found",
        "No such resource.";
    Unauthorized = "unauthorized", UNAUTHORIZED, "Authentication required",
        "A session token is required.";
    InvalidToken = "invalid_token", UNAUTHORIZED, "Invalid token",
        "The session token is not valid.";
    SessionExpired = "session_expired", UNAUTHORIZED, "Session expired",
        "The session has expired.";
    ReauthenticationRequired = "reauthentication_required", UNAUTHORIZED, "Reauthentication required",
        "This resource needs a more recent sign-in: sign in again.";
    Forbidden = "forbidden", FORBIDDEN, "Forbidden",
        "The session lacks the role this resource requires.";
    Csrf = "csrf", FORBIDDEN, "Cross-site request refused",
        "A cookie-authenticated unsafe request needs an allowed Origin header.";
    RateLimited = "rate_limited", TOO_MANY_REQUESTS, "Too many requests",
        "Too many requests: try again later.";
    AdminDisabled = "admin_disabled", SERVICE_UNAVAILABLE, "Admin API disabled",
        "The admin API is disabled: ADMIN_KEY is not set.";
    Misconfigured = "misconfigured", SERVICE_UNAVAILABLE, "Service misconfigured",
        "The session service is not configured correctly.";
    StoreUnavailable = "store_unavailable", SERVICE_UNAVAILABLE, "Session store unavailable",
        "The session store could not be reached.";
    OriginUnavailable = "origin_unavailable", BAD_GATEWAY, "Origin unavailable",
        "The origin could not be reached.";
}

impl ErrorCode {
    /// The code named by `s` (exact, as produced by [`ErrorCode::as_str`]).
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// The problem `type` URI of this code.
    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One error answer. Build it with [`Problem::new`], [`Problem::invalid_field`],
/// [`Problem::method_not_allowed`] or `From<ErrorCode>`, then turn it into a
/// response with [`Problem::to_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: ErrorCode,
    /// Human-readable explanation; never a token, secret or body excerpt.
    pub detail: String,
    /// The request field at fault (400s), rendered as the `"field"` member.
    pub field: Option<String>,
    /// Methods for the `Allow` header of a 405, e.g. `"GET, PATCH, DELETE"`.
    pub allow: Option<String>,
    /// Seconds for the `Retry-After` header (429 `rate_limited`).
    pub retry_after: Option<u64>,
    /// What a `reauthentication_required` problem says of the session.
    pub reauth: Option<Reauth>,
}

/// The members of a 401 `reauthentication_required` (contract §6 "Recent
/// login"): the rule's `fresh` as `maxAge`, the session's
/// `authenticatedAt`; a bearer-authenticated request also gets RFC 9470's
/// `WWW-Authenticate: Bearer error="insufficient_user_authentication",
/// max_age="N"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reauth {
    /// The rule's `fresh`, in seconds.
    pub max_age: u64,
    /// The session's `authenticatedAt` (ms since the epoch).
    pub authenticated_at_ms: i64,
    /// The token came as `Authorization: Bearer`.
    pub bearer: bool,
}

impl Problem {
    /// A problem with the given code and detail (truncated to [`MAX_DETAIL_BYTES`]).
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Problem {
        Problem {
            code,
            detail: truncate_owned(detail.into(), MAX_DETAIL_BYTES),
            field: None,
            allow: None,
            retry_after: None,
            reauth: None,
        }
    }

    /// A 429 `rate_limited` whose `Retry-After` is `retry_after` seconds
    /// (at least 1).
    pub fn rate_limited(retry_after: u64, detail: impl Into<String>) -> Problem {
        let mut p = Problem::new(ErrorCode::RateLimited, detail);
        p.retry_after = Some(retry_after.max(1));
        p
    }

    /// A 401 `reauthentication_required` (see [`Reauth`]).
    pub fn reauthentication_required(reauth: Reauth) -> Problem {
        let mut p = Problem::new(
            ErrorCode::ReauthenticationRequired,
            format!(
                "This resource needs a sign-in less than {} seconds old: sign in again.",
                reauth.max_age
            ),
        );
        p.reauth = Some(reauth);
        p
    }

    /// A 400 `invalid_request` naming the offending field, e.g.
    /// `Problem::invalid_field("userId", "must be 1..256 bytes")`; the detail
    /// reads `userId: must be 1..256 bytes`.
    pub fn invalid_field(field: &str, reason: &str) -> Problem {
        let field = truncate_owned(field.to_owned(), MAX_FIELD_BYTES);
        let mut p = Problem::new(ErrorCode::InvalidRequest, format!("{field}: {reason}"));
        p.field = Some(field);
        p
    }

    /// A 403 `forbidden` naming the field the caller may not write.
    pub fn forbidden_field(field: &str, reason: &str) -> Problem {
        let field = truncate_owned(field.to_owned(), MAX_FIELD_BYTES);
        let mut p = Problem::new(ErrorCode::Forbidden, format!("{field}: {reason}"));
        p.field = Some(field);
        p
    }

    /// A 405 whose `Allow` header lists `allowed` (e.g. `&["GET", "DELETE"]`).
    pub fn method_not_allowed(allowed: &[&str]) -> Problem {
        let allow = allowed.join(", ");
        let mut p = Problem::new(
            ErrorCode::MethodNotAllowed,
            format!("Allowed methods: {allow}."),
        );
        p.allow = Some(allow);
        p
    }

    /// The HTTP status of this problem.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The problem document as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("type".into(), self.code.type_uri().into());
        map.insert("title".into(), self.code.title().into());
        map.insert("status".into(), self.code.status().as_u16().into());
        map.insert("detail".into(), self.detail.clone().into());
        map.insert("code".into(), self.code.as_str().into());
        if let Some(field) = &self.field {
            map.insert("field".into(), field.clone().into());
        }
        if let Some(reauth) = &self.reauth {
            map.insert("maxAge".into(), reauth.max_age.into());
            map.insert(
                "authenticatedAt".into(),
                rfc3339(reauth.authenticated_at_ms).into(),
            );
        }
        serde_json::Value::Object(map)
    }

    /// The serialized body.
    pub fn body(&self) -> Vec<u8> {
        // Serializing a `Value` of strings and numbers cannot fail; fall back
        // to a minimal body rather than panic anyway.
        serde_json::to_vec(&self.to_json())
            .unwrap_or_else(|_| format!(r#"{{"code":"{}"}}"#, self.code.as_str()).into_bytes())
    }

    /// The full response: status, `Content-Type: application/problem+json`
    /// and the headers of [`Problem::add_headers`].
    pub fn to_response(&self) -> Response<Vec<u8>> {
        let mut res = Response::new(self.body());
        *res.status_mut() = self.code.status();
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        self.add_headers(res.headers_mut());
        res
    }

    /// The headers of this problem's answer, whatever its body:
    /// `Cache-Control: no-store`, `Allow` on a 405, `Retry-After` on a 429,
    /// and `WWW-Authenticate` on a 401: `Bearer` (with
    /// `error="invalid_token"` per RFC 6750 for bad or expired tokens), or
    /// RFC 9470's for a bearer request that must sign in again.
    pub fn add_headers(&self, h: &mut http::HeaderMap) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
            h.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(reauth) = self.reauth.filter(|r| r.bearer) {
            let value = format!(
                r#"Bearer error="insufficient_user_authentication", max_age="{}""#,
                reauth.max_age
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                h.insert(WWW_AUTHENTICATE, value);
            }
        }
        match self.code {
            ErrorCode::Unauthorized => {
                h.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ErrorCode::InvalidToken | ErrorCode::SessionExpired => {
                h.insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            _ => {}
        }
        if self.code == ErrorCode::MethodNotAllowed {
            if let Some(v) = self
                .allow
                .as_deref()
                .and_then(|a| HeaderValue::from_str(a).ok())
            {
                h.insert(ALLOW, v);
            }
        }
    }
}

impl From<ErrorCode> for Problem {
    fn from(code: ErrorCode) -> Problem {
        Problem::new(code, code.default_detail())
    }
}

impl From<SessionError> for Problem {
    /// The contract's answer to each failure of the session service.
    fn from(error: SessionError) -> Problem {
        match error {
            SessionError::InvalidToken => ErrorCode::InvalidToken.into(),
            SessionError::Expired => ErrorCode::SessionExpired.into(),
            SessionError::NotFound => Problem::new(ErrorCode::NotFound, "no such session"),
            SessionError::Invalid(e) => Problem::invalid_field(&e.field, &e.reason),
            SessionError::Forbidden { field } => Problem::forbidden_field(
                field,
                "is written only by the origin (X-Session-Issue) and the admin API",
            ),
            // What failed inside is for the logs, not for clients.
            SessionError::Store(_) | SessionError::Random => ErrorCode::StoreUnavailable.into(),
            SessionError::RateLimited(secs) => Problem::rate_limited(
                secs,
                "Too many sessions were created for this user lately: try again later.",
            ),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code,
            self.code.status().as_u16(),
            self.detail
        )
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn body_json(res: &Response<Vec<u8>>) -> Value {
        serde_json::from_slice(res.body()).expect("problem body is JSON")
    }

    #[test]
    fn codes_match_the_contract_exactly() {
        let expected = [
            ("invalid_request", 400),
            ("payload_too_large", 413),
            ("unsupported_media_type", 415),
            ("method_not_allowed", 405),
            ("not_found", 404),
            ("unauthorized", 401),
            ("invalid_token", 401),
            ("session_expired", 401),
            ("reauthentication_required", 401),
            ("forbidden", 403),
            ("csrf", 403),
            ("rate_limited", 429),
            ("admin_disabled", 503),
            ("misconfigured", 503),
            ("store_unavailable", 503),
            ("origin_unavailable", 502),
        ];
        assert_eq!(ErrorCode::ALL.len(), expected.len());
        for (code, (name, status)) in ErrorCode::ALL.iter().zip(expected) {
            assert_eq!(code.as_str(), name);
            assert_eq!(code.status().as_u16(), status, "{name}");
            assert_eq!(ErrorCode::parse(name), Some(*code));
            assert_eq!(code.to_string(), name);
            assert_eq!(serde_json::to_value(code).unwrap(), json!(name));
            assert!(!code.title().is_empty());
            assert!(!code.default_detail().is_empty());
        }
        assert_eq!(ErrorCode::parse("Invalid_Token"), None);
        assert_eq!(ErrorCode::parse(""), None);
    }

    #[test]
    fn titles_are_distinct() {
        let mut titles: Vec<_> = ErrorCode::ALL.iter().map(|c| c.title()).collect();
        titles.sort();
        titles.dedup();
        assert_eq!(titles.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn body_has_exactly_the_rfc9457_members() {
        let p = Problem::new(ErrorCode::InvalidToken, "The token is not valid.");
        let v = p.to_json();
        assert_eq!(
            v,
            json!({
                "type": "https://edge-session.dev/problems/invalid_token",
                "title": "Invalid token",
                "status": 401,
                "detail": "The token is not valid.",
                "code": "invalid_token",
            })
        );
        let parsed: Value = serde_json::from_slice(&p.body()).unwrap();
        assert_eq!(parsed, v);
    }

    #[test]
    fn invalid_field_names_the_field() {
        let p = Problem::invalid_field("userId", "must be 1..256 bytes");
        assert_eq!(p.code, ErrorCode::InvalidRequest);
        let v = p.to_json();
        assert_eq!(v["field"], "userId");
        assert_eq!(v["detail"], "userId: must be 1..256 bytes");
        assert_eq!(v["status"], 400);
        assert_eq!(v.as_object().unwrap().len(), 6);
    }

    #[test]
    fn response_headers() {
        let res = Problem::from(ErrorCode::StoreUnavailable).to_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        assert!(res.headers().get(ALLOW).is_none());
        assert!(res.headers().get(WWW_AUTHENTICATE).is_none());
        let v = body_json(&res);
        assert_eq!(v["code"], "store_unavailable");
        assert_eq!(v["status"], 503);
        assert_eq!(v["detail"], ErrorCode::StoreUnavailable.default_detail());
    }

    #[test]
    fn method_not_allowed_sets_allow() {
        let res = Problem::method_not_allowed(&["GET", "PATCH", "DELETE"]).to_response();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers()[ALLOW], "GET, PATCH, DELETE");
        assert_eq!(body_json(&res)["code"], "method_not_allowed");
    }

    #[test]
    fn allow_is_only_sent_on_405_and_bad_values_are_dropped() {
        let mut p = Problem::from(ErrorCode::NotFound);
        p.allow = Some("GET".into());
        assert!(p.to_response().headers().get(ALLOW).is_none());
        let mut p = Problem::method_not_allowed(&["GET"]);
        p.allow = Some("GET\r\nX-Evil: 1".into());
        let res = p.to_response();
        assert!(res.headers().get(ALLOW).is_none());
        assert!(res.headers().get("x-evil").is_none());
    }

    #[test]
    fn unauthorized_family_sets_www_authenticate() {
        let r = Problem::from(ErrorCode::Unauthorized).to_response();
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Bearer");
        for code in [ErrorCode::InvalidToken, ErrorCode::SessionExpired] {
            let r = Problem::from(code).to_response();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                r.headers()[WWW_AUTHENTICATE],
                r#"Bearer error="invalid_token""#
            );
        }
    }

    #[test]
    fn every_code_renders_a_consistent_response() {
        for &code in ErrorCode::ALL {
            let res = Problem::from(code).to_response();
            let v = body_json(&res);
            assert_eq!(res.status(), code.status());
            assert_eq!(v["status"], code.status().as_u16());
            assert_eq!(v["code"], code.as_str());
            assert_eq!(v["title"], code.title());
            assert_eq!(v["type"], format!("{PROBLEM_TYPE_BASE}{}", code.as_str()));
        }
    }

    #[test]
    fn details_and_fields_are_bounded_and_escaped() {
        let long = "é".repeat(1000);
        let p = Problem::new(ErrorCode::InvalidRequest, long.clone());
        assert!(p.detail.len() <= MAX_DETAIL_BYTES);
        assert!(p.detail.len() > MAX_DETAIL_BYTES - 4);
        let p = Problem::invalid_field(&long, "bad");
        assert!(p.field.as_ref().unwrap().len() <= MAX_FIELD_BYTES);
        assert!(p.detail.len() <= MAX_DETAIL_BYTES);
        // Quotes and control characters stay inside the JSON string.
        let p = Problem::new(ErrorCode::InvalidRequest, "a\"b\n}{");
        let v: Value = serde_json::from_slice(&p.body()).unwrap();
        assert_eq!(v["detail"], "a\"b\n}{");
    }

    #[test]
    fn display_is_loggable() {
        let p = Problem::new(ErrorCode::Csrf, "Origin not allowed.");
        assert_eq!(p.to_string(), "csrf (403): Origin not allowed.");
    }
}
