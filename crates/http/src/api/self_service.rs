//! The self-service routes (contract §4): a signed-in user's own session
//! and the other sessions of the same user.

use http::{Method, StatusCode};
use serde_json::json;
use session_core::{Actor, Op, SessionError, Sessions, Writer};

use super::input::{json_body, others_param};
use super::render::{empty, json, summaries, with_cookie};
use super::routes::Route;
use super::Answer;
use crate::app::App;
use crate::auth::{Caller, TokenSource};
use crate::cookie::{clear_cookie, set_cookie};
use crate::request::RequestHead;

/// Answers a self-service route for the caller `me`.
pub(super) async fn answer<O: Sessions>(
    app: &App<'_, O>,
    head: &RequestHead,
    me: &Caller<'_>,
    route: &Route<'_>,
    body: &[u8],
) -> Answer {
    let cookie_name = &app.config().cookie_name;
    let ctx = head.context(Actor::User);
    let method = &head.method;
    match (route, method) {
        (Route::Session, &Method::GET) => Ok(json(StatusCode::OK, &me.session.to_json())),
        (Route::Session, &Method::PATCH) => {
            let patch = json_body(head, body)?;
            let session = app
                .run(
                    Op::UpdateSession {
                        session: me.session.clone(),
                        patch,
                        writer: Writer::Holder,
                    },
                    &ctx,
                )
                .await?
                .session()?;
            Ok(json(StatusCode::OK, &session.to_json()))
        }
        (Route::Session, _) => {
            app.run(
                Op::DestroySession {
                    session: me.session.clone(),
                },
                &ctx,
            )
            .await?;
            Ok(with_cookie(
                empty(StatusCode::NO_CONTENT),
                &clear_cookie(cookie_name),
            ))
        }
        (Route::Refresh, _) => {
            let session = app
                .run(
                    Op::Refresh {
                        session: me.session.clone(),
                    },
                    &ctx,
                )
                .await?
                .session()?;
            let response = json(StatusCode::OK, &session.to_json());
            Ok(match me.source {
                TokenSource::Cookie => {
                    let max_age = session.seconds_to_expiry(app.now_ms());
                    with_cookie(response, &set_cookie(cookie_name, me.token, max_age))
                }
                TokenSource::Bearer => response,
            })
        }
        (Route::Sessions, &Method::GET) => {
            let list = app
                .run(
                    Op::ListUser {
                        user_id: me.session.user_id.clone(),
                        current: Some(me.session.id.to_string()),
                    },
                    &ctx,
                )
                .await?
                .summaries()?;
            Ok(json(
                StatusCode::OK,
                &json!({ "sessions": summaries(&list) }),
            ))
        }
        (Route::Sessions, _) => {
            let keep_current = others_param(head)?;
            let except = keep_current.then(|| me.session.id.to_string());
            let revoked = app
                .run(
                    Op::DestroyUser {
                        user_id: me.session.user_id.clone(),
                        except,
                    },
                    &ctx,
                )
                .await?
                .count()?;
            let response = json(StatusCode::OK, &json!({ "revoked": revoked }));
            Ok(if keep_current {
                response
            } else {
                with_cookie(response, &clear_cookie(cookie_name))
            })
        }
        (Route::SessionById(id), _) => {
            let destroyed = app
                .run(
                    Op::Destroy {
                        id: (*id).to_owned(),
                        user_id: Some(me.session.user_id.clone()),
                    },
                    &ctx,
                )
                .await?
                .done()?;
            if !destroyed {
                return Err(SessionError::NotFound.into());
            }
            let response = empty(StatusCode::NO_CONTENT);
            Ok(if *id == me.session.id.as_str() {
                with_cookie(response, &clear_cookie(cookie_name))
            } else {
                response
            })
        }
        _ => Err(SessionError::NotFound.into()),
    }
}
