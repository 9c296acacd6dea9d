//! How a request proves who it is (contract §2, §6), one way for the API,
//! the guard and the handoff: the token from `Authorization: Bearer` or the
//! session cookie ([`request_token`]), the CSRF check of a
//! cookie-authenticated unsafe request, decided before any store call, then
//! one store read to verify ([`authenticate`]), and the contract's answer to
//! each failure ([`AuthError`]); whether the origin's handoff may sign the
//! request in or out ([`handoff_allowed`]). The admin API's key is checked
//! here too ([`authorize_admin`]).

use session_core::{Context, Op, Reply, Session, SessionError, Sessions};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::bearer::{authorization_bearer, bearer_token};
use crate::config::Config;
use crate::cookie::cookie_values;
use crate::csrf::{csrf_ok, handoff_ok, HandoffRequest};
use crate::problem::{ErrorCode, Problem};
use crate::request::RequestHead;

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The `COOKIE_NAME` cookie: subject to CSRF checks; refreshed cookies
    /// are re-issued.
    Cookie,
    /// `Authorization: Bearer`: exempt from CSRF checks.
    Bearer,
}

/// The token a request authenticates with, and its source. `Debug` shows
/// the source only: tokens never reach logs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestToken<'a> {
    pub token: &'a str,
    pub source: TokenSource,
}

impl std::fmt::Debug for RequestToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestToken")
            .field("token", &"<redacted>")
            .field("source", &self.source)
            .finish()
    }
}

/// Picks the request's token: a well-formed bearer token wins over the
/// cookie. An `Authorization` header that is not a usable bearer token
/// (e.g. `Basic …` meant for the origin) is ignored, so the cookie, if any,
/// is used — the request then counts as cookie-authenticated and CSRF
/// applies. When the cookie appears several times (a stale cookie beside a
/// fresh one), the first value whose tag verifies (`tag_ok`, which must
/// touch no store) is used, else the first. Only values [`cookie_values`]
/// reads count: never a token found after a `,`.
/// An empty cookie value counts as no cookie. `None`: no token (401
/// `unauthorized`).
pub fn request_token<'a>(
    authorization: Option<&'a str>,
    cookie_header: Option<&'a str>,
    cookie_name: &str,
    tag_ok: impl Fn(&str) -> bool,
) -> Option<RequestToken<'a>> {
    if let Some(token) = authorization.and_then(authorization_bearer) {
        return Some(RequestToken {
            token,
            source: TokenSource::Bearer,
        });
    }
    let mut values = cookie_values(cookie_header?, cookie_name).filter(|v| !v.is_empty());
    let first = values.next()?;
    let mut others = values.peekable();
    // One value is used whatever its tag: verifying it here would only do
    // the service's verification twice.
    let token = if others.peek().is_none() {
        first
    } else {
        std::iter::once(first)
            .chain(others)
            .find(|v| tag_ok(v))
            .unwrap_or(first)
    };
    Some(RequestToken {
        token,
        source: TokenSource::Cookie,
    })
}

/// An authenticated request: its live session, its token and where the
/// token came from. `Debug` hides the token.
pub struct Caller<'h> {
    pub session: Session,
    pub token: &'h str,
    pub source: TokenSource,
}

impl std::fmt::Debug for Caller<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("session", &self.session.id)
            .field("token", &"<redacted>")
            .field("source", &self.source)
            .finish()
    }
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The service cannot verify anything: `TOKEN_KEYS` missing or invalid
    /// (503 `misconfigured`), or the store failed (503 `store_unavailable`).
    Unavailable(Problem),
    /// No token at all (401 `unauthorized`).
    NoToken,
    /// A cookie-authenticated unsafe request without an allowed `Origin`
    /// (403 `csrf`).
    Csrf,
    /// The token does not name a live session: `code` is `invalid_token` or
    /// `session_expired` (401); `by_cookie` when it came as the cookie (the
    /// guard then clears it).
    Rejected { code: ErrorCode, by_cookie: bool },
}

impl AuthError {
    /// The contract's problem for this failure.
    pub fn problem(&self) -> Problem {
        match self {
            AuthError::Unavailable(problem) => problem.clone(),
            AuthError::NoToken => ErrorCode::Unauthorized.into(),
            AuthError::Csrf => ErrorCode::Csrf.into(),
            AuthError::Rejected { code, .. } => (*code).into(),
        }
    }
}

/// The token `head` presents, as [`request_token`] picks it with this
/// service's key ring (no store call).
pub fn presented_token<'h, O: Sessions>(
    app: &App<'_, O>,
    head: &'h RequestHead,
) -> Option<RequestToken<'h>> {
    let ring = app.key_ring()?;
    let tag_ok = |t: &str| ring.verify_token(t).is_ok();
    request_token(
        head.header("authorization"),
        head.cookie_header(),
        &app.config().cookie_name,
        tag_ok,
    )
}

/// Authenticates `head`: 503 when misconfigured, 401 without a token, 403
/// `csrf` for a cookie-authenticated unsafe request from a foreign origin
/// (decided before any store call), then one store read to verify
/// (malformed or forged tokens cost none).
pub async fn authenticate<'h, O: Sessions>(
    app: &App<'_, O>,
    head: &'h RequestHead,
) -> Result<Caller<'h>, AuthError> {
    let sessions = app.sessions().map_err(AuthError::Unavailable)?;
    let presented = presented_token(app, head).ok_or(AuthError::NoToken)?;
    let by_cookie = presented.source == TokenSource::Cookie;
    let config = app.config();
    if by_cookie
        && !csrf_ok(
            head.method.as_str(),
            head.header("origin"),
            head.url.origin(),
            &config.allowed_origins,
        )
    {
        return Err(AuthError::Csrf);
    }
    let verified = sessions
        .run(
            Op::Verify {
                token: presented.token.to_owned(),
            },
            &Context::default(),
        )
        .await
        .and_then(Reply::session);
    match verified {
        Ok(session) => Ok(Caller {
            session,
            token: presented.token,
            source: presented.source,
        }),
        Err(SessionError::Expired) => Err(AuthError::Rejected {
            code: ErrorCode::SessionExpired,
            by_cookie,
        }),
        Err(e @ (SessionError::Store(_) | SessionError::Random)) => {
            Err(AuthError::Unavailable(Problem::from(e)))
        }
        Err(_) => Err(AuthError::Rejected {
            code: ErrorCode::InvalidToken,
            by_cookie,
        }),
    }
}

/// Whether the origin's `X-Session-Issue` / `X-Session-Revoke` answering
/// `head` may be acted on: [`handoff_ok`] with what `head` carries (the
/// session cookie, as [`request_token`] reads it, `Origin`,
/// `Sec-Fetch-Site`). No store call.
pub fn handoff_allowed(config: &Config, head: &RequestHead) -> bool {
    let carries_cookie = head
        .cookie_header()
        .is_some_and(|c| cookie_values(c, &config.cookie_name).any(|v| !v.is_empty()));
    // Present but unreadable is an origin that cannot be ours.
    let origin = head
        .headers
        .get(http::header::ORIGIN)
        .map(|v| v.to_str().unwrap_or(""));
    let request = HandoffRequest {
        method: head.method.as_str(),
        carries_cookie,
        origin,
        sec_fetch_site: head.header("sec-fetch-site"),
        request_url_origin: head.url.origin(),
    };
    handoff_ok(request, &config.allowed_origins)
}

/// Authorizes an admin request: 503 `admin_disabled` without `ADMIN_KEY`, 401
/// unless `Authorization: Bearer` holds it, compared in constant time as
/// SHA-256 digests so that not even the key's length leaks.
pub fn authorize_admin(config: &Config, head: &RequestHead) -> Result<(), Problem> {
    let Some(key) = config.admin_key.as_deref() else {
        return Err(ErrorCode::AdminDisabled.into());
    };
    let presented = head
        .header("authorization")
        .and_then(bearer_token)
        .unwrap_or("");
    let matches: bool = Sha256::digest(presented.as_bytes())
        .ct_eq(&Sha256::digest(key.as_bytes()))
        .into();
    if presented.is_empty() || !matches {
        return Err(Problem::new(
            ErrorCode::Unauthorized,
            "the admin API needs Authorization: Bearer ADMIN_KEY",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    const NAME: &str = "__Host-session";

    #[test]
    fn bearer_wins_over_cookie() {
        let cookie = Some("__Host-session=from-cookie");
        let t = request_token(Some("Bearer from-bearer"), cookie, NAME, |_| false).unwrap();
        assert_eq!(
            t,
            RequestToken {
                token: "from-bearer",
                source: TokenSource::Bearer
            }
        );
        let t = request_token(None, cookie, NAME, |_| false).unwrap();
        assert_eq!(
            t,
            RequestToken {
                token: "from-cookie",
                source: TokenSource::Cookie
            }
        );
        let t = request_token(Some("Bearer only"), None, NAME, |_| false).unwrap();
        assert_eq!(t.source, TokenSource::Bearer);
    }

    #[test]
    fn non_bearer_authorization_falls_back_to_cookie() {
        let cookie = Some("__Host-session=c");
        let t = request_token(Some("Basic dXNlcjpwYXNz"), cookie, NAME, |_| false).unwrap();
        assert_eq!(t.source, TokenSource::Cookie);
        assert_eq!(request_token(Some("Basic x"), None, NAME, |_| false), None);
        // A malformed bearer token is still the bearer token: it wins (and
        // fails as invalid_token) rather than letting the cookie through.
        let t = request_token(Some("Bearer a b"), cookie, NAME, |_| false).unwrap();
        assert_eq!((t.source, t.token), (TokenSource::Bearer, "a b"));
    }

    #[test]
    fn tags_are_checked_only_to_choose_between_cookies() {
        let checked = std::cell::Cell::new(0);
        let count = |_: &str| {
            checked.set(checked.get() + 1);
            false
        };
        let t = request_token(None, Some("a=1; __Host-session=only"), NAME, count).unwrap();
        assert_eq!((t.token, checked.get()), ("only", 0));
        let two = Some("__Host-session=one; __Host-session=two");
        let t = request_token(None, two, NAME, count).unwrap();
        assert_eq!((t.token, checked.get()), ("one", 2));
        checked.set(0);
        let t = request_token(None, two, NAME, |v| {
            checked.set(checked.get() + 1);
            v == "one"
        })
        .unwrap();
        assert_eq!((t.token, checked.get()), ("one", 1));
    }

    #[test]
    fn the_first_cookie_whose_tag_verifies_is_used() {
        let header = Some("__Host-session=stale; __Host-session=good; __Host-session=later");
        let t = request_token(None, header, NAME, |t| t == "good").unwrap();
        assert_eq!((t.token, t.source), ("good", TokenSource::Cookie));
        let tossed = Some("pref=1, __Host-session=planted; __Host-session=good");
        let t = request_token(None, tossed, NAME, |t| t == "planted" || t == "good").unwrap();
        assert_eq!(
            t.token, "good",
            "a token in another cookie's value is never used"
        );
        assert_eq!(
            request_token(None, Some("pref=1, __Host-session=planted"), NAME, |_| true),
            None
        );
        let t = request_token(None, header, NAME, |_| false).unwrap();
        assert_eq!(
            t.token, "stale",
            "none verifies: the first is used (and refused)"
        );
        let t = request_token(
            None,
            Some("__Host-session=; __Host-session=x"),
            NAME,
            |_| false,
        )
        .unwrap();
        assert_eq!(t.token, "x", "empty values are skipped");
    }

    #[test]
    fn a_joined_authorization_still_yields_our_bearer() {
        let t = request_token(
            Some("Basic x, Bearer tok"),
            Some("__Host-session=c"),
            NAME,
            |_| false,
        )
        .unwrap();
        assert_eq!((t.token, t.source), ("tok", TokenSource::Bearer));
    }

    #[test]
    fn no_token() {
        assert_eq!(request_token(None, None, NAME, |_| false), None);
        assert_eq!(request_token(None, Some("other=1"), NAME, |_| false), None);
        assert_eq!(
            request_token(None, Some("__Host-session="), NAME, |_| false),
            None
        );
        assert_eq!(
            request_token(None, Some("__Host-session=\"\""), NAME, |_| false),
            None
        );
    }
}
