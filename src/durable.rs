//! The `UserSessions` Durable Object (`strong` mode): the owner of one
//! user's sessions, [`Owner`] of the core. It only wires: a request body is
//! an operation, an alarm the owner's alarm, and the alarm is set when the
//! owner asks for one sooner than the one set.

use std::cell::Cell;

use session_core::owner::{wire, Owner};
use session_core::{OsRandom, SessionError, StoreError};
use session_http::app::owner_settings;
use worker::{durable_object, Env, Request, Response, State};

use crate::platform::JsClock;
use crate::store::{DurableSql, WorkersKv, WorkersQueue};

#[durable_object(alarm)]
pub struct UserSessions {
    state: State,
    /// `None`: invalid configuration, or not named after an owner.
    owner: Option<Owner<DurableSql, WorkersKv, WorkersQueue, JsClock, OsRandom>>,
    /// The alarm this instance set that has not run yet (ms).
    alarm_ms: Cell<Option<i64>>,
}

impl UserSessions {
    async fn arm(&self, wanted: Option<i64>) {
        let Some(at) = wanted.filter(|at| self.alarm_ms.get().is_none_or(|set| *at < set)) else {
            return;
        };
        let delay = (at - js_sys::Date::now() as i64).max(0);
        if self.state.storage().set_alarm(delay).await.is_ok() {
            self.alarm_ms.set(Some(at));
        }
    }
}

impl worker::DurableObject for UserSessions {
    fn new(state: State, env: Env) -> Self {
        let settings = crate::settings(&env);
        let owner = settings.as_ref().as_ref().ok().and_then(|config| {
            let tag = config.layout.parse_owner_name(&state.id().name()?)?;
            let (sql, kv) = (DurableSql::new(&state), WorkersKv::from_env(&env));
            let queue = WorkersQueue::from_env(&env);
            let settings = owner_settings(config).ok()?;
            Some(Owner::new(sql, kv, queue, JsClock, OsRandom, settings, tag))
        });
        let alarm_ms = Cell::new(None);
        Self {
            state,
            owner,
            alarm_ms,
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let body = req.text().await.unwrap_or_default();
        let reply = match (&self.owner, wire::decode_call(&body)) {
            (Some(owner), Ok((op, ctx))) => {
                let handled = owner.handle(op, &ctx).await;
                self.arm(handled.alarm_ms).await;
                handled.reply
            }
            (_, Err(e)) => Err(e),
            (None, _) => Err(SessionError::Store(StoreError::Unavailable(
                "not a session owner, or the configuration is invalid".into(),
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
