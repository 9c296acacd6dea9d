//! Forwarding a guarded request to the origin, body streamed both ways, and
//! finishing the origin's answer.

use js_sys::Array;
use session_http::guard::{Finish, Forward};
use wasm_bindgen::JsValue;

use crate::http::bytes_to_byte_string;
use crate::js;

/// Sends the request on to `forward.url` with its own headers changed as
/// the guard's plan says (copied natively, then the plan's removals and
/// additions, or built in one pass when the plan says to rebuild:
/// [`session_http::guard::HeaderPlan`]), the request's own
/// method (any token, `MKCOL` or `PROPFIND` too) and the original body
/// stream. Redirects are passed back to the client, not followed. The
/// answer is the origin's `Response` as fetched.
pub async fn forward(req: &web_sys::Request, forward: &Forward) -> Result<JsValue, JsValue> {
    let plan = &forward.headers;
    let mut remove = String::new();
    for name in plan.remove() {
        remove.push_str(name);
        remove.push('\n');
    }
    let add: Vec<(&str, std::borrow::Cow<'_, str>)> = plan
        .add()
        .iter()
        .map(|(name, value)| (name.as_str(), bytes_to_byte_string(value.as_bytes())))
        .collect();
    let add = js::lines(add.iter().map(|(n, v)| (*n, v.as_ref())));
    let promise = js::forward(
        req.as_ref(),
        forward.url.as_str(),
        &remove,
        &add,
        plan.rebuild(),
    )?;
    crate::promise::settled(&promise).await
}

/// The handoff headers of the origin's answer, as `finish` reads them.
pub fn handoff_headers(response: &JsValue) -> String {
    js::handoff_lines(response)
}

/// The origin's answer with what `finish` said applied (a response given a
/// session cookie made private: [`Finish::cache_control`]): passed through
/// as it came when no header must change.
pub fn finished(response: JsValue, finish: &Finish) -> Result<web_sys::Response, JsValue> {
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
    let cache_control = finish.cache_control(|| js::response_header(&response, "cache-control"));
    js::finish_response(&response, &remove, &cookies, cache_control)
}
