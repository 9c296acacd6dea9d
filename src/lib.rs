//! The Worker entry point: turns requests into calls on the pure core and the
//! core's answers into responses. Everything with logic lives in `crates/`.

pub mod platform;

use worker::*;

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::ok("edge-session")
}
