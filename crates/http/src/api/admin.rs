//! The admin routes (contract §5), for trusted backends holding `ADMIN_KEY`.

use http::{Method, StatusCode};
use serde_json::{json, Value};
use session_core::{Actor, Context, NewSession, Op, SessionError, Sessions};

use super::input::{decode_path_param, json_body, list_params, only_fields};
use super::render::{empty, json, summaries};
use super::routes::Route;
use super::Answer;
use crate::app::App;
use crate::auth::authorize_admin;
use crate::problem::{ErrorCode, Problem};
use crate::ratelimit::OnFailure;
use crate::request::RequestHead;

/// Answers an admin route: the admin key first (see [`admin_key`]), then
/// whether the service can run at all, then the input.
pub(super) async fn answer<O: Sessions>(
    app: &App<'_, O>,
    head: &RequestHead,
    route: &Route<'_>,
    body: &[u8],
) -> Answer {
    let ctx = head.context(Actor::Admin);
    admin_key(app, head, &ctx).await?;
    app.sessions()?;
    let method = &head.method;
    match *route {
        Route::AdminSessions if method == Method::GET => {
            let (limit, cursor) = list_params(head)?;
            let (page, next) = app.run(Op::ListAll { limit, cursor }, &ctx).await?.page()?;
            let summaries: Vec<Value> = page.iter().map(|s| s.to_json()).collect();
            Ok(json(
                StatusCode::OK,
                &json!({ "sessions": summaries, "cursor": next }),
            ))
        }
        Route::AdminSessions => {
            // The admin caller is a backend, not the user's device: its own
            // user agent would mislead, so admin-made sessions record no client.
            let new = NewSession::from_json(json_body(head, body)?, Default::default())
                .map_err(|e| Problem::invalid_field(&e.field, &e.reason))?;
            let prefix = app.config().layout.prefix();
            let limits = app.limits();
            limits
                .creation(prefix, &new.user_id, OnFailure::Closed)
                .await?;
            let (token, session) = app.run(Op::Create { new }, &ctx).await?.created()?;
            let answer = json!({ "token": token.expose(), "session": session.to_json() });
            Ok(json(StatusCode::CREATED, &answer))
        }
        Route::AdminVerify => {
            let body = json_body(head, body)?;
            let token = match only_fields(&body, &["token"])?.get("token") {
                Some(Value::String(token)) => token.clone(),
                _ => return Err(Problem::invalid_field("token", "must be a string")),
            };
            let session = app.run(Op::Verify { token }, &ctx).await?.session()?;
            Ok(json(StatusCode::OK, &session.to_json()))
        }
        Route::AdminSessionById(id) => {
            let id = id.to_owned();
            match *method {
                Method::GET => {
                    let session = app.run(Op::Get { id }, &ctx).await?.session()?;
                    Ok(json(StatusCode::OK, &session.to_json()))
                }
                Method::PATCH => {
                    let patch = json_body(head, body)?;
                    let session = app.run(Op::Update { id, patch }, &ctx).await?.session()?;
                    Ok(json(StatusCode::OK, &session.to_json()))
                }
                _ => match app
                    .run(Op::Destroy { id, user_id: None }, &ctx)
                    .await?
                    .done()?
                {
                    true => Ok(empty(StatusCode::NO_CONTENT)),
                    false => Err(SessionError::NotFound.into()),
                },
            }
        }
        Route::AdminUserSessions(encoded) => {
            let user_id = decode_path_param(encoded)
                .ok_or_else(|| Problem::invalid_field("userId", "must be percent-encoded UTF-8"))?;
            if *method == Method::GET {
                let op = Op::ListUser {
                    user_id,
                    current: None,
                };
                let list = app.run(op, &ctx).await?.summaries()?;
                Ok(json(
                    StatusCode::OK,
                    &json!({ "sessions": summaries(&list) }),
                ))
            } else {
                let op = Op::DestroyUser {
                    user_id,
                    except: None,
                };
                let revoked = app.run(op, &ctx).await?.count()?;
                Ok(json(StatusCode::OK, &json!({ "revoked": revoked })))
            }
        }
        _ => Err(Problem::new(
            ErrorCode::NotFound,
            "no such route of the session API",
        )),
    }
}

/// The admin key ([`authorize_admin`]) under `RL_ADMIN`: a client over its
/// limit of failed attempts is refused before the key is compared, and a
/// key that does not match is counted (see [`crate::ratelimit`]).
async fn admin_key<O: Sessions>(
    app: &App<'_, O>,
    head: &RequestHead,
    ctx: &Context,
) -> Result<(), Problem> {
    let config = app.config();
    if config.admin_key.is_none() {
        return authorize_admin(config, head);
    }
    let now = app.now_ms();
    let attempt = app.limits().admin_gate(head, now)?;
    match authorize_admin(config, head) {
        Ok(()) => Ok(()),
        // No key presented: nothing was guessed.
        Err(refusal) if head.header("authorization").is_none() => Err(refusal),
        // A wrong key: an `admin.auth_failed` event, and it counts.
        Err(refusal) => {
            app.record_admin_auth_failure(ctx);
            Err(app.limits().admin_failed(attempt, now, refusal).await)
        }
    }
}
