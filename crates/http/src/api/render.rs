//! Rendering the API's answers: JSON bodies, empty answers, cookies, the
//! OpenAPI document and the JWKS of the identity assertion.

use http::{header, HeaderValue, Response, StatusCode};
use serde_json::Value;

/// The OpenAPI 3.1 document of this API (`openapi.json`, minified by
/// `build.rs`), with paths under the default prefix.
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.min.json"));
/// The prefix the paths of [`OPENAPI_JSON`] are written with.
pub const OPENAPI_PREFIX: &str = "/auth";

pub(super) fn summaries(list: &[session_core::Summary]) -> Vec<Value> {
    list.iter().map(|s| s.to_json()).collect()
}

pub(super) fn json(status: StatusCode, value: &Value) -> Response<Vec<u8>> {
    let mut response = Response::new(serde_json::to_vec(value).unwrap_or_default());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn empty(status: StatusCode) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn with_cookie(mut response: Response<Vec<u8>>, cookie: &str) -> Response<Vec<u8>> {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The public keys of `ASSERTION_KEYS` (`{"keys": []}` without any),
/// cacheable for 5 minutes: see the README's rotation steps.
pub(super) fn jwks(keys: Option<&crate::assertion::AssertionKeys>) -> Response<Vec<u8>> {
    let mut response = json(StatusCode::OK, &crate::assertion::jwks(keys));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(crate::assertion::JWKS_CACHE_CONTROL),
    );
    response
}

/// The OpenAPI document with its paths moved under the configured prefix.
pub(super) fn openapi(prefix: &str) -> Response<Vec<u8>> {
    let mut doc: Value = serde_json::from_str(OPENAPI_JSON).unwrap_or(Value::Null);
    if prefix != OPENAPI_PREFIX {
        if let Some(Value::Object(paths)) = doc.get_mut("paths") {
            // Inserted one by one: `collect` into the map would sort, and
            // bring a copy of the sort into the wasm for this alone.
            for (path, item) in std::mem::take(paths) {
                let moved = match path.strip_prefix(OPENAPI_PREFIX) {
                    Some(rest) => format!("{prefix}{rest}"),
                    None => path,
                };
                paths.insert(moved, item);
            }
        }
    }
    let mut response = json(StatusCode::OK, &doc);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
