//! The session API mounted at `API_PREFIX` (contract §4, §5, §7): routing,
//! authentication, body parsing and rendering. Handlers are thin: they parse,
//! call the [`SessionService`](session_core::SessionService), and render.
//!
//! The Worker reads the body (at most [`MAX_BODY_BYTES`], answering 413 above
//! that before any parsing) and hands it here with the request head.

use http::{header, HeaderValue, Method, Response, StatusCode};
use serde_json::{json, Map, Value};
use session_core::{
    Clock, KvStore, NewSession, Random, Session, SessionError, SessionService, Writer,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::cookie::{bearer_token, clear_cookie, request_token, set_cookie, TokenSource};
use crate::cors;
use crate::csrf::csrf_ok;
use crate::problem::{ErrorCode, Problem};
use crate::request::RequestHead;

/// Largest request body the API accepts (413 `payload_too_large` above).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Page size of the admin listing when `limit` is not given.
pub const DEFAULT_LIST_LIMIT: usize = 100;
/// Longest `cursor` query parameter accepted.
const MAX_CURSOR_BYTES: usize = 1024;

/// The OpenAPI 3.1 document of this API, with paths under the default prefix.
pub const OPENAPI_JSON: &str = include_str!("../../../openapi.json");
/// The prefix the paths of [`OPENAPI_JSON`] are written with.
pub const OPENAPI_PREFIX: &str = "/auth";

/// Every route: its path template under the prefix and its methods. The
/// OpenAPI test checks this table against the document, both ways.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/session", &["GET", "PATCH", "DELETE"]),
    ("/session/refresh", &["POST"]),
    ("/sessions", &["GET", "DELETE"]),
    ("/sessions/{id}", &["DELETE"]),
    ("/admin/sessions", &["GET", "POST"]),
    ("/admin/verify", &["POST"]),
    ("/admin/sessions/{id}", &["GET", "PATCH", "DELETE"]),
    ("/admin/users/{userId}/sessions", &["GET", "DELETE"]),
    ("/openapi.json", &["GET"]),
];

/// A matched route, with its path parameter still percent-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route<'a> {
    Session,
    Refresh,
    Sessions,
    SessionById(&'a str),
    AdminSessions,
    AdminVerify,
    AdminSessionById(&'a str),
    AdminUserSessions(&'a str),
    OpenApi,
}

impl<'a> Route<'a> {
    /// Matches the path below the prefix (starting with `/`).
    fn parse(subpath: &'a str) -> Option<Route<'a>> {
        let segments: Vec<&str> = subpath[1..].split('/').collect();
        let param = |s: &'a str| (!s.is_empty()).then_some(s);
        Some(match segments.as_slice() {
            ["session"] => Route::Session,
            ["session", "refresh"] => Route::Refresh,
            ["sessions"] => Route::Sessions,
            ["sessions", id] => Route::SessionById(param(id)?),
            ["admin", "sessions"] => Route::AdminSessions,
            ["admin", "verify"] => Route::AdminVerify,
            ["admin", "sessions", id] => Route::AdminSessionById(param(id)?),
            ["admin", "users", user, "sessions"] => Route::AdminUserSessions(param(user)?),
            ["openapi.json"] => Route::OpenApi,
            _ => return None,
        })
    }

    fn methods(&self) -> &'static [&'static str] {
        let template = match self {
            Route::Session => "/session",
            Route::Refresh => "/session/refresh",
            Route::Sessions => "/sessions",
            Route::SessionById(_) => "/sessions/{id}",
            Route::AdminSessions => "/admin/sessions",
            Route::AdminVerify => "/admin/verify",
            Route::AdminSessionById(_) => "/admin/sessions/{id}",
            Route::AdminUserSessions(_) => "/admin/users/{userId}/sessions",
            Route::OpenApi => "/openapi.json",
        };
        ROUTES
            .iter()
            .find(|(t, _)| *t == template)
            .map_or(&[], |(_, m)| m)
    }
}

type Answer = Result<Response<Vec<u8>>, Problem>;

/// Answers a request whose path is below `API_PREFIX/`. Never panics, never
/// answers 500: every failure is a problem+json with the contract's code.
pub async fn handle<S: KvStore, C: Clock, R: Random>(
    app: &App<'_, S, C, R>,
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

async fn route<S: KvStore, C: Clock, R: Random>(
    app: &App<'_, S, C, R>,
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
    let method = &head.method;
    match route {
        Route::OpenApi => Ok(openapi(&app.config().api_prefix)),
        Route::Session | Route::Refresh | Route::Sessions | Route::SessionById(_) => {
            let me = authenticate(app, head).await?;
            self_service(app, head, &me, &route, body).await
        }
        Route::AdminSessions if method == Method::GET => {
            let sessions = admin(app, head)?;
            let (limit, cursor) = list_params(head)?;
            let (page, next) = sessions
                .list_all(limit, cursor.as_deref())
                .await
                .map_err(session_problem)?;
            let summaries: Vec<Value> = page.iter().map(|s| s.to_json()).collect();
            Ok(json(
                StatusCode::OK,
                &json!({ "sessions": summaries, "cursor": next }),
            ))
        }
        Route::AdminSessions => {
            let sessions = admin(app, head)?;
            // The admin caller is a backend, not the user's device: its own
            // user agent would mislead, so admin-made sessions record no client.
            let new = NewSession::from_json(json_body(head, body)?, Default::default())
                .map_err(|e| Problem::invalid_field(&e.field, &e.reason))?;
            let (token, session) = sessions.create(new).await.map_err(session_problem)?;
            let answer = json!({ "token": token.expose(), "session": session.to_json() });
            Ok(json(StatusCode::CREATED, &answer))
        }
        Route::AdminVerify => {
            let sessions = admin(app, head)?;
            let body = json_body(head, body)?;
            let token = match only_fields(&body, &["token"])?.get("token") {
                Some(Value::String(token)) => token,
                _ => return Err(Problem::invalid_field("token", "must be a string")),
            };
            let session = sessions.verify(token).await.map_err(session_problem)?;
            Ok(json(StatusCode::OK, &session.to_json()))
        }
        Route::AdminSessionById(id) => {
            let sessions = admin(app, head)?;
            match *method {
                Method::GET => {
                    let session = sessions.get(id).await.map_err(session_problem)?;
                    Ok(json(StatusCode::OK, &session.to_json()))
                }
                Method::PATCH => {
                    let patch = json_body(head, body)?;
                    let session = sessions.update(id, &patch).await.map_err(session_problem)?;
                    Ok(json(StatusCode::OK, &session.to_json()))
                }
                _ => match sessions.destroy(id).await.map_err(session_problem)? {
                    true => Ok(empty(StatusCode::NO_CONTENT)),
                    false => Err(not_found()),
                },
            }
        }
        Route::AdminUserSessions(encoded) => {
            let sessions = admin(app, head)?;
            let user_id = decode_path_param(encoded)
                .ok_or_else(|| Problem::invalid_field("userId", "must be percent-encoded UTF-8"))?;
            if *method == Method::GET {
                let list = sessions
                    .list_user(&user_id, None)
                    .await
                    .map_err(session_problem)?;
                Ok(json(
                    StatusCode::OK,
                    &json!({ "sessions": summaries(&list) }),
                ))
            } else {
                let revoked = sessions
                    .destroy_user(&user_id, None)
                    .await
                    .map_err(session_problem)?;
                Ok(json(StatusCode::OK, &json!({ "revoked": revoked })))
            }
        }
    }
}

/// The caller of a self-service route: its live session, its token and where
/// the token came from.
struct Caller {
    session: Session,
    token: String,
    source: TokenSource,
}

/// Authenticates a self-service request: 503 when misconfigured, 401 without
/// a token, 403 `csrf` for a cookie-authenticated unsafe request from a
/// foreign origin (decided before any KV read), then one KV read to verify.
async fn authenticate<S: KvStore, C: Clock, R: Random>(
    app: &App<'_, S, C, R>,
    head: &RequestHead,
) -> Result<Caller, Problem> {
    let sessions = app.sessions()?;
    let config = app.config();
    let cookies = head.cookies();
    let tag_ok = |t: &str| sessions.key_ring().verify_token(t).is_ok();
    let presented = request_token(
        head.header("authorization"),
        cookies.as_deref(),
        &config.cookie_name,
        tag_ok,
    )
    .ok_or_else(|| Problem::new(ErrorCode::Unauthorized, "a session token is required"))?;
    if presented.source == TokenSource::Cookie
        && !csrf_ok(
            head.method.as_str(),
            head.header("origin"),
            head.url.as_str(),
            &config.allowed_origins,
        )
    {
        return Err(Problem::new(
            ErrorCode::Csrf,
            "a cookie-authenticated unsafe request needs an Origin of this site or of ALLOWED_ORIGINS",
        ));
    }
    let session = sessions
        .verify(presented.token)
        .await
        .map_err(session_problem)?;
    Ok(Caller {
        session,
        token: presented.token.to_owned(),
        source: presented.source,
    })
}

async fn self_service<S: KvStore, C: Clock, R: Random>(
    app: &App<'_, S, C, R>,
    head: &RequestHead,
    me: &Caller,
    route: &Route<'_>,
    body: &[u8],
) -> Answer {
    let sessions = app.sessions()?;
    let cookie_name = &app.config().cookie_name;
    let method = &head.method;
    match (route, method) {
        (Route::Session, &Method::GET) => Ok(json(StatusCode::OK, &me.session.to_json())),
        (Route::Session, &Method::PATCH) => {
            let patch = json_body(head, body)?;
            let session = sessions
                .update_session(&me.session, &patch, Writer::Holder)
                .await
                .map_err(session_problem)?;
            Ok(json(StatusCode::OK, &session.to_json()))
        }
        (Route::Session, _) => {
            sessions
                .destroy_session(&me.session)
                .await
                .map_err(session_problem)?;
            Ok(with_cookie(
                empty(StatusCode::NO_CONTENT),
                &clear_cookie(cookie_name),
            ))
        }
        (Route::Refresh, _) => {
            let session = sessions
                .refresh(&me.session)
                .await
                .map_err(session_problem)?;
            let response = json(StatusCode::OK, &session.to_json());
            Ok(match me.source {
                TokenSource::Cookie => {
                    let max_age = session.seconds_to_expiry(sessions.now_ms());
                    with_cookie(response, &set_cookie(cookie_name, &me.token, max_age))
                }
                TokenSource::Bearer => response,
            })
        }
        (Route::Sessions, &Method::GET) => {
            let list = sessions
                .list_user(&me.session.user_id, Some(&me.session.id))
                .await
                .map_err(session_problem)?;
            Ok(json(
                StatusCode::OK,
                &json!({ "sessions": summaries(&list) }),
            ))
        }
        (Route::Sessions, _) => {
            let keep_current = others_param(head)?;
            let except = keep_current.then_some(me.session.id.as_str());
            let revoked = sessions
                .destroy_user(&me.session.user_id, except)
                .await
                .map_err(session_problem)?;
            let response = json(StatusCode::OK, &json!({ "revoked": revoked }));
            Ok(if keep_current {
                response
            } else {
                with_cookie(response, &clear_cookie(cookie_name))
            })
        }
        (Route::SessionById(id), _) => {
            let destroyed = sessions
                .destroy_owned(&me.session.user_id, id)
                .await
                .map_err(session_problem)?;
            if !destroyed {
                return Err(not_found());
            }
            let response = empty(StatusCode::NO_CONTENT);
            Ok(if *id == me.session.id.as_str() {
                with_cookie(response, &clear_cookie(cookie_name))
            } else {
                response
            })
        }
        _ => Err(not_found()),
    }
}

/// Authorizes an admin request: 503 `admin_disabled` without `ADMIN_KEY`, 401
/// unless the bearer equals it (compared in constant time, as SHA-256 digests
/// so that not even the key's length leaks), then the service (503
/// `misconfigured` without usable `TOKEN_KEYS`).
fn admin<'a, S: KvStore, C: Clock, R: Random>(
    app: &'a App<'_, S, C, R>,
    head: &RequestHead,
) -> Result<&'a SessionService<S, C, R>, Problem> {
    let Some(key) = app.config().admin_key.as_deref() else {
        return Err(Problem::new(
            ErrorCode::AdminDisabled,
            "the admin API is disabled: ADMIN_KEY is not set",
        ));
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
    app.sessions()
}

/// The JSON body of a request: 415 unless `application/json` or
/// `application/merge-patch+json`, 400 naming `body` when malformed.
fn json_body(head: &RequestHead, body: &[u8]) -> Result<Value, Problem> {
    let media_type = head.header("content-type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match media_type.as_deref() {
        Some("application/json") | Some("application/merge-patch+json") => {}
        _ => {
            return Err(Problem::new(
                ErrorCode::UnsupportedMediaType,
                "the body must be application/json or application/merge-patch+json",
            ))
        }
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(Problem::new(
            ErrorCode::PayloadTooLarge,
            "the body is over 64 KiB",
        ));
    }
    // serde_json's syntax errors name a line and column, never the input.
    serde_json::from_slice(body)
        .map_err(|e| Problem::invalid_field("body", &format!("malformed JSON: {e}")))
}

/// The object's fields, 400 naming `body` when not an object and naming the
/// first unknown field otherwise.
fn only_fields<'v>(body: &'v Value, known: &[&str]) -> Result<&'v Map<String, Value>, Problem> {
    let Value::Object(fields) = body else {
        return Err(Problem::invalid_field("body", "must be a JSON object"));
    };
    if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
        let shown: String = unknown
            .chars()
            .take(session_core::text::QUOTE_CHARS)
            .collect();
        return Err(Problem::invalid_field(&shown, "is not a known field"));
    }
    Ok(fields)
}

/// A percent-encoded path segment as text: `None` when an escape is not `%`
/// and two hex digits (`%ZZ`) or the bytes are not UTF-8.
fn decode_path_param(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// `limit` (1..=1000, default 100) and `cursor` of the admin listing.
fn list_params(head: &RequestHead) -> Result<(usize, Option<String>), Problem> {
    let mut limit = None;
    let mut cursor = None;
    for (name, value) in head.url.query_pairs() {
        match name.as_ref() {
            "limit" if limit.is_none() => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=session_core::store::MAX_LIST_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Problem::invalid_field("limit", "must be a whole number from 1 to 1000")
                    })?;
                limit = Some(n);
            }
            "cursor" if cursor.is_none() => {
                if value.is_empty() || value.len() > MAX_CURSOR_BYTES {
                    return Err(Problem::invalid_field(
                        "cursor",
                        "is not a cursor of this listing",
                    ));
                }
                cursor = Some(value.into_owned());
            }
            _ => {}
        }
    }
    Ok((limit.unwrap_or(DEFAULT_LIST_LIMIT), cursor))
}

/// `?others=true|false` of `DELETE sessions`.
fn others_param(head: &RequestHead) -> Result<bool, Problem> {
    match head.url.query_pairs().find(|(name, _)| name == "others") {
        None => Ok(false),
        Some((_, v)) if v == "true" => Ok(true),
        Some((_, v)) if v == "false" => Ok(false),
        Some(_) => Err(Problem::invalid_field("others", "must be true or false")),
    }
}

/// The contract's answer to each failure of the core.
pub fn session_problem(error: SessionError) -> Problem {
    match error {
        SessionError::InvalidToken => {
            Problem::new(ErrorCode::InvalidToken, "the session token is not valid")
        }
        SessionError::Expired => Problem::new(ErrorCode::SessionExpired, "the session has expired"),
        SessionError::NotFound => not_found(),
        SessionError::Invalid(e) => Problem::invalid_field(&e.field, &e.reason),
        SessionError::Forbidden { field } => Problem::forbidden_field(
            field,
            "is written only by the origin (X-Session-Issue) and the admin API",
        ),
        SessionError::Store(e) => {
            Problem::new(ErrorCode::StoreUnavailable, format!("session store: {e}"))
        }
        SessionError::Random => {
            Problem::new(ErrorCode::StoreUnavailable, "random source unavailable")
        }
    }
}

fn not_found() -> Problem {
    Problem::new(ErrorCode::NotFound, "no such session")
}

fn summaries(list: &[session_core::Summary]) -> Vec<Value> {
    list.iter().map(|s| s.to_json()).collect()
}

fn json(status: StatusCode, value: &Value) -> Response<Vec<u8>> {
    let mut response = Response::new(serde_json::to_vec(value).unwrap_or_default());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn empty(status: StatusCode) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_cookie(mut response: Response<Vec<u8>>, cookie: &str) -> Response<Vec<u8>> {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The OpenAPI document with its paths moved under the configured prefix.
fn openapi(prefix: &str) -> Response<Vec<u8>> {
    let mut doc: Value = serde_json::from_str(OPENAPI_JSON).unwrap_or(Value::Null);
    if prefix != OPENAPI_PREFIX {
        if let Some(Value::Object(paths)) = doc.get_mut("paths") {
            let moved: Map<String, Value> = std::mem::take(paths)
                .into_iter()
                .map(|(path, item)| match path.strip_prefix(OPENAPI_PREFIX) {
                    Some(rest) => (format!("{prefix}{rest}"), item),
                    None => (path, item),
                })
                .collect();
            *paths = moved;
        }
    }
    let mut response = json(StatusCode::OK, &doc);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
