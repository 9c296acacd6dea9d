//! Forwarding a guarded request to the origin, body streamed both ways, and
//! finishing the origin's answer.

use js_sys::Array;
use session_http::guard::{Finish, Forward};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Request, Response};

use crate::http::bytes_to_byte_string;
use crate::js;

/// Sends the request on to `forward.url` with the guard's headers, the
/// request's own method (any token, `MKCOL` or `PROPFIND` too) and the
/// original body stream. Redirects are passed back to the client, not
/// followed. The answer is the origin's `Response` as fetched.
pub async fn forward(req: &Request, forward: &Forward) -> Result<JsValue, JsValue> {
    let headers: Vec<(&str, String)> = forward
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), bytes_to_byte_string(value.as_bytes())))
        .collect();
    let lines = js::lines(headers.iter().map(|(n, v)| (*n, v.as_str())));
    let promise = js::forward(req.inner().as_ref(), forward.url.as_str(), &lines)?;
    JsFuture::from(promise).await
}

/// The handoff headers of the origin's answer, as `finish` reads them.
pub fn handoff_headers(response: &JsValue) -> String {
    js::handoff_lines(response)
}

/// The origin's answer with what `finish` said applied: passed through as it
/// came when no header must change.
pub fn finished(response: JsValue, finish: &Finish) -> Result<Response, JsValue> {
    let remove: Array = finish
        .remove_headers
        .iter()
        .map(|n| JsValue::from_str(n))
        .collect();
    let cookies: Array = finish
        .set_cookies
        .iter()
        .map(|c| JsValue::from_str(c))
        .collect();
    let response = js::finish_response(&response, &remove, &cookies)?;
    Ok(Response::from(
        response.unchecked_into::<web_sys::Response>(),
    ))
}
