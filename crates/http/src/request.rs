//! The head of an incoming request: what the pure crates see of it.

use std::cell::OnceCell;

use crate::http_url::HttpUrl;
use http::{HeaderMap, Method};
use session_core::{Actor, ClientInfo, Context};

/// The head of an incoming request, as the Worker received it. `Debug`
/// shows header names only: `Cookie` and `Authorization` carry tokens.
#[derive(Clone)]
pub struct RequestHead {
    pub method: Method,
    pub url: HttpUrl,
    pub headers: HeaderMap,
    /// `request.cf.country`, when the platform knows it.
    pub country: Option<String>,
    /// The `Cookie` lines as one value, when that needs a copy (several
    /// lines, or bytes that are not UTF-8), made on first use.
    cookies: OnceCell<Option<String>>,
}

impl std::fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &names)
            .field("country", &self.country)
            .finish()
    }
}

impl RequestHead {
    pub fn new(method: Method, url: HttpUrl, headers: HeaderMap, country: Option<String>) -> Self {
        Self {
            method,
            url,
            headers,
            country,
            cookies: OnceCell::new(),
        }
    }

    /// A header's value as text; `None` when absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The request's `Cookie` lines as one value, joined with `; ` as
    /// RFC 9113 §8.2.3 joins HTTP/2 cookie crumbs. Read leniently: an app's
    /// cookie holding non-ASCII bytes (`name=José`) must not hide the session
    /// cookie beside it, whose value is ASCII.
    pub fn cookie_header(&self) -> Option<&str> {
        let mut lines = self.headers.get_all(http::header::COOKIE).iter();
        if let (Some(line), None) = (lines.next(), lines.next()) {
            // The usual case, one line of UTF-8: no copy.
            if let Ok(text) = std::str::from_utf8(line.as_bytes()) {
                return Some(text);
            }
        }
        self.cookies
            .get_or_init(|| {
                let values: Vec<_> = self
                    .headers
                    .get_all(http::header::COOKIE)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()))
                    .collect();
                (!values.is_empty()).then(|| values.join("; "))
            })
            .as_deref()
    }

    /// What this request tells the events of the changes it makes, made by
    /// `actor`: its client's address (`CF-Connecting-IP`, cut to its
    /// network), country and ray id (`CF-Ray`).
    pub fn context(&self, actor: Actor) -> Context {
        Context::new(actor).from_request(
            self.header("cf-connecting-ip"),
            self.country.as_deref(),
            self.header("cf-ray"),
        )
    }

    /// The client facts recorded on sessions created for this request.
    pub fn client(&self) -> ClientInfo {
        ClientInfo::new(self.header("user-agent"), self.country.as_deref())
    }
}
