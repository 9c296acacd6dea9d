//! The owner of one user's sessions (`strong` mode), as a plain type: the
//! Durable Object class only feeds it requests and alarms.
//!
//! ```ignore
//! let owner = Owner::new(sql, kv, queue, clock, random, settings, tag);
//! let handled = owner.handle(op, &ctx).await;   // the reply, and when to wake up
//! // ... later, in the object's alarm:
//! let next = owner.alarm().await;
//! ```
//!
//! An operation runs the session service over the owner's [`Tables`], all
//! of it in one transaction: the owner runs one operation at a time, so it
//! is exact (a revocation holds for the very next request, the cap is
//! exact), and a failure leaves nothing half done. KV hears of it after,
//! through the outbox ([`Owner::drain`]): right after the operation within
//! a budget, the rest in the alarm, which also drops sessions kept past
//! their end and goes on with an unfinished import (see [`super::import`]).

use std::cell::Cell;
use std::rc::Rc;

use super::creations::{admit, CreateLimit};
use super::route::{route, Route};
use super::sql::{run_now, Sql};
use super::tables::{Pending, Tables};
use crate::clock::Clock;
use crate::events::{Context, EventQueue, MAX_BATCH};
use crate::layout::{ttl_secs_until, KeyLayout};
use crate::ops::{Op, Reply};
use crate::policy::Policy;
use crate::random::Random;
use crate::service::{SessionError, SessionService};
use crate::store::{KvStore, PutOptions, StoreError};
use crate::token::{KeyRing, OwnerTag};

/// KV calls one operation makes at most for the outbox after it runs: well
/// under Workers' 1000 subrequests per invocation.
pub const DRAIN_BUDGET: usize = 500;
/// When KV failed or work is left, the alarm comes back this much later.
pub const RETRY_MS: i64 = 1000;
/// Outbox rows read at a time.
const DRAIN_BATCH: usize = 100;

/// What the owner's sessions are made with: the configuration's key ring,
/// layout (`KEY_PREFIX`) and policy, and how many a user may create
/// ([`super::creations`]; `None`: no limit).
#[derive(Clone)]
pub struct OwnerSettings {
    pub key_ring: Rc<KeyRing>,
    pub layout: Rc<KeyLayout>,
    pub policy: Policy,
    pub create_limit: Option<CreateLimit>,
}

/// What [`Owner::handle`] answers: the operation's reply, and when the
/// object's alarm should run next (`None`: no need).
#[derive(Debug)]
pub struct Handled {
    pub reply: Result<Reply, SessionError>,
    pub alarm_ms: Option<i64>,
}

/// See the module documentation.
pub struct Owner<Q, K, E, C, N> {
    pub(super) tables: Tables<Q>,
    pub(super) kv: K,
    /// The `EVENTS` queue, when bound.
    queue: Option<E>,
    pub(super) clock: C,
    random: N,
    pub(super) settings: OwnerSettings,
    key_prefix: Rc<str>,
    pub(super) tag: OwnerTag,
    /// The tables exist (created by a committed transaction of this instance).
    schema: Cell<bool>,
    /// KV's sessions of this owner's user were imported.
    pub(super) imported: Cell<bool>,
    /// A drain of the outbox is running.
    draining: Cell<bool>,
    /// KV calls after each operation; `None`: [`DRAIN_BUDGET`].
    drain_budget: Cell<Option<usize>>,
}

impl<Q: Sql, K: KvStore, E: EventQueue, C: Clock, N: Random> Owner<Q, K, E, C, N> {
    /// The owner `tag` over its tables `sql`, KV and, when bound, the
    /// events queue.
    pub fn new(
        sql: Q,
        kv: K,
        queue: Option<E>,
        clock: C,
        random: N,
        settings: OwnerSettings,
        tag: OwnerTag,
    ) -> Self {
        Self {
            tables: Tables::new(sql, Rc::clone(&settings.layout)).with_events(queue.is_some()),
            kv,
            queue,
            clock,
            random,
            key_prefix: Rc::from(settings.layout.prefix()),
            settings,
            tag,
            schema: Cell::new(false),
            imported: Cell::new(false),
            draining: Cell::new(false),
            drain_budget: Cell::new(None),
        }
    }

    /// Changes the KV calls made after each operation (0: leave all to the
    /// alarm); `None`: [`DRAIN_BUDGET`].
    pub fn set_drain_budget(&self, budget: Option<usize>) {
        self.drain_budget.set(budget);
    }

    pub fn tables(&self) -> &Tables<Q> {
        &self.tables
    }

    fn service(&self) -> SessionService<&Tables<Q>, &C, &N> {
        SessionService::new(
            &self.tables,
            &self.clock,
            &self.random,
            Rc::clone(&self.settings.key_ring),
            Rc::clone(&self.key_prefix),
        )
        .with_policy(self.settings.policy)
    }

    /// Runs one operation the Worker sent: refused when it is another
    /// owner's; the user's sessions still in KV are imported first (once);
    /// then the operation in one transaction, then, when it changed
    /// something KV must hear of, KV's share (bounded). An operation that
    /// queued nothing (a guarded request's verify) never waits for the
    /// backlog of others: that is the alarm's.
    pub async fn handle(&self, op: Op, ctx: &Context) -> Handled {
        let (reply, queued) = self.run(op, ctx).await;
        let budget = self.drain_budget.get().unwrap_or(DRAIN_BUDGET);
        let more = queued && !matches!(self.drain(budget).await, Ok(false));
        Handled {
            reply,
            alarm_ms: self.next_alarm(more),
        }
    }

    /// The operation's reply, and whether it queued changes for KV.
    async fn run(&self, op: Op, ctx: &Context) -> (Result<Reply, SessionError>, bool) {
        if let Route::Owner(tag) = route(&op, &self.settings) {
            if tag != self.tag {
                let refused = StoreError::Rejected("the operation is another owner's".into());
                return (Err(refused.into()), false);
            }
        }
        if let Err(e) = self.import_for(&op).await {
            return (Err(e), self.tables.take_queued());
        }
        let reply = self.transact(|| {
            let limit = self.settings.create_limit.as_ref();
            admit(self.tables.sql(), limit, &op, self.clock.now_ms())?;
            run_now(self.service().run(op, ctx))?
        });
        (reply, self.tables.take_queued())
    }

    /// Runs `work` in one transaction of the tables (created on first use):
    /// committed when it succeeds, rolled back when it fails.
    pub(super) fn transact<T>(
        &self,
        work: impl FnOnce() -> Result<T, SessionError>,
    ) -> Result<T, SessionError> {
        let mut work = Some(work);
        let mut outcome = None;
        let committed = self.tables.sql().transaction(&mut || {
            if !self.schema.get() {
                self.tables.create_schema()?;
            }
            let Some(work) = work.take() else {
                return Err(StoreError::Rejected("a transaction ran twice".into()));
            };
            let result = work();
            let failed = result.is_err();
            outcome = Some(result);
            if failed {
                return Err(StoreError::Rejected("rolled back".into()));
            }
            Ok(())
        });
        match (committed, outcome) {
            (Ok(()), Some(result)) => {
                self.schema.set(true);
                result
            }
            // The work failed: its error, with nothing of it kept.
            (Err(_), Some(Err(e))) => Err(e),
            (Err(e), _) => Err(e.into()),
            (Ok(()), None) => {
                Err(StoreError::Rejected("the transaction did not run".into()).into())
            }
        }
    }

    /// Applies up to `budget` changes of the outbox to KV, oldest first.
    /// `Ok(true)` when some are left (for the alarm); `Ok(false)` also when
    /// another drain of this object runs (it drains until the outbox is
    /// empty). One drain at a time: two could land an older change of a key
    /// after a newer one.
    pub async fn drain(&self, budget: usize) -> Result<bool, SessionError> {
        if self.draining.replace(true) {
            return Ok(false);
        }
        let result = self.drain_rounds(budget).await;
        self.draining.set(false);
        result
    }

    async fn drain_rounds(&self, budget: usize) -> Result<bool, SessionError> {
        let mut left = budget;
        loop {
            let batch = self.transact(|| Ok(self.tables.outbox(DRAIN_BATCH)?))?;
            if batch.is_empty() {
                break;
            }
            for pending in &batch {
                if left == 0 {
                    return Ok(true);
                }
                left -= 1;
                self.apply(pending).await?;
                self.transact(|| Ok(self.tables.applied(pending)?))?;
            }
        }
        let Some(queue) = &self.queue else {
            return Ok(false);
        };
        // Events, oldest first, a batch per call; each is deleted once the
        // queue has it (a send that fails leaves it for the next drain).
        loop {
            let batch = self.transact(|| Ok(self.tables.events(MAX_BATCH)?))?;
            let Some(&(last, _)) = batch.last() else {
                return Ok(false);
            };
            if left == 0 {
                return Ok(true);
            }
            left -= 1;
            let events: Vec<_> = batch.into_iter().map(|(_, event)| event).collect();
            queue.send_batch(&events).await?;
            self.transact(|| Ok(self.tables.sent(last)?))?;
        }
    }

    async fn apply(&self, pending: &Pending) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        match &pending.put {
            // Gone on its own by now: nothing to tell KV.
            Some(put) if put.until_ms <= now => Ok(()),
            Some(put) => {
                let options = PutOptions {
                    expiration_ttl: Some(ttl_secs_until(put.until_ms, now)),
                    metadata: put.metadata.clone(),
                };
                self.kv.put(&pending.key, &put.value, options).await
            }
            None => self.kv.delete(&pending.key).await,
        }
    }

    /// The object's alarm: KV's share left by operations, then the sessions
    /// kept past their end. Answers when to run again.
    pub async fn alarm(&self) -> Option<i64> {
        let importing = self.continue_import().await;
        let more = !matches!(self.drain(usize::MAX).await, Ok(false));
        let now = self.clock.now_ms();
        let purged = self.transact(|| Ok(self.tables.purge(now)?)).is_ok();
        self.next_alarm(more || !purged || importing)
    }

    /// When the alarm should run: soon when KV's share or an import is left
    /// (or a step failed), else when the first session is to be dropped.
    fn next_alarm(&self, retry: bool) -> Option<i64> {
        let now = self.clock.now_ms();
        let soon = now.saturating_add(RETRY_MS);
        let state = self.transact(|| {
            let importing = self.tables.import_state()?.is_some_and(|i| !i.done);
            let unsent = self.queue.is_some() && !self.tables.events(1)?.is_empty();
            let pending = importing || unsent || !self.tables.outbox(1)?.is_empty();
            Ok((pending, self.tables.next_purge_ms()?))
        });
        match state {
            Ok((pending, purge)) => [(retry || pending).then_some(soon), purge]
                .into_iter()
                .flatten()
                .min(),
            Err(_) => Some(soon),
        }
    }
}
