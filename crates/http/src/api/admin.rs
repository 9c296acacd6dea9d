//! The admin routes (contract §5), for trusted backends holding `ADMIN_KEY`.

use http::{Method, StatusCode};
use serde_json::{json, Value};
use session_core::{Clock, KvStore, NewSession, Random, SessionError, Sessions};

use super::input::{decode_path_param, json_body, list_params, only_fields};
use super::render::{empty, json, summaries};
use super::routes::Route;
use super::Answer;
use crate::app::App;
use crate::auth::authorize_admin;
use crate::problem::{ErrorCode, Problem};
use crate::request::RequestHead;

/// The service, for a request carrying the admin key (see
/// [`authorize_admin`]).
fn authorized<'a, S: KvStore, C: Clock, R: Random>(
    app: &'a App<'_, S, C, R>,
    head: &RequestHead,
) -> Result<&'a Sessions<S, C, R>, Problem> {
    authorize_admin(app.config(), head)?;
    app.sessions()
}

/// Answers an admin route.
pub(super) async fn answer<S: KvStore, C: Clock, R: Random>(
    app: &App<'_, S, C, R>,
    head: &RequestHead,
    route: &Route<'_>,
    body: &[u8],
) -> Answer {
    let method = &head.method;
    match *route {
        Route::AdminSessions if method == Method::GET => {
            let sessions = authorized(app, head)?;
            let (limit, cursor) = list_params(head)?;
            let (page, next) = sessions
                .list_all(limit, cursor.as_deref())
                .await
                .map_err(Problem::from)?;
            let summaries: Vec<Value> = page.iter().map(|s| s.to_json()).collect();
            Ok(json(
                StatusCode::OK,
                &json!({ "sessions": summaries, "cursor": next }),
            ))
        }
        Route::AdminSessions => {
            let sessions = authorized(app, head)?;
            // The admin caller is a backend, not the user's device: its own
            // user agent would mislead, so admin-made sessions record no client.
            let new = NewSession::from_json(json_body(head, body)?, Default::default())
                .map_err(|e| Problem::invalid_field(&e.field, &e.reason))?;
            let (token, session) = sessions.create(new).await.map_err(Problem::from)?;
            let answer = json!({ "token": token.expose(), "session": session.to_json() });
            Ok(json(StatusCode::CREATED, &answer))
        }
        Route::AdminVerify => {
            let sessions = authorized(app, head)?;
            let body = json_body(head, body)?;
            let token = match only_fields(&body, &["token"])?.get("token") {
                Some(Value::String(token)) => token,
                _ => return Err(Problem::invalid_field("token", "must be a string")),
            };
            let session = sessions.verify(token).await.map_err(Problem::from)?;
            Ok(json(StatusCode::OK, &session.to_json()))
        }
        Route::AdminSessionById(id) => {
            let sessions = authorized(app, head)?;
            match *method {
                Method::GET => {
                    let session = sessions.get(id).await.map_err(Problem::from)?;
                    Ok(json(StatusCode::OK, &session.to_json()))
                }
                Method::PATCH => {
                    let patch = json_body(head, body)?;
                    let session = sessions.update(id, &patch).await.map_err(Problem::from)?;
                    Ok(json(StatusCode::OK, &session.to_json()))
                }
                _ => match sessions.destroy(id).await.map_err(Problem::from)? {
                    true => Ok(empty(StatusCode::NO_CONTENT)),
                    false => Err(SessionError::NotFound.into()),
                },
            }
        }
        Route::AdminUserSessions(encoded) => {
            let sessions = authorized(app, head)?;
            let user_id = decode_path_param(encoded)
                .ok_or_else(|| Problem::invalid_field("userId", "must be percent-encoded UTF-8"))?;
            if *method == Method::GET {
                let list = sessions
                    .list_user(&user_id, None)
                    .await
                    .map_err(Problem::from)?;
                Ok(json(
                    StatusCode::OK,
                    &json!({ "sessions": summaries(&list) }),
                ))
            } else {
                let revoked = sessions
                    .destroy_user(&user_id, None)
                    .await
                    .map_err(Problem::from)?;
                Ok(json(StatusCode::OK, &json!({ "revoked": revoked })))
            }
        }
        _ => Err(Problem::new(
            ErrorCode::NotFound,
            "no such route of the session API",
        )),
    }
}
