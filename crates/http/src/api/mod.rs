//! The session API mounted at `API_PREFIX` (contract §4, §5, §7). Handlers
//! are thin: they read their input ([`input`]), authenticate
//! ([`crate::auth`]), run one [`Op`](session_core::Op) and render ([`render`]); every failure is a problem+json with the
//! contract's code ([`crate::problem`]).
//!
//! The Worker reads the body (at most [`MAX_BODY_BYTES`], answering 413 above
//! that before any parsing) and hands it here with the request head.

mod admin;
mod input;
mod render;
mod routes;
mod self_service;

pub use input::DEFAULT_LIST_LIMIT;
pub use render::{OPENAPI_JSON, OPENAPI_PREFIX};
pub use routes::ROUTES;

use http::Response;
use session_core::Sessions;

use crate::app::App;
use crate::auth::authenticate;
use crate::cors;
use crate::problem::{ErrorCode, Problem};
use crate::request::RequestHead;
use routes::Route;

/// Largest request body the API accepts (413 `payload_too_large` above).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

type Answer = Result<Response<Vec<u8>>, Problem>;

/// Answers a request whose path is below `API_PREFIX/`. Never panics, never
/// answers 500: every failure is a problem+json with the contract's code.
pub async fn handle<O: Sessions>(
    app: &App<'_, O>,
    head: &RequestHead,
    body: &[u8],
) -> Response<Vec<u8>> {
    let config = app.config();
    let origin = head.header("origin");
    if cors::is_preflight(
        head.method.as_str(),
        origin,
        head.header("access-control-request-method"),
    ) {
        return cors::preflight_response(origin, &config.allowed_origins);
    }
    let subpath = config.api_subpath(head.url.path()).unwrap_or("/");
    let mut response = match route(app, head, subpath, body).await {
        Ok(response) => response,
        Err(problem) => problem.to_response(),
    };
    cors::apply(
        response.headers_mut(),
        cors::cors_headers(origin, &config.allowed_origins),
    );
    response
}

async fn route<O: Sessions>(
    app: &App<'_, O>,
    head: &RequestHead,
    subpath: &str,
    body: &[u8],
) -> Answer {
    let route = Route::parse(subpath)
        .ok_or_else(|| Problem::new(ErrorCode::NotFound, "no such route of the session API"))?;
    let methods = route.methods();
    if !methods.contains(&head.method.as_str()) {
        return Err(Problem::method_not_allowed(methods));
    }
    match route {
        Route::OpenApi => Ok(render::openapi(&app.config().api_prefix)),
        Route::Jwks => Ok(render::jwks(app.config().assertion.keys.as_deref())),
        Route::Session | Route::Refresh | Route::Sessions | Route::SessionById(_) => {
            let me = authenticate(app, head).await.map_err(|e| e.problem())?;
            self_service::answer(app, head, &me, &route, body).await
        }
        _ => admin::answer(app, head, &route, body).await,
    }
}
