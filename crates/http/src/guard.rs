//! The guard (contract section 6): what to do with a request to a path
//! outside `{API_PREFIX}/`, decided without seeing its body.
//!
//! [`decide`] returns either an answer ([`GuardDecision::Respond`]: 400, 401,
//! 302 to the login page, 403, 503) or everything the Worker needs to forward
//! the request ([`GuardDecision::Forward`]). Once the origin has answered,
//! [`finish`] (in [`crate::handoff`]) applies the origin's `X-Session-Issue` /
//! `X-Session-Revoke` headers and says which cookies to set and whether the
//! sliding write is still wanted.
//!
//! The Worker's part, in order:
//! 1. `decide`; on `Respond`, send it.
//! 2. Fetch `forward.url` with `forward.headers`, the request's method and
//!    its body (streamed). Unreachable origin: 502 `origin_unavailable`.
//! 3. `finish` with the origin response's headers (it removes the handoff
//!    headers from them); append every `finish.set_cookies` entry as a
//!    `Set-Cookie` header, then `forward.set_cookie` when `finish.save` is
//!    `Some` (the sliding cookie goes with the sliding write); print
//!    `finish.logs`; send the response.
//! 4. `finish.save`, when `Some`, goes to `SessionService::slide` in
//!    `waitUntil` (the sliding write, after the response).
//!
//! # Decisions, in order
//! 1. Access from `GUARD_RULES` ([`crate::rules::Rules::access_for`]); a
//!    path rejected there answers 400 `invalid_request`.
//! 2. Public: forwarded as is (minus client `X-Session-*` headers and our
//!    token), no KV call, even while `TOKEN_KEYS` is missing.
//! 3. Otherwise: `TOKEN_KEYS` unusable → 503 `misconfigured`; no token →
//!    401 `unauthorized`; cookie-authenticated unsafe method with a foreign
//!    or missing `Origin` → 403 `csrf` (before any KV call); then one KV read
//!    to verify (malformed or forged tokens cost none): unknown or revoked →
//!    401 `invalid_token`, expired → 401 `session_expired`, store failure →
//!    503 `store_unavailable` (fail closed); `role:NAME` without NAME in
//!    `meta.roles` → 403 `forbidden`.
//! 4. Every 401 on a browser navigation (GET whose `Accept` holds
//!    `text/html`) becomes a 302 to `LOGIN_URL?next=…` when `LOGIN_URL` is
//!    set. A 401 (or 302) caused by an invalid or expired **cookie** also
//!    clears that cookie, so the browser stops sending a dead token.
//!
//! `decide` never writes to KV: the sliding write is returned as
//! [`Forward::touched`] and runs after the response.

use std::fmt;

use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CACHE_CONTROL, LOCATION, SET_COOKIE};
use http::{HeaderMap, Method, Response, StatusCode};
use session_core::token::TOKEN_VERSION;
use session_core::{Clock, KvStore, Random, Session, SessionError};
use url::Url;

use crate::app::App;
use crate::config::Config;
use crate::cookie::{
    bearer_token, clear_cookie, request_token, set_cookie, strip_cookie, TokenSource,
};
use crate::csrf::csrf_ok;
use crate::identity::{
    encode_meta, encode_user, strip_override_headers, strip_session_headers, SESSION_ID_HEADER,
    SESSION_META_HEADER, SESSION_USER_HEADER,
};
use crate::problem::{ErrorCode, Problem};
use crate::request::RequestHead;
use crate::rules::Access;

pub use crate::handoff::{finish, Finish, MAX_ISSUE_BYTES};

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

/// Everything the Worker needs to forward a request, and what to do after
/// the origin answered. The body is not here: the Worker streams it.
///
/// `Debug` shows header names only and redacts `set_cookie`, because with
/// `FORWARD_TOKEN=true` the headers carry the token.
#[derive(Clone)]
pub struct Forward {
    /// Where to send the request: `ORIGIN_URL` with the request's path and
    /// query, or the request's own URL when `ORIGIN_URL` is unset.
    pub url: Url,
    /// The headers to send: the request's, minus every client-sent
    /// `X-Session-*` header and (unless `FORWARD_TOKEN=true`) the session
    /// cookie and an `Authorization` header carrying a session token, plus
    /// `X-Session-Id`, `X-Session-User` and `X-Session-Meta` when a session
    /// is attached.
    pub headers: HeaderMap,
    /// The access the path required.
    pub access: Access,
    /// The verified session (`None` on public paths: they are forwarded
    /// without looking at the token).
    pub session: Option<Session>,
    /// How the session's token was presented.
    pub token_source: Option<TokenSource>,
    /// The session with its expiry slid forward, when sliding is due and this
    /// request claimed it (`SessionService::claim_slide`): slide it
    /// after the response (via [`finish`], which drops it when the request
    /// revoked or replaced its session).
    pub touched: Option<Session>,
    /// `Set-Cookie` re-issuing the session cookie with the new `Max-Age`
    /// (sliding on a cookie-authenticated request). Send it only when
    /// [`finish`] kept the sliding write ([`Finish::save`] is `Some`).
    pub set_cookie: Option<String>,
}

impl fmt::Debug for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("Forward")
            .field("url", &self.url.as_str())
            .field("headers", &names)
            .field("access", &self.access)
            .field("session", &self.session.as_ref().map(|s| s.id.as_str()))
            .field("token_source", &self.token_source)
            .field(
                "touched",
                &self.touched.as_ref().map(|s| s.lifetime.expires_at),
            )
            .field(
                "set_cookie",
                &self.set_cookie.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Decides what to do with a request to a guarded path (any path outside
/// `{API_PREFIX}/`; the API router handles those). See the module docs.
///
/// KV cost: none on public paths, for requests without a token, for CSRF
/// refusals and for malformed or forged tokens; exactly one read otherwise.
/// Never writes.
pub async fn decide<S: KvStore, C: Clock, R: Random>(
    app: &App<'_, S, C, R>,
    head: &RequestHead,
) -> GuardDecision {
    let config = app.config();
    let access = match config
        .rules
        .access_for(head.method.as_str(), head.url.path())
    {
        Ok(access) => access.clone(),
        Err(rejection) => {
            return respond(Problem::new(
                ErrorCode::InvalidRequest,
                rejection.to_string(),
            ))
        }
    };
    let url = config
        .upstream_url(&head.url)
        .unwrap_or_else(|| head.url.clone());
    let mut headers = forward_headers(config, &head.headers);

    if access == Access::Public {
        return GuardDecision::Forward(Forward {
            url,
            headers,
            access,
            session: None,
            token_source: None,
            touched: None,
            set_cookie: None,
        });
    }

    let sessions = match app.sessions() {
        Ok(sessions) => sessions,
        Err(problem) => return respond(problem),
    };
    let cookies = head.cookies();
    let tag_ok = |t: &str| sessions.key_ring().verify_token(t).is_ok();
    let Some(presented) = request_token(
        head.header("authorization"),
        cookies.as_deref(),
        &config.cookie_name,
        tag_ok,
    ) else {
        return deny(config, head, ErrorCode::Unauthorized, false);
    };
    let by_cookie = presented.source == TokenSource::Cookie;
    if by_cookie
        && !csrf_ok(
            head.method.as_str(),
            head.header("origin"),
            head.url.as_str(),
            &config.allowed_origins,
        )
    {
        return respond(Problem::new(
            ErrorCode::Csrf,
            "A cookie-authenticated request with this method needs an Origin header of this site or of ALLOWED_ORIGINS.",
        ));
    }

    let session = match sessions.verify(presented.token).await {
        Ok(session) => session,
        Err(SessionError::Expired) => {
            return deny(config, head, ErrorCode::SessionExpired, by_cookie)
        }
        Err(SessionError::Store(_) | SessionError::Random) => {
            return respond(ErrorCode::StoreUnavailable.into())
        }
        Err(
            SessionError::InvalidToken
            | SessionError::NotFound
            | SessionError::Invalid { .. }
            | SessionError::Forbidden { .. },
        ) => return deny(config, head, ErrorCode::InvalidToken, by_cookie),
    };
    if let Access::Role(role) = &access {
        if !session.has_role(role) {
            return respond(Problem::new(
                ErrorCode::Forbidden,
                "The session does not have the role this path requires.",
            ));
        }
    }

    // At most one request per session and isolate makes the sliding write.
    let touched = sessions.claim_slide(&session);
    let set_cookie = match &touched {
        Some(next) if by_cookie => Some(set_cookie(
            &config.cookie_name,
            presented.token,
            next.seconds_to_expiry(sessions.now_ms()),
        )),
        _ => None,
    };
    add_identity_headers(&mut headers, &session);
    GuardDecision::Forward(Forward {
        url,
        headers,
        access,
        session: Some(session),
        token_source: Some(presented.source),
        touched,
        set_cookie,
    })
}

/// The request could not be forwarded (the origin is unreachable): its
/// sliding write will not be made, so its claim is given back.
pub fn abandon<S: KvStore, C: Clock, R: Random>(app: &App<'_, S, C, R>, forward: &Forward) {
    if let (Some(claimed), Ok(sessions)) = (&forward.touched, app.sessions()) {
        sessions.release_slide(claimed);
    }
}

/// The headers forwarded to the origin, before identity headers are added:
/// the request's, minus every `X-Session-*` header and request-override
/// header (any spelling, see [`crate::identity`]) and, unless
/// `FORWARD_TOKEN=true`, the session cookie (other cookies kept, the header
/// dropped when nothing is left) and any `Authorization` value carrying one
/// of our tokens (`Bearer es1.…`; other credentials are the origin's and
/// are kept).
pub fn forward_headers(config: &Config, request_headers: &HeaderMap) -> HeaderMap {
    let mut headers = request_headers.clone();
    strip_session_headers(&mut headers);
    strip_override_headers(&mut headers);
    if !config.forward_token {
        strip_cookie(&mut headers, &config.cookie_name);
        remove_our_authorization(&mut headers);
    }
    headers
}

/// Sets `X-Session-Id`, `X-Session-User` and `X-Session-Meta` of `session`,
/// replacing any value already there.
pub fn add_identity_headers(headers: &mut HeaderMap, session: &Session) {
    let meta = serde_json::Value::Object(session.meta.clone());
    for (name, value) in [
        (SESSION_ID_HEADER, session.id.to_string()),
        (SESSION_USER_HEADER, encode_user(&session.user_id)),
        (SESSION_META_HEADER, encode_meta(&meta)),
    ] {
        // All three are visible ASCII by construction; a failure would only
        // drop the header, never panic.
        match HeaderValue::from_str(&value) {
            Ok(value) => {
                headers.insert(name, value);
            }
            Err(_) => {
                headers.remove(name);
            }
        }
    }
}

/// Whether a credential is `Bearer <one of our tokens>` (by its version
/// prefix; the tag is not checked, so even forged tokens are not forwarded).
fn is_our_credential(credential: &str) -> bool {
    bearer_token(credential).is_some_and(|t| {
        t.strip_prefix(TOKEN_VERSION)
            .is_some_and(|r| r.starts_with('.'))
    })
}

/// Removes our bearer credentials from every `Authorization` value, also
/// from a value a runtime joined from several lines with `, `; the origin's
/// own credentials beside them are kept as written.
fn remove_our_authorization(headers: &mut HeaderMap) {
    let ours = |v: &HeaderValue| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(is_our_credential))
    };
    if !headers.get_all(AUTHORIZATION).iter().any(ours) {
        return;
    }
    let kept: Vec<HeaderValue> = headers
        .get_all(AUTHORIZATION)
        .iter()
        .filter_map(|v| {
            let Ok(text) = v.to_str() else {
                return Some(v.clone());
            };
            let rest: Vec<&str> = text.split(',').filter(|c| !is_our_credential(c)).collect();
            let rest = rest.join(",");
            let rest = rest.trim();
            (!rest.is_empty())
                .then(|| HeaderValue::from_str(rest).ok())
                .flatten()
        })
        .collect();
    headers.remove(AUTHORIZATION);
    for value in kept {
        headers.append(AUTHORIZATION, value);
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

fn respond(problem: Problem) -> GuardDecision {
    GuardDecision::Respond(problem.to_response())
}

/// A 401 with `code`, or a 302 to the login page for a browser navigation
/// when `LOGIN_URL` is set; `clear` adds a `Set-Cookie` clearing the
/// session cookie (the cookie presented was invalid or expired).
fn deny(config: &Config, head: &RequestHead, code: ErrorCode, clear: bool) -> GuardDecision {
    let redirect = is_navigation(head)
        .then(|| {
            let path_and_query = &head.url[url::Position::BeforePath..url::Position::AfterQuery];
            config.login_redirect(path_and_query)
        })
        .flatten()
        .and_then(|location| HeaderValue::from_str(&location).ok());
    let mut response = match redirect {
        Some(location) => {
            let mut res = Response::new(Vec::new());
            *res.status_mut() = StatusCode::FOUND;
            res.headers_mut().insert(LOCATION, location);
            res.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        None => Problem::from(code).to_response(),
    };
    if clear {
        if let Ok(v) = HeaderValue::from_str(&clear_cookie(&config.cookie_name)) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    GuardDecision::Respond(response)
}
