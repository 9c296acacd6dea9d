//! The head of an incoming request: what the pure crates see of it.

use http::{HeaderMap, Method};
use session_core::ClientInfo;
use url::Url;

/// The head of an incoming request, as the Worker received it. `Debug`
/// shows header names only: `Cookie` and `Authorization` carry tokens.
#[derive(Clone)]
pub struct RequestHead {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    /// `request.cf.country`, when the platform knows it.
    pub country: Option<String>,
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
    /// A header's value as text; `None` when absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The request's `Cookie` headers as one string (HTTP/2 may split them).
    /// Read leniently: an app's cookie holding non-ASCII bytes (`name=José`)
    /// must not hide the session cookie beside it, whose value is ASCII.
    pub fn cookies(&self) -> Option<String> {
        let values: Vec<_> = self
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect();
        (!values.is_empty()).then(|| values.join("; "))
    }

    /// The client facts recorded on sessions created for this request.
    pub fn client(&self) -> ClientInfo {
        ClientInfo::new(self.header("user-agent"), self.country.as_deref())
    }
}
