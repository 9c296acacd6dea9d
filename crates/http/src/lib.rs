//! The HTTP policy of edge-session, pure and natively testable: configuration,
//! problem+json errors, cookies, guard rules, CSRF, CORS and the identity
//! headers. Nothing here knows about `worker` or JavaScript.
//!
//! - [`config`]: the vars and secrets, validated ([`config::Config`]).
//! - [`problem`]: RFC 9457 error answers ([`problem::Problem`]).
//! - [`rules`]: `GUARD_RULES` and path matching ([`rules::Rules`]).
//! - [`cookie`]: session cookie, bearer token, which one a request uses.
//! - [`csrf`]: the `Origin` check of cookie-authenticated unsafe requests.
//! - [`cors`]: CORS headers and preflights of the session API.
//! - [`identity`]: `X-Session-*` headers.
//! - [`guard`]: the guard's decisions for forwarded paths.
//! - [`handoff`]: the origin's `X-Session-Issue` / `X-Session-Revoke`.

pub mod api;
pub mod app;
pub mod config;
pub mod cookie;
pub mod cors;
pub mod csrf;
pub mod guard;
pub mod handoff;
pub mod identity;
pub mod problem;
pub mod request;
pub mod rules;
pub mod syntax;
