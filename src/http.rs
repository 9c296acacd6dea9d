//! Conversions between the Workers runtime's requests and responses and the
//! `http` types the pure crates work with.

use std::borrow::Cow;

use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use session_http::request::RequestHead;

/// An incoming request as the pure crates see it.
pub struct Incoming {
    pub head: RequestHead,
    /// Names of the headers left out of `head` because `http` cannot read
    /// them (a value with a control byte, which the runtime does hand
    /// over): never seen by the guard, so never forwarded either
    /// ([`session_http::guard::HeaderPlan::remove_unread`]).
    pub unread: Vec<String>,
}

/// The head of an incoming request, read in one crossing
/// ([`crate::js::request_lines`]), and the headers it leaves out.
pub fn read_request(inner: &web_sys::Request) -> worker::Result<Incoming> {
    let lines = crate::js::request_lines(inner.as_ref());
    let mut parts = lines.splitn(4, '\n');
    let (Some(method), Some(url), Some(country), Some(headers)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(worker::Error::RustError("unreadable request".into()));
    };
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| worker::Error::RustError("unsupported method".into()))?;
    let url = session_http::http_url::HttpUrl::parse(url)
        .map_err(|e| worker::Error::RustError(format!("request URL {e}")))?;
    let mut map = HeaderMap::new();
    let mut unread = Vec::new();
    for (name, value) in crate::js::pairs(headers) {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&byte_string_to_bytes(value)),
        ) {
            (Ok(name), Ok(value)) => {
                map.append(name, value);
            }
            _ => unread.push(name.to_owned()),
        }
    }
    let country = (!country.is_empty()).then(|| country.to_owned());
    Ok(Incoming {
        head: RequestHead::new(method, url, map, country),
        unread,
    })
}

/// The bytes of a header value as the runtime hands it: a JS ByteString,
/// one char per byte (U+0000..=U+00FF). Header bytes that are not ASCII (a
/// cookie `name=José` sent as UTF-8) thus survive the trip through Rust.
/// ASCII, the usual case, is its own bytes: no copy.
fn byte_string_to_bytes(value: &str) -> Cow<'_, [u8]> {
    if value.is_ascii() {
        return Cow::Borrowed(value.as_bytes());
    }
    Cow::Owned(
        value
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect(),
    )
}

/// The inverse of [`byte_string_to_bytes`]: bytes as a JS ByteString
/// (borrowed when they are ASCII).
pub fn bytes_to_byte_string(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.is_ascii() => Cow::Borrowed(text),
        _ => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

/// A header map as `name\nvalue\n…` (see [`crate::js`]), repeated headers
/// and non-ASCII bytes kept.
pub fn header_lines(map: &HeaderMap) -> String {
    let values: Vec<(&str, Cow<'_, str>)> = map
        .iter()
        .map(|(name, value)| (name.as_str(), bytes_to_byte_string(value.as_bytes())))
        .collect();
    crate::js::lines(values.iter().map(|(n, v)| (*n, v.as_ref())))
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
