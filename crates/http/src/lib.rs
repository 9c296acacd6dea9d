//! The HTTP policy of edge-session, pure and natively testable. Nothing here
//! knows about `worker` or JavaScript.
//!
//! - [`config`]: every var and secret, parsed once into typed values.
//! - [`app`]: one request's view: the configuration and the session service.
//! - [`request`]: the head of an incoming request.
//! - [`auth`]: how a request proves who it is (token, CSRF, verification).
//! - [`cookie`], [`bearer`]: reading, setting and stripping credentials.
//! - [`csrf`], [`cors`]: the `Origin` check, CORS of the session API.
//! - [`identity`]: the `X-Session-*` headers and the headers stripped.
//! - [`assertion`]: the signed identity assertion, its keys and JWKS
//!   ([`key_der`]: the DER of its keys).
//! - [`rules`]: `GUARD_RULES`, patterns and path readings.
//! - [`guard`]: the guard's decisions, and [`guard::handoff`], what the
//!   origin's answer does.
//! - [`api`]: the session API.
//! - [`problem`]: RFC 9457 error answers, one table of codes; [`page`]: the
//!   HTML page a refused browser navigation gets instead.
//! - [`ratelimit`]: the rate limits, their keys and answers.
//! - [`syntax`]: pieces of the HTTP grammar; [`http_url`]: absolute http(s) URLs.

pub mod api;
pub mod app;
pub mod assertion;
pub mod auth;
pub mod bearer;
pub mod config;
pub mod cookie;
pub mod cors;
pub mod csrf;
pub mod guard;
pub mod http_url;
pub mod identity;
pub mod key_der;
pub mod page;
pub mod problem;
pub mod ratelimit;
pub mod request;
pub mod rules;
pub mod syntax;
