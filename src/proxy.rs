//! Forwarding a guarded request to the origin, body streamed both ways.

use session_http::guard::Forward;
use wasm_bindgen::JsValue;
use worker::{Fetch, Request, RequestInit, RequestRedirect, Response};

use crate::http::to_worker_headers;

/// Sends the request on to `forward.url` with the guard's headers and the
/// original body stream; redirects are passed back to the client, not followed.
pub async fn forward(req: &Request, forward: &Forward) -> worker::Result<Response> {
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(to_worker_headers(&forward.headers)?)
        .with_redirect(RequestRedirect::Manual)
        .with_body(req.inner().body().map(JsValue::from));
    let outgoing = Request::new_with_init(forward.url.as_str(), &init)?;
    let response = Fetch::Request(outgoing).send().await?;
    // A fetched response's headers are immutable: copy them to edit them.
    let headers = web_sys::Headers::new_with_headers(&response.headers().0)?;
    Ok(response.with_headers(worker::Headers(headers)))
}
