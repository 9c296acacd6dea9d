//! Origin handoff (contract section 6): after the origin answered a
//! forwarded request, its `X-Session-Issue` and `X-Session-Revoke` response
//! headers create or revoke sessions. [`finish`] acts on them, tells the
//! Worker to remove them (in every spelling) from the response, always, and
//! hands it the final `Set-Cookie` values and the write to make after the
//! response.
//!
//! # Headers
//! - `X-Session-Issue: {"userId", "label"?, "meta"?, "idleTtl"?, "absoluteTtl"?}`
//!   (JSON, at most [`MAX_ISSUE_BYTES`], visible ASCII, unknown fields
//!   refused; `null` is the same as leaving a field out): creates that
//!   session with the request's user agent and country, sets its cookie, and
//!   destroys the request's current session, if any (login replaces the
//!   session, so a fixated or stale token stops working). On a public path the
//!   current token was not verified by the guard: it is verified now, and a
//!   token that does not verify is simply not replaced.
//! - `X-Session-Revoke: current` revokes the request's session;
//!   `X-Session-Revoke: all` revokes every session of its user. Either way
//!   the session cookie is cleared, even when there was no session to revoke
//!   (logout is idempotent). Compared ASCII-case-insensitively, surrounding
//!   whitespace ignored.
//!
//! # A header sent more than once
//! The runtime's `Headers` joins the lines of a header sent more than once
//! with `, ` and has no way to tell them apart again (`getAll` is for
//! `Set-Cookie` only), so a joined value is read as such:
//! - an `X-Session-Issue` holding `, ` anywhere is not one well-formed value
//!   (`{"userId":"a"` and `"label":"b"}` join into valid JSON): logged and
//!   ignored. `JSON.stringify` never writes `, ` outside strings; inside
//!   one, write the comma as `\u002c`.
//! - an `X-Session-Revoke` is read part by part between commas, every part
//!   `current` or `all`, and the strongest acts: `current, current` revokes
//!   the session once, `current, all` every session of the user. A part that
//!   is neither (or any value that is not visible ASCII) leaves nothing
//!   revoked and the origin's answer, which may say "signed out", replaced by
//!   502 `origin_unavailable`: a sign-out the Worker cannot act on never
//!   passes as done.
//!
//! # Cross-site requests
//! A handoff answering an unsafe request that is cross-site
//! ([`crate::auth::handoff_allowed`]) is not acted on: nothing is created or
//! revoked, no cookie is set or cleared, and the answer is 403 `csrf` (login
//! CSRF, forced sign-out). The headers are removed all the same.
//!
//! # Caches
//! A response the Worker adds a session cookie to (here or by sliding) must
//! not be stored by a shared cache: [`Finish::cache_control`] gives its
//! `Cache-Control` ([`crate::cookie::private_cache_control`]) and
//! [`Finish::remove_headers`] holds the CDN-targeted cache fields.
//!
//! # Order and guarantees
//! - Revoke first, then issue: `Revoke: all` + `Issue` signs the user out
//!   everywhere and in again here, and the new session survives. When the
//!   issue succeeds, its cookie replaces the clearing one.
//! - A malformed `X-Session-Issue` (sent more than once, not visible ASCII,
//!   joined) is ignored with a log line; `X-Session-Revoke` is still acted
//!   on.
//! - The session is created before the old one is destroyed, so a failed
//!   issue (store failure, invalid field) leaves the client signed in as
//!   before and sets no cookie.
//! - A sliding write ([`crate::guard::Forward::slide`]) is dropped
//!   ([`Finish::after`] = `None`) once the request revoked its session or
//!   replaced it, so it never brings it back; it is also dropped (and its
//!   claim given back) when a revocation failed. Its cookie
//!   ([`crate::guard::Forward::set_cookie`]) goes with it: it is in
//!   [`Finish::set_cookies`] exactly while the write is in `after`.
//! - An issue over the user's creation limit (`RL_CREATE`, or the owner's
//!   exact count in `strong` mode) is refused with 429 `rate_limited`
//!   instead of the origin's answer: the binding is asked before anything
//!   is acted on, so nothing is created or revoked; the owner's count
//!   refuses the creation alone (a revocation asked with it stands).
//! - A revocation or an issue that the store fails (fail closed): the
//!   origin's answer is replaced by 503 `store_unavailable`
//!   ([`Finish::failure`]), so the client is never told it signed out or in
//!   when it did not. A failed revocation still clears the cookie and issues
//!   nothing. Failing to destroy a replaced session is only logged: the new
//!   session stands. So does a handoff while `TOKEN_KEYS` is missing (503
//!   `misconfigured`), and `X-Session-Revoke: all` with an authentic but
//!   expired token (401 `session_expired`: the user's other sessions still
//!   work, so "everywhere" is not done; an unknown or revoked token is a
//!   sign-out already done).
//! - Log lines never contain tokens nor header values (not even the name of
//!   an unknown field of `X-Session-Issue`).

use std::fmt;

use serde_json::Value;
use session_core::session::NEW_SESSION_FIELDS;
use session_core::{
    Actor, ClientInfo, Context, NewSession, Op, Reply, Session, SessionError, Sessions,
};

use http::header::{HeaderValue, SET_COOKIE};
use http::Response;

use super::Forward;
use crate::app::App;
use crate::auth::{handoff_allowed, presented_token};
use crate::cookie::{clear_cookie, private_cache_control, set_cookie, SHARED_CACHE_FIELDS};
use crate::identity::{is_handoff_header, SESSION_ISSUE, SESSION_REVOKE};
use crate::problem::{ErrorCode, Problem};
use crate::ratelimit::{OnFailure, Passed, CREATE_BINDING};
use crate::request::RequestHead;
use crate::syntax::trim_ows_str;

/// Largest `X-Session-Issue` value acted on, in bytes.
pub const MAX_ISSUE_BYTES: usize = 8 * 1024;

/// What the Worker does with the origin's response, and after it.
#[derive(Default)]
pub struct Finish {
    /// Names of the origin response's headers to remove: the handoff
    /// headers, in every spelling the origin used, and, when
    /// [`Finish::set_cookies`] is not empty, the CDN-targeted cache fields
    /// ([`SHARED_CACHE_FIELDS`]).
    pub remove_headers: Vec<String>,
    /// `Set-Cookie` values to append to the response, in order: the issued
    /// session's cookie or the clearing one, or the sliding re-issue while
    /// the sliding write still applies.
    pub set_cookies: Vec<String>,
    /// The write to make after the response (`waitUntil`): the sliding
    /// write, unless it is not due or the request revoked or replaced its
    /// session.
    pub after: Option<AfterResponse>,
    /// Messages for `console.log`; never tokens nor header values.
    pub logs: Vec<String>,
    /// The handoff could not be stored: answer this instead of the origin's
    /// response (see [`Finish::failure_response`]).
    pub failure: Option<Problem>,
}

impl Finish {
    /// Whether the request's sliding write and its cookie still apply (the
    /// request neither revoked nor replaced its session).
    pub fn keeps_sliding(&self) -> bool {
        self.after.is_some()
    }

    /// The `Cache-Control` to set on the origin's response, given its own
    /// (read by `origin` only when needed): `None` (leave it) unless a
    /// session cookie is added, which makes the response private (see
    /// [`private_cache_control`]).
    pub fn cache_control(&self, origin: impl FnOnce() -> Option<String>) -> Option<String> {
        (!self.set_cookies.is_empty()).then(|| private_cache_control(origin().as_deref()))
    }

    /// The answer when the handoff failed: the problem, with every
    /// [`Finish::set_cookies`] value.
    pub fn failure_response(&self) -> Option<Response<Vec<u8>>> {
        self.with_cookies(self.failure.as_ref()?.to_response())
    }

    /// [`Finish::failure_response`] as answered to `head`: the HTML page for
    /// a browser ([`crate::page::refusal`]: a refused sign-in form).
    pub fn failure_response_to(&self, head: &RequestHead) -> Option<Response<Vec<u8>>> {
        self.with_cookies(crate::page::refusal(head, self.failure.as_ref()?))
    }

    fn with_cookies(&self, mut response: Response<Vec<u8>>) -> Option<Response<Vec<u8>>> {
        for cookie in &self.set_cookies {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        Some(response)
    }
}

impl fmt::Debug for Finish {
    /// Cookies hold tokens: only their number is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finish")
            .field("remove_headers", &self.remove_headers)
            .field("set_cookies", &self.set_cookies.len())
            .field("after", &self.after)
            .field("logs", &self.logs)
            .field("failure", &self.failure.as_ref().map(|p| p.code))
            .finish()
    }
}

/// The write a request makes after its response: its claimed sliding write.
#[derive(Clone)]
pub struct AfterResponse {
    /// The session as claimed, with its expiry slid forward.
    pub claimed: Session,
    /// The request, for the write's event (made by the Worker itself).
    pub ctx: Context,
}

impl fmt::Debug for AfterResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterResponse")
            .field("session", &self.claimed.id)
            .finish()
    }
}

impl AfterResponse {
    /// Makes the write (`Op::Slide`), then holds or gives back its claim.
    pub async fn run<O: Sessions>(&self, app: &App<'_, O>) -> Result<Reply, Problem> {
        let result = match app.sessions() {
            Ok(sessions) => {
                let session = self.claimed.clone();
                sessions.run(Op::Slide { session }, &self.ctx).await
            }
            Err(problem) => return Err(problem),
        };
        app.claims().settle(&self.claimed, &result);
        result.map_err(Problem::from)
    }
}

/// A parsed `X-Session-Revoke`, the stronger one greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Revoke {
    Current,
    All,
}

/// Acts on the origin's handoff headers, read from `response_headers` (every
/// header of the origin's response, by name and value) (see the module
/// docs). `forward` is what [`crate::guard::decide`] returned for this
/// request.
///
/// KV cost: none without handoff headers, nor for a cross-site request.
/// Otherwise, on a public path, one read to verify the current token when
/// there is one; revoking current: 2 deletes; revoking all: list calls + 2
/// deletes per session; issuing: 2 writes (+ 2 deletes to replace a current
/// session).
pub async fn finish<O: Sessions>(
    app: &App<'_, O>,
    head: &RequestHead,
    forward: &Forward,
    response_headers: impl IntoIterator<Item = (impl AsRef<str>, impl AsRef<str>)>,
) -> Finish {
    let mut out = act(app, head, forward, response_headers).await;
    if !out.set_cookies.is_empty() {
        out.remove_headers
            .extend(SHARED_CACHE_FIELDS.iter().map(|&f| f.to_owned()));
    }
    out
}

/// [`finish`] but for the cache fields.
async fn act<O: Sessions>(
    app: &App<'_, O>,
    head: &RequestHead,
    forward: &Forward,
    response_headers: impl IntoIterator<Item = (impl AsRef<str>, impl AsRef<str>)>,
) -> Finish {
    let mut out = Finish {
        after: forward.slide.clone().map(|claimed| AfterResponse {
            claimed,
            ctx: head.context(Actor::System),
        }),
        ..Finish::default()
    };
    let (mut issue_values, mut revoke_values) = (Vec::new(), Vec::new());
    for (name, value) in response_headers {
        let name = name.as_ref();
        if !is_handoff_header(name) {
            continue;
        }
        // Only the canonical spelling acts; every spelling is removed.
        if name.eq_ignore_ascii_case(SESSION_ISSUE) {
            issue_values.push(value.as_ref().to_owned());
        } else if name.eq_ignore_ascii_case(SESSION_REVOKE) {
            revoke_values.push(value.as_ref().to_owned());
        }
        if !out
            .remove_headers
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
        {
            out.remove_headers.push(name.to_owned());
        }
    }
    if (!issue_values.is_empty() || !revoke_values.is_empty())
        && !handoff_allowed(app.config(), head)
    {
        out.logs.push(format!(
            "{SESSION_ISSUE}/{SESSION_REVOKE} not carried out: the request is cross-site (CSRF)"
        ));
        return refuse(app, forward, out, Problem::new(
            ErrorCode::Csrf,
            "a cross-site request cannot sign in or out: its Origin is not this site's nor allowed",
        ));
    }
    let Ok(revoke) = read_revoke(&revoke_values) else {
        out.logs.push(format!(
            "{SESSION_REVOKE} not carried out: a value or a part between commas is neither \"current\" nor \"all\"; nothing revoked"
        ));
        return refuse(app, forward, out, Problem::new(
            ErrorCode::OriginUnavailable,
            "the origin's sign-out could not be read: nothing was revoked, the session may still work",
        ));
    };
    let issue = one_value(SESSION_ISSUE, &issue_values, &mut out.logs).and_then(|v| {
        parse_issue(v, head.client())
            .map_err(|why| out.logs.push(format!("{SESSION_ISSUE} ignored: {why}")))
            .ok()
    });
    if revoke.is_none() && issue.is_none() {
        out.set_cookies.extend(forward.set_cookie.clone());
        return out;
    }
    if let Some(new) = &issue {
        // Over RL_CREATE nothing is acted on: no session, no sign-out.
        let prefix = app.config().layout.prefix();
        match app.limits().creation(prefix, &new.user_id, OnFailure::Open).await {
            Ok(Passed::Yes) => {}
            Ok(Passed::Unchecked) => out.logs.push(format!(
                "{SESSION_ISSUE}: the rate limit {CREATE_BINDING} could not be checked (the binding failed): session created"
            )),
            Err(problem) => {
                out.logs.push(format!(
                    "{SESSION_ISSUE} not carried out: too many sessions created for this user ({CREATE_BINDING})"
                ));
                return refuse(app, forward, out, problem);
            }
        }
    }
    let cookie_name = &app.config().cookie_name;
    let sessions = match app.sessions() {
        Ok(sessions) => sessions,
        Err(problem) => {
            // Fail closed as for a store failure: the client is never told
            // it signed in or out when it did not (a sign-out still clears
            // the cookie).
            out.logs.push(format!(
                "{SESSION_ISSUE}/{SESSION_REVOKE} not carried out: TOKEN_KEYS is missing or invalid"
            ));
            out.failure = Some(problem);
            out.after = None;
            out.set_cookies = match revoke {
                Some(_) => vec![clear_cookie(cookie_name)],
                None => Vec::new(),
            };
            return out;
        }
    };
    let mut current = Current::new(forward);
    let ctx = head.context(Actor::Origin);
    // The current session is gone (revoked): issuing must not destroy it again.
    let mut current_gone = false;

    if let Some(revoke) = revoke {
        // Whatever happens next, the client is signed out and the session is
        // not slid back to life.
        out.after = None;
        out.set_cookies = vec![clear_cookie(cookie_name)];
        let result = match current.get(app, sessions, head).await {
            Ok(Some(session)) => match revoke {
                Revoke::Current => sessions
                    .run(Op::DestroySession { session }, &ctx)
                    .await
                    .map(drop),
                Revoke::All => {
                    let user_id = session.user_id;
                    let op = Op::DestroyUser {
                        user_id,
                        except: None,
                    };
                    sessions.run(op, &ctx).await.map(drop)
                }
            },
            // An authentic token whose session expired names a user whose
            // other sessions still work: "everywhere" is not done by
            // passing the origin's page on, so it says to sign in again.
            Ok(None) if revoke == Revoke::All && current.expired => {
                out.logs.push(format!(
                    "{SESSION_REVOKE}: all: the session has expired, nothing revoked"
                ));
                out.failure = Some(Problem::new(
                    ErrorCode::SessionExpired,
                    "the session has expired: sign in again to sign out everywhere",
                ));
                return release_unused_slide(app, forward, out);
            }
            // Nothing to revoke: signing out is idempotent.
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => current_gone = true,
            Err(e) => {
                out.logs.push(format!(
                    "{SESSION_REVOKE}: revoking {} failed: {e}",
                    match revoke {
                        Revoke::Current => "the session",
                        Revoke::All => "the user's sessions",
                    }
                ));
                out.failure = Some(Problem::new(
                    ErrorCode::StoreUnavailable,
                    "the sign-out could not be stored: the session may still work; try again",
                ));
                // Signing in again as if the sign-out had happened would
                // hide that it did not.
                return release_unused_slide(app, forward, out);
            }
        }
    }

    if let Some(new) = issue {
        match sessions
            .run(Op::Create { new }, &ctx)
            .await
            .and_then(Reply::created)
        {
            Err(SessionError::Invalid(e)) => out.logs.push(format!("{SESSION_ISSUE} ignored: {e}")),
            Err(e @ SessionError::RateLimited(_)) => {
                out.logs
                    .push(format!("{SESSION_ISSUE} not carried out: {e}"));
                out.failure = Some(Problem::from(e));
            }
            Err(e) => {
                out.logs
                    .push(format!("{SESSION_ISSUE}: creating the session failed: {e}"));
                out.failure = Some(Problem::new(
                    ErrorCode::StoreUnavailable,
                    "the sign-in could not be stored: no session was created; try again",
                ));
            }
            Ok((token, created)) => {
                out.after = None;
                out.set_cookies = vec![set_cookie(
                    cookie_name,
                    token.expose(),
                    created.seconds_to_expiry(app.now_ms()),
                )];
                if !current_gone {
                    let destroyed = match current.get(app, sessions, head).await {
                        Ok(Some(old)) => sessions
                            .run(Op::DestroySession { session: old }, &ctx.replacing())
                            .await
                            .map(drop),
                        Ok(None) => Ok(()),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = destroyed {
                        out.logs.push(format!(
                            "{SESSION_ISSUE}: destroying the replaced session failed: {e}"
                        ));
                    }
                }
            }
        }
    }
    release_unused_slide(app, forward, out)
}

/// The origin's answer replaced by `problem`, with nothing acted on: no
/// cookie set or cleared, no sliding write (its claim given back).
fn refuse<O: Sessions>(
    app: &App<'_, O>,
    forward: &Forward,
    mut out: Finish,
    problem: Problem,
) -> Finish {
    super::abandon(app, forward);
    out.after = None;
    out.set_cookies.clear();
    out.failure = Some(problem);
    out
}

/// The sliding write's cookie while the write still applies; otherwise a
/// claimed write dropped here (a revocation that failed, an issue) gives its
/// claim back, so that a later request may slide the session (releasing a
/// revoked one is harmless).
fn release_unused_slide<O: Sessions>(
    app: &App<'_, O>,
    forward: &Forward,
    mut out: Finish,
) -> Finish {
    match (&forward.slide, &out.after) {
        (_, Some(_)) => out.set_cookies.extend(forward.set_cookie.clone()),
        (Some(claimed), None) => app.claims().release(claimed),
        (None, None) => {}
    }
    out
}

/// The request's current session, verified on first use when the guard did
/// not (public paths): `known` is `None` until then.
struct Current {
    known: Option<Option<Session>>,
    /// The token presented was authentic but its session has expired.
    expired: bool,
}

impl Current {
    fn new(forward: &Forward) -> Current {
        Current {
            known: forward.session.clone().map(Some),
            expired: false,
        }
    }

    /// A store failure is not cached: a later call tries again.
    async fn get<O: Sessions>(
        &mut self,
        app: &App<'_, O>,
        sessions: &O,
        head: &RequestHead,
    ) -> Result<Option<Session>, SessionError> {
        if let Some(known) = &self.known {
            return Ok(known.clone());
        }
        let session = match presented_token(app, head) {
            None => None,
            Some(p) => match sessions
                .run(
                    Op::Verify {
                        token: p.token.to_owned(),
                    },
                    &Context::default(),
                )
                .await
                .and_then(Reply::session)
            {
                Ok(session) => Some(session),
                Err(e @ (SessionError::Store(_) | SessionError::Random)) => return Err(e),
                Err(SessionError::Expired) => {
                    self.expired = true;
                    None
                }
                Err(_) => None,
            },
        };
        self.known = Some(session.clone());
        Ok(session)
    }
}

/// The single visible-ASCII value of `X-Session-Issue`; `None`, with a log
/// line when there was something, otherwise.
fn one_value<'a>(header: &str, values: &'a [String], logs: &mut Vec<String>) -> Option<&'a str> {
    let visible = |v: &str| v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    match values {
        [] => None,
        [value] if visible(value) => Some(value),
        [_] => {
            logs.push(format!("{header} ignored: the value is not visible ASCII"));
            None
        }
        _ => {
            logs.push(format!(
                "{header} ignored: sent {} times, expected once",
                values.len()
            ));
            None
        }
    }
}

/// The revocation the `X-Session-Revoke` lines ask for (`Ok(None)`: none):
/// every part of every line between commas (a joined header, see the
/// module docs) must be `current` or `all`, and the strongest acts; `Err`
/// when one is neither.
fn read_revoke(values: &[String]) -> Result<Option<Revoke>, ()> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .try_fold(None, |strongest, part| {
            parse_revoke(part).map(|r| strongest.max(Some(r))).ok_or(())
        })
}

fn parse_revoke(value: &str) -> Option<Revoke> {
    let value = trim_ows_str(value);
    if value.eq_ignore_ascii_case("current") {
        Some(Revoke::Current)
    } else if value.eq_ignore_ascii_case("all") {
        Some(Revoke::All)
    } else {
        None
    }
}

/// Parses the `X-Session-Issue` JSON into a new session for `client`.
/// Errors name a known field and never echo a value nor an unknown field's
/// name (the origin's text).
fn parse_issue(text: &str, client: ClientInfo) -> Result<NewSession, String> {
    if text.len() > MAX_ISSUE_BYTES {
        return Err(format!("longer than {MAX_ISSUE_BYTES} bytes"));
    }
    if text.contains(", ") {
        return Err(
            "the value holds \", \", as lines of a header sent more than once read once \
            the runtime joined them (send one line; in a string write the comma as \\u002c)"
                .to_owned(),
        );
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("not valid JSON (line {}, column {})", e.line(), e.column()))?;
    NewSession::from_json(value, client).map_err(|e| {
        if e.field == "body" || NEW_SESSION_FIELDS.contains(&e.field.as_ref()) {
            e.to_string()
        } else {
            // The name is the origin's text: say which names are known.
            format!(
                "a field is not known (allowed: {})",
                NEW_SESSION_FIELDS.join(", ")
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn issue_parsing() {
        // The fields are NewSession::from_json's (tested there); here: the
        // JSON text, its bound, the client, and the log lines.
        let client = ClientInfo::new(Some("UA"), None);
        let new = parse_issue(r#"{"userId":"u1","meta":{"a":1}}"#, client.clone()).unwrap();
        assert_eq!(
            (new.user_id.as_str(), new.meta),
            ("u1", Some(json!({"a": 1})))
        );
        assert_eq!(
            new.client, client,
            "the session records the request's client"
        );
        for (text, starts) in [
            ("", "not valid JSON"),
            ("{", "not valid JSON"),
            ("[]", "body: must be a JSON object"),
            ("{}", "userId: "),
            (r#"{"userId":7}"#, "userId: "),
            (
                r#"{"userId":"u","extra":1}"#,
                "a field is not known (allowed: userId, ",
            ),
            (r#"{"userId":"a", "label":"b"}"#, "the value holds \", \""),
            (r#"{"userId":"u","label":1}"#, "label: "),
            (r#"{"userId":"u","meta":[]}"#, "meta: "),
            (r#"{"userId":"u","idleTtl":-1}"#, "idleTtl: "),
        ] {
            let e = parse_issue(text, ClientInfo::default()).unwrap_err();
            assert!(e.starts_with(starts), "{text}: {e}");
        }
        let big = format!(r#"{{"userId":"{}"}}"#, "u".repeat(MAX_ISSUE_BYTES));
        assert!(parse_issue(&big, ClientInfo::default())
            .unwrap_err()
            .starts_with("longer than"));
        // Values are never echoed.
        let e = parse_issue(
            r#"{"userId":"u","idleTtl":"es1.secret"}"#,
            ClientInfo::default(),
        )
        .unwrap_err();
        assert!(!e.contains("es1"), "{e}");
    }

    #[test]
    fn revoke_parsing() {
        assert_eq!(parse_revoke("current"), Some(Revoke::Current));
        assert_eq!(parse_revoke(" ALL "), Some(Revoke::All));
        for bad in ["", "everything", "current, all", "curren"] {
            assert_eq!(parse_revoke(bad), None, "{bad}");
        }
    }
}
