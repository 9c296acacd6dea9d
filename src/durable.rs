//! The `UserSessions` Durable Object (`strong` mode): the owner of one
//! user's sessions. It only wires: each request body is an operation for
//! the core's [`Owner`], each alarm the owner's alarm, and the alarm is set
//! when the owner asks for it.

use std::cell::Cell;

use session_core::owner::{wire, Owner};
use session_core::random::OsRandom;
use session_core::{SessionError, StoreError};
use session_http::app::owner_settings;
use worker::{durable_object, Env, Request, Response, State};

use crate::platform::JsClock;
use crate::store::{DurableSql, WorkersKv};

type UserOwner = Owner<DurableSql, WorkersKv, JsClock, OsRandom>;

#[durable_object(alarm)]
pub struct UserSessions {
    state: State,
    /// `None` when the configuration is invalid or this object was not
    /// named after an owner (`USER_SESSIONS.idFromName(owner name)`).
    owner: Option<UserOwner>,
    /// The alarm this instance set and that has not run yet.
    alarm_ms: Cell<Option<i64>>,
}

impl UserSessions {
    async fn arm(&self, wanted: Option<i64>) {
        let Some(at) = wanted else { return };
        if self.alarm_ms.get().is_some_and(|set| set <= at) {
            return;
        }
        let now = js_sys::Date::now() as i64;
        if self
            .state
            .storage()
            .set_alarm((at - now).max(0))
            .await
            .is_ok()
        {
            self.alarm_ms.set(Some(at));
        }
    }
}

impl worker::DurableObject for UserSessions {
    fn new(state: State, env: Env) -> Self {
        let settings = crate::settings(&env);
        let owner = settings.as_ref().as_ref().ok().and_then(|config| {
            let tag = config.layout.parse_owner_name(&state.id().name()?)?;
            let settings = owner_settings(config).ok()?;
            let sql = DurableSql::new(&state);
            Some(Owner::new(
                sql,
                WorkersKv::from_env(&env),
                JsClock,
                OsRandom,
                settings,
                tag,
            ))
        });
        Self {
            state,
            owner,
            alarm_ms: Cell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let body = req.text().await.unwrap_or_default();
        let reply = match (&self.owner, wire::decode_op(&body)) {
            (Some(owner), Ok(op)) => {
                let handled = owner.handle(op).await;
                self.arm(handled.alarm_ms).await;
                handled.reply
            }
            (_, Err(e)) => Err(e),
            (None, _) => Err(SessionError::Store(StoreError::Unavailable(
                "this object is not a session owner, or the configuration is invalid".into(),
            ))),
        };
        Response::ok(wire::encode_reply(&reply))
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.alarm_ms.set(None);
        if let Some(owner) = &self.owner {
            self.arm(owner.alarm().await).await;
        }
        Response::ok("")
    }
}
