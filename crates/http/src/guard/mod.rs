//! The guard (contract section 6): what to do with a request to a path
//! outside `{API_PREFIX}/`, decided without seeing its body, and what to do
//! once the origin has answered.
//!
//! The Worker's part, in order:
//! 1. [`decide`]; on [`GuardDecision::Respond`], send it.
//! 2. When [`Forward::assertion`] waits for its signature, sign its
//!    [`Pending::signing_input`] with its key (ES256) and
//!    [`Forward::add_assertion`]; a signer that fails answers
//!    [`signing_failed`] (and [`abandon`]).
//! 3. Fetch [`Forward::url`] with the request's own headers changed as
//!    [`Forward::headers`] says ([`HeaderPlan`]: a native copy, a few
//!    removals and additions), the request's method and its body (streamed). Unreachable origin: [`abandon`], then 502
//!    `origin_unavailable`.
//! 4. [`finish`] with the origin response's headers ([`handoff`]); remove
//!    [`Finish::remove_headers`] from the response, append every
//!    [`Finish::set_cookies`] value, print [`Finish::logs`], send it.
//! 5. Run [`Finish::after`], when there is one, after the response
//!    (`waitUntil`): the sliding write.
//!
//! # Decisions, in order
//! 1. What the path requires from `GUARD_RULES`
//!    ([`crate::rules::Rules::requirement`]); a path rejected there answers
//!    400 `invalid_request`.
//! 2. Public: forwarded as is (minus client `X-Session-*` and override
//!    headers and our token), no KV call, even while `TOKEN_KEYS` is missing;
//!    a rule's `limit` counts it per client IP first.
//! 3. Otherwise the request is authenticated ([`crate::auth::authenticate`]):
//!    503 `misconfigured` or `store_unavailable` (fail closed), 401
//!    `unauthorized` / `invalid_token` / `session_expired`, 403 `csrf`; then
//!    `role:NAME` without NAME in `meta.roles` → 403 `forbidden`.
//! 4. A rule's `fresh: N`: a session whose `authenticatedAt` is more than
//!    N seconds old is refused, cookie kept ([`is_fresh`]): a browser
//!    navigation goes to `LOGIN_URL?next=…&reauth=1`, anything else gets
//!    401 `reauthentication_required` (with RFC 9470's `WWW-Authenticate`
//!    for a bearer request). No storage call: the session is the one read.
//! 5. A rule's `limit` counts the request per session user
//!    ([`crate::ratelimit`]): 429 `rate_limited` over it, nothing forwarded.
//! 6. Every 401 on a browser navigation (GET whose `Accept` holds
//!    `text/html`) becomes a 302 to `LOGIN_URL?next=…` when `LOGIN_URL` is
//!    set. A 401 (or 302) caused by an invalid or expired **cookie** also
//!    clears that cookie, so the browser stops sending a dead token.
//! 7. Any other refusal of a request whose `Accept` holds `text/html` is
//!    the small HTML page of [`crate::page`], with the same status and code.
//!
//! `decide` never writes: a due sliding write is claimed
//! ([`Forward::slide`]) and made after the response.
//!
//! # Identity headers
//! A request forwarded with a session carries `X-Session-Id`, `-User`,
//! `-Meta` and `-Auth-Time` unless `IDENTITY_HEADERS=assertion`, and
//! `X-Session-Assertion` whenever `ASSERTION_KEYS` is set
//! ([`crate::assertion`]): a session's recent one again, or one to sign.

pub mod handoff;
mod plan;

pub use handoff::{finish, AfterResponse, Finish, MAX_ISSUE_BYTES};
pub use plan::{HeaderPlan, MAX_DELETES};

use std::fmt;

use http::header::{HeaderValue, ACCEPT, CACHE_CONTROL, LOCATION, SET_COOKIE};
use http::{Method, Response, StatusCode};
use session_core::{Session, Sessions};

use crate::app::App;
use crate::assertion::{BadSignature, Pending, Signing};
use crate::auth::{authenticate, AuthError, Caller, TokenSource};
use crate::config::Config;
use crate::cookie::{clear_cookie, set_cookie};
use crate::identity::{identity_headers, IdentityHeaders, SESSION_ASSERTION_HEADER};
use crate::page;
use crate::problem::{ErrorCode, Problem, Reauth};
use crate::ratelimit::{client_key, user_key, Passed};
use crate::request::RequestHead;
use crate::rules::{Access, Requirement};

/// What the guard decided for one request.
// Built once per request and matched right away: boxing `Forward` would buy
// nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum GuardDecision {
    /// Answer the client with this response; the request is not forwarded.
    Respond(Response<Vec<u8>>),
    /// Forward the request to the origin.
    Forward(Forward),
}

/// Everything the Worker needs to forward a request, and what [`finish`]
/// needs after the origin answered. The body is not here: the Worker
/// streams it.
///
/// `Debug` shows header names only and redacts `set_cookie`, because with
/// `FORWARD_TOKEN=true` the headers carry the token.
#[derive(Clone)]
pub struct Forward {
    /// Where to send the request: `ORIGIN_URL` with the request's path and
    /// query, or the request's own URL when `ORIGIN_URL` is unset.
    pub url: String,
    /// The headers to send, as a plan over the request's own: minus every
    /// client-sent `X-Session-*` and override header and (unless
    /// `FORWARD_TOKEN=true`) the session cookie and an `Authorization`
    /// header carrying a session token, plus `X-Session-Id`, `-User`,
    /// `-Meta` and `-Auth-Time` when a session is attached (unless
    /// `IDENTITY_HEADERS=assertion`), and `X-Session-Assertion` once signed
    /// (see [`Forward::assertion`]).
    pub headers: HeaderPlan,
    /// The access the path required.
    pub access: Access,
    /// The verified session (`None` on public paths: they are forwarded
    /// without looking at the token).
    pub session: Option<Session>,
    /// How the session's token was presented.
    pub token_source: Option<TokenSource>,
    /// The session with its expiry slid forward, when sliding is due and this
    /// request claimed it (`SlideClaims::claim`).
    pub slide: Option<Session>,
    /// `Set-Cookie` re-issuing the session cookie with the new `Max-Age`
    /// (sliding on a cookie-authenticated request); [`finish`] passes it on
    /// while the sliding write still applies.
    pub set_cookie: Option<String>,
    /// The identity assertion still to be signed (`ASSERTION_KEYS` set and
    /// no recent one of this session to reuse): the request must not be
    /// forwarded before [`Forward::add_assertion`].
    pub assertion: Option<Pending>,
    /// Messages for `console.log` (a rate limiting binding that failed and
    /// let the request through); never tokens nor header values.
    pub logs: Vec<String>,
}

impl Forward {
    /// Puts the signed assertion in the headers: `pending` (taken from
    /// [`Forward::assertion`]) with the ES256 `signature` of its signing
    /// input (`r‖s`, 64 bytes).
    pub fn add_assertion(&mut self, pending: Pending, signature: &[u8]) -> Result<(), Problem> {
        let value = pending
            .complete(signature)
            .map_err(|BadSignature| signing_failed())?;
        self.headers.set(SESSION_ASSERTION_HEADER, value);
        Ok(())
    }
}

/// 503 `misconfigured`: the platform could not sign with the first key of
/// `ASSERTION_KEYS` (it refused the key, e.g. a public key that is not the
/// private key's). The request is not forwarded without its assertion.
pub fn signing_failed() -> Problem {
    Problem::new(
        ErrorCode::Misconfigured,
        "ASSERTION_KEYS: the signing key could not be used to sign the identity assertion \
(is its public key the private key's?)",
    )
}

impl fmt::Debug for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forward")
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("access", &self.access)
            .field("session", &self.session.as_ref().map(|s| s.id.as_str()))
            .field("token_source", &self.token_source)
            .field("slide", &self.slide.as_ref().map(|s| s.lifetime.expires_at))
            .field(
                "set_cookie",
                &self.set_cookie.as_ref().map(|_| "<redacted>"),
            )
            .field("assertion", &self.assertion)
            .finish()
    }
}

/// Why a guarded request on a local server without `ORIGIN_URL` is refused.
pub const SELF_LOOP: &str = "ORIGIN_URL is not set, so this request would be forwarded to its own \
host, which on a local server is this Worker itself: set ORIGIN_URL to your application's URL";

/// Decides what to do with a request to a guarded path (any path outside
/// `{API_PREFIX}/`; the API router handles those). See the module docs.
///
/// KV cost: none on public paths, for requests without a token, for CSRF
/// refusals and for malformed or forged tokens; exactly one read otherwise.
/// Never writes. A rule's `fresh` costs nothing more; its `limit`, one call
/// of its rate limiting binding.
pub async fn decide<O: Sessions>(app: &App<'_, O>, head: &RequestHead) -> GuardDecision {
    let config = app.config();
    let requirement = match config
        .rules
        .requirement(head.method.as_str(), head.url.path())
    {
        Ok(requirement) => requirement,
        Err(rejection) => {
            return respond(
                head,
                Problem::new(ErrorCode::InvalidRequest, rejection.to_string()),
            )
        }
    };
    let access = requirement.access.clone();
    let url = match config.upstream_url(&head.url) {
        Some(url) => url,
        // No ORIGIN_URL: on Cloudflare the route's own origin answers, but
        // a local server has none and would send the request back to this
        // Worker (which strips the token and answers a puzzling 401).
        None if head.url.is_loopback() => {
            return respond(head, Problem::new(ErrorCode::Misconfigured, SELF_LOOP))
        }
        None => head.url.as_str().to_owned(),
    };
    let mut headers = HeaderPlan::of(config, &head.headers);
    let mut logs = Vec::new();
    if access == Access::Public {
        if let Err(problem) = count(app, &requirement, || client_key(head), &mut logs).await {
            return respond(head, problem);
        }
        return GuardDecision::Forward(Forward {
            url,
            headers,
            access,
            session: None,
            token_source: None,
            slide: None,
            set_cookie: None,
            assertion: None,
            logs,
        });
    }

    let caller = match authenticate(app, head).await {
        Ok(caller) => caller,
        Err(AuthError::NoToken) => return deny(config, head, ErrorCode::Unauthorized, false),
        Err(AuthError::Rejected { code, by_cookie }) => return deny(config, head, code, by_cookie),
        Err(e @ (AuthError::Csrf | AuthError::Unavailable(_))) => {
            return respond(head, e.problem())
        }
    };
    if let Access::Role(role) = &access {
        if !caller.session.has_role(role) {
            return respond(
                head,
                Problem::new(
                    ErrorCode::Forbidden,
                    "The session does not have the role this path requires.",
                ),
            );
        }
    }
    if let Some(max_age) = requirement.fresh {
        if !is_fresh(&caller.session, max_age, app.now_ms()) {
            return reauthenticate(config, head, &caller, max_age);
        }
    }
    let user = || user_key(config.layout.prefix(), &caller.session.user_id);
    if let Err(problem) = count(app, &requirement, user, &mut logs).await {
        return respond(head, problem);
    }

    let now_ms = app.now_ms();
    // At most one request per session and isolate makes the sliding write.
    let slide = app.claims().claim(&caller.session);
    let set_cookie = match &slide {
        Some(next) if caller.source == TokenSource::Cookie => Some(set_cookie(
            &config.cookie_name,
            caller.token,
            next.seconds_to_expiry(now_ms),
        )),
        _ => None,
    };
    if config.identity_headers == IdentityHeaders::Plain {
        for (name, value) in identity_headers(&caller.session) {
            headers.set(name, value);
        }
    }
    let assertion = match config.assertion.prepare(
        &head.url,
        config.origin_url.as_ref(),
        &caller.session,
        now_ms,
    ) {
        Some(Signing::Ready(value)) => {
            headers.set(SESSION_ASSERTION_HEADER, value);
            None
        }
        Some(Signing::Pending(pending)) => Some(pending),
        None => None,
    };
    GuardDecision::Forward(Forward {
        url,
        headers,
        access,
        session: Some(caller.session),
        token_source: Some(caller.source),
        slide,
        set_cookie,
        assertion,
        logs,
    })
}

/// Whether `session`'s user proved who they are at most `max_age` seconds
/// before `now_ms` (a rule's `fresh`): at exactly `max_age` seconds it is,
/// a millisecond later it is not.
pub fn is_fresh(session: &Session, max_age: u64, now_ms: i64) -> bool {
    let age_ms = i128::from(now_ms) - i128::from(session.lifetime.authenticated_at);
    age_ms <= i128::from(max_age) * 1000
}

/// A valid session too old for the rule's `fresh`: a browser navigation
/// goes to the login page with `reauth=1` (when `LOGIN_URL` is set),
/// anything else gets 401 `reauthentication_required`. The cookie is kept.
fn reauthenticate(
    config: &Config,
    head: &RequestHead,
    caller: &Caller<'_>,
    max_age: u64,
) -> GuardDecision {
    if is_navigation(head) {
        if let Some(location) = config.reauth_redirect(head.url.path_and_query()) {
            if let Some(response) = redirect(&location) {
                return GuardDecision::Respond(response);
            }
        }
    }
    respond(
        head,
        Problem::reauthentication_required(Reauth {
            max_age,
            authenticated_at_ms: caller.session.lifetime.authenticated_at,
            bearer: caller.source == TokenSource::Bearer,
        }),
    )
}

/// Counts the request on each `limit` of its rule, under `key` (made only
/// when there is one): the first over its limit refuses it.
async fn count<O: Sessions>(
    app: &App<'_, O>,
    requirement: &Requirement<'_>,
    key: impl Fn() -> String,
    logs: &mut Vec<String>,
) -> Result<(), Problem> {
    for binding in &requirement.limits {
        if app.limits().rule(binding, key()).await? == Passed::Unchecked {
            logs.push(format!(
                "rate limit {binding} could not be checked (the binding failed): request let through"
            ));
        }
    }
    Ok(())
}

/// The request could not be forwarded (the origin is unreachable): its
/// sliding write will not be made, so its claim is given back.
pub fn abandon<O: Sessions>(app: &App<'_, O>, forward: &Forward) {
    if let Some(claimed) = &forward.slide {
        app.claims().release(claimed);
    }
}

/// Whether the request is a browser navigation: a GET whose `Accept` holds
/// `text/html` (any case).
pub fn is_navigation(head: &RequestHead) -> bool {
    head.method == Method::GET
        && head.headers.get_all(ACCEPT).iter().any(|v| {
            v.as_bytes()
                .windows(9)
                .any(|w| w.eq_ignore_ascii_case(b"text/html"))
        })
}

/// The refusal of `head` with `problem`: problem+json, or the HTML page
/// for a browser ([`page::refusal`]).
fn respond(head: &RequestHead, problem: Problem) -> GuardDecision {
    GuardDecision::Respond(page::refusal(head, &problem))
}

/// A 302 to `location`, never stored.
fn redirect(location: &str) -> Option<Response<Vec<u8>>> {
    let location = HeaderValue::from_str(location).ok()?;
    let mut res = Response::new(Vec::new());
    *res.status_mut() = StatusCode::FOUND;
    res.headers_mut().insert(LOCATION, location);
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Some(res)
}

/// A 401 with `code`, or a 302 to the login page for a browser navigation
/// when `LOGIN_URL` is set; `clear` adds a `Set-Cookie` clearing the
/// session cookie (the cookie presented was invalid or expired).
fn deny(config: &Config, head: &RequestHead, code: ErrorCode, clear: bool) -> GuardDecision {
    let to_login = is_navigation(head)
        .then(|| config.login_redirect(head.url.path_and_query()))
        .flatten()
        .and_then(|location| redirect(&location));
    let mut response = match to_login {
        Some(response) => response,
        None => page::refusal(head, &Problem::from(code)),
    };
    if clear {
        if let Ok(v) = HeaderValue::from_str(&clear_cookie(&config.cookie_name)) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    GuardDecision::Respond(response)
}
