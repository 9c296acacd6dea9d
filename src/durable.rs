//! The `UserSessions` Durable Object (`strong` mode): the owner of one
//! user's sessions. Each call runs the core's session service over the
//! object's own storage ([`session_core::owner::serve`]); then the owner
//! brings KV's index up to date (a bounded batch) and sets its alarm, which
//! carries the rest on, tidies what a call that failed half way left, and
//! removes expired entries, so the object's storage stays bounded by its
//! live sessions.

use std::rc::Rc;

use session_core::owner::{serve, DrainGate, OwnerCall, OwnerReply, OwnerStore};
use session_core::random::OsRandom;
use session_core::store::ObjectKv;
use session_core::{Ledger, SessionError, SessionService, StoreError};
use session_http::config::Config;
use worker::{console_error, durable_object, Env, Request, Response, State};

use crate::platform::JsClock;
use crate::store::{DurableStorage, EdgeStore, OwnerStorage, WorkersKv};

/// KV calls one request or alarm makes at most for the outbox: well under
/// Workers' 1000 subrequests per invocation.
const DRAIN_BUDGET: usize = 500;
/// Entries one alarm looks at for expiry, and for its tidy (its own
/// storage: no subrequests).
const PURGE_BUDGET: usize = 200_000;
/// When KV failed or work is left, the alarm tries again this much later.
const RETRY_MS: i64 = 1000;

#[durable_object(alarm)]
pub struct UserSessions {
    state: State,
    env: Env,
    /// Sliding claims and write marks, as in the Worker's isolate.
    ledger: Rc<Ledger>,
    /// One drain of the outbox at a time.
    gate: DrainGate,
}

impl UserSessions {
    /// This object's store; `None` when its name is not an owner's (it was
    /// not created by `USER_SESSIONS.idFromName` with an owner name).
    fn store(&self, config: &Config) -> Option<OwnerStorage> {
        let name = self.state.id().name()?;
        let owner = config.layout.parse_owner_name(&name)?;
        let local = ObjectKv::new(DurableStorage::new(self.state.storage()), JsClock);
        Some(OwnerStore::new(
            local,
            WorkersKv::from_env(&self.env),
            Rc::clone(&config.layout),
            JsClock,
            owner,
        ))
    }

    async fn run(&self, body: &str) -> OwnerReply {
        let settings = crate::settings(&self.env);
        let Ok(config) = settings.as_ref() else {
            return unavailable("the configuration is invalid");
        };
        let Ok(ring) = &config.key_ring else {
            return unavailable("TOKEN_KEYS is missing or invalid");
        };
        let Ok(call) = serde_json::from_str::<OwnerCall>(body) else {
            return OwnerReply::failed(&SessionError::Store(StoreError::Rejected(
                "not an owner call".into(),
            )));
        };
        let Some(store) = self.store(config).map(Rc::new) else {
            return unavailable("this object is not a session owner");
        };
        let service = SessionService::new(
            EdgeStore::Owner(Rc::clone(&store)),
            JsClock,
            OsRandom,
            Rc::clone(ring),
            Rc::clone(&config.layout),
        )
        .with_policy(config.policy)
        .with_ledger(Rc::clone(&self.ledger));
        let reply = serve(&service, call).await;
        // A call the storage failed may have stopped half way: the alarm
        // tidies it soon.
        self.settle(&store, false, reply.store_failed()).await;
        reply
    }

    /// After a call (`alarm` false) or in the alarm: KV's share of the
    /// work, in the alarm also what failed calls left and the expired
    /// entries, then the next alarm (soon when `failed`).
    async fn settle(&self, store: &OwnerStorage, alarm: bool, failed: bool) {
        let now = js_sys::Date::now() as i64;
        let untidy = alarm
            && match store.tidy(PURGE_BUDGET).await {
                Ok(tidy) => !tidy.done,
                Err(e) => {
                    console_error!("owner: tidy failed: {e}");
                    true
                }
            };
        // A call drains only what it queued: the backlog is the alarm's.
        let undrained = match self.gate.drain(store, DRAIN_BUDGET, alarm).await {
            Ok(more) => more,
            Err(e) => {
                console_error!("owner: KV index update deferred: {e}");
                true
            }
        };
        let retry = undrained || failed || untidy;
        let expiry = if alarm {
            match store.local().purge_expired(PURGE_BUDGET).await {
                Ok(purge) if purge.done => purge.next_expiration_ms,
                Ok(_) => Some(now + RETRY_MS),
                Err(e) => {
                    console_error!("owner: expiry sweep failed: {e}");
                    Some(now + RETRY_MS)
                }
            }
        } else {
            store.local().take_earliest_expiration()
        };
        let Some(wanted) = [retry.then_some(now + RETRY_MS), expiry]
            .into_iter()
            .flatten()
            .min()
        else {
            return;
        };
        let storage = self.state.storage();
        // In the alarm, the alarm that runs is spent: always arm again.
        if !alarm {
            let current = storage.get_alarm().await.ok().flatten();
            if current.is_some_and(|at| at <= wanted) {
                return;
            }
        }
        if let Err(e) = storage.set_alarm((wanted - now).max(0)).await {
            console_error!("owner: alarm not set: {e}");
        }
    }
}

fn unavailable(why: &str) -> OwnerReply {
    OwnerReply::failed(&SessionError::Store(StoreError::Unavailable(why.into())))
}

impl worker::DurableObject for UserSessions {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            ledger: Rc::default(),
            gate: DrainGate::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let body = req.text().await.unwrap_or_default();
        let reply = self.run(&body).await;
        let text = serde_json::to_string(&reply).unwrap_or_default();
        Response::ok(text)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let settings = crate::settings(&self.env);
        if let Some(store) = settings.as_ref().as_ref().ok().and_then(|c| self.store(c)) {
            self.settle(&store, true, false).await;
        }
        Response::ok("")
    }
}
