//! Conversions between the Workers runtime's requests and responses and the
//! `http` types the pure crates work with.

use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use session_http::request::RequestHead;
use wasm_bindgen::JsValue;

/// The head of an incoming request. Headers that are not valid HTTP are
/// dropped (the runtime never hands such, but nothing here may panic).
pub fn request_head(inner: &web_sys::Request) -> worker::Result<RequestHead> {
    let method = Method::from_bytes(inner.method().as_bytes())
        .map_err(|_| worker::Error::RustError("unsupported method".into()))?;
    let url = session_http::http_url::HttpUrl::parse(&inner.url())
        .map_err(|e| worker::Error::RustError(format!("request URL {e}")))?;
    let mut headers = HeaderMap::new();
    // One crossing for all the headers (see crate::js).
    for (name, value) in crate::js::pairs(&crate::js::header_lines(&inner.headers())) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&byte_string_to_bytes(value)),
        ) {
            headers.append(name, value);
        }
    }
    Ok(RequestHead::new(
        method,
        url,
        headers,
        cf_country(inner.as_ref()),
    ))
}

/// The bytes of a header value as the runtime hands it: a JS ByteString,
/// one char per byte (U+0000..=U+00FF). Header bytes that are not ASCII (a
/// cookie `name=José` sent as UTF-8) thus survive the trip through Rust.
fn byte_string_to_bytes(value: &str) -> Vec<u8> {
    value
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// The inverse of [`byte_string_to_bytes`]: bytes as a JS ByteString.
pub fn bytes_to_byte_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `request.cf.country`: the two-letter country Cloudflare saw the client in.
/// Read through `Reflect` so an absent or odd `cf` object is just `None`.
pub fn cf_country(request: &JsValue) -> Option<String> {
    let cf = js_sys::Reflect::get(request, &JsValue::from_str("cf")).ok()?;
    if !cf.is_object() {
        return None;
    }
    js_sys::Reflect::get(&cf, &JsValue::from_str("country"))
        .ok()?
        .as_string()
}

/// A header map as `name\nvalue\n…` (see [`crate::js`]), repeated headers
/// and non-ASCII bytes kept.
pub fn header_lines(map: &HeaderMap) -> String {
    let values: Vec<(&str, String)> = map
        .iter()
        .map(|(name, value)| (name.as_str(), bytes_to_byte_string(value.as_bytes())))
        .collect();
    crate::js::lines(values.iter().map(|(n, v)| (*n, v.as_str())))
}

/// A response of the pure crates as the runtime's response, made in one
/// call. Statuses that cannot carry a body (204, 304) get none.
pub fn to_js_response(response: http::Response<Vec<u8>>) -> worker::Result<web_sys::Response> {
    let (parts, body) = response.into_parts();
    let status = parts.status.as_u16();
    let body = (!body.is_empty() && !matches!(status, 204 | 304))
        .then(|| js_sys::Uint8Array::from(body.as_slice()));
    Ok(crate::js::make_response(
        status,
        &header_lines(&parts.headers),
        body,
    )?)
}

/// Why a body could not be read.
pub enum BodyError {
    TooLarge,
    Unreadable,
}

/// Most bytes of a refused body read and dropped before answering 413: a
/// runtime that answers while the client is still sending may reset the
/// connection instead of delivering the 413 (seen with local workerd).
const MAX_DRAIN_BYTES: usize = 1024 * 1024;

/// Reads the body, refusing more than `limit` bytes: the declared
/// `Content-Length` is checked first, then the bytes as they stream in, so a
/// large body is never buffered whole. A refused body is drained (up to
/// [`MAX_DRAIN_BYTES`], never stored) so the client reads the 413.
pub async fn read_body(raw: &web_sys::Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    if raw.body().is_none() {
        return Ok(Vec::new());
    }
    // Clone the JS reference (not `Request.clone()`, which tees the body).
    let mut req = worker::Request::from(<web_sys::Request as Clone>::clone(raw));
    let declared = req.headers().get("content-length").ok().flatten();
    let declared_too_large = declared
        .and_then(|n| n.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64);
    let mut stream = req.stream().map_err(|_| BodyError::Unreadable)?;
    let mut body = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err(if seen > limit || declared_too_large {
                BodyError::TooLarge
            } else {
                BodyError::Unreadable
            });
        };
        seen = seen.saturating_add(chunk.len());
        if seen > limit || declared_too_large {
            body = Vec::new();
            if seen > MAX_DRAIN_BYTES {
                break;
            }
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    if seen > limit || declared_too_large {
        return Err(BodyError::TooLarge);
    }
    Ok(body)
}
