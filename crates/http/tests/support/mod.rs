//! Fixtures shared by the http crate's tests and its bench (which includes
//! this file by path): a configuration from vars, and request heads.
#![allow(dead_code)]

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use session_http::config::{Config, ConfigError};
use session_http::http_url::HttpUrl;
use session_http::request::RequestHead;

/// A `TOKEN_KEYS` with one 32-byte key, `k1`.
pub const TOKEN_KEYS: &str = "k1:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=";
/// An `ADMIN_KEY`.
pub const ADMIN_KEY: &str = "admin-key-for-tests-0123456789";

/// The configuration of `base` vars with `overrides` applied (an empty
/// override value unsets the var).
pub fn try_config(
    base: &[(&str, &str)],
    overrides: &[(&str, &str)],
) -> Result<Config, ConfigError> {
    let mut vars: HashMap<String, String> = base
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (k, v) in overrides {
        if v.is_empty() {
            vars.remove(*k);
        } else {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
    }
    Config::from_vars(|k| vars.get(k).cloned())
}

/// [`try_config`] that must succeed.
pub fn config(base: &[(&str, &str)], overrides: &[(&str, &str)]) -> Config {
    try_config(base, overrides).unwrap_or_else(|e| panic!("configuration: {e}"))
}

/// A request head for `method url` with `headers` (in order, repeats kept).
pub fn head(method: &str, url: &str, headers: &[(&str, &str)]) -> RequestHead {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    RequestHead::new(
        Method::from_bytes(method.as_bytes()).expect("method"),
        HttpUrl::parse(url).expect("url"),
        map,
        None,
    )
}
