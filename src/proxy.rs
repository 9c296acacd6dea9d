//! Forwarding a guarded request to the origin, body streamed both ways.

use session_http::guard::Forward;
use worker::{Fetch, Request, Response};

use crate::http::to_worker_headers;

/// Sends the request on to `forward.url` with the guard's headers, the
/// request's own method (any token, `MKCOL` or `PROPFIND` too: the `worker`
/// crate's `Method` enum would turn those into GET) and the original body
/// stream. Redirects are passed back to the client, not followed.
pub async fn forward(req: &Request, forward: &Forward) -> worker::Result<Response> {
    let init = web_sys::RequestInit::new();
    init.set_method(&req.inner().method());
    init.set_headers(&to_worker_headers(&forward.headers)?.0);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(body) = req.inner().body() {
        init.set_body(&body);
    }
    let outgoing = web_sys::Request::new_with_str_and_init(forward.url.as_str(), &init)?;
    let response = Fetch::Request(Request::from(outgoing)).send().await?;
    // A fetched response's headers are immutable: copy them to edit them.
    let headers = web_sys::Headers::new_with_headers(&response.headers().0)?;
    Ok(response.with_headers(worker::Headers(headers)))
}
