//! `strong` mode in memory: every owner an [`Owner`] over its own SQLite
//! database ([`SqliteDb`]), with KV a shared [`MemoryKv`], reached through
//! the same [`OwnerTransport`] and wire format as the Durable Object. It
//! counts calls, can make owners unreachable, and can number every owner's
//! transactions in a [`Faults`] plan (with KV's, when the test attaches it
//! too).
//!
//! ```ignore
//! let owners = Rc::new(MemoryOwners::new(kv.clone(), clock.clone(), random, settings));
//! let sessions = OwnerClient::new(settings, kv_service, clock, owners.clone());
//! owners.run_alarms().await;   // what the objects' alarms do
//! ```

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Faults, MemoryKv, MemoryQueue, SqliteDb};
use crate::clock::Clock;
use crate::owner::{wire, Owner, OwnerSettings, OwnerTransport, TransportFuture};
use crate::random::Random;
use crate::store::StoreError;

/// One owner of [`MemoryOwners`].
pub type MemoryOwner<C, R> = Owner<SqliteDb, MemoryKv, MemoryQueue, C, Rc<R>>;

/// See the module documentation.
pub struct MemoryOwners<C, R> {
    kv: MemoryKv,
    queue: Option<MemoryQueue>,
    clock: C,
    random: Rc<R>,
    settings: OwnerSettings,
    owners: RefCell<BTreeMap<String, Rc<MemoryOwner<C, R>>>>,
    calls: Cell<usize>,
    unreachable: Cell<bool>,
    drain_budget: Cell<Option<usize>>,
    faults: RefCell<Option<Faults>>,
}

impl<C: Clock + Clone, R: Random> MemoryOwners<C, R> {
    pub fn new(kv: MemoryKv, clock: C, random: Rc<R>, settings: OwnerSettings) -> Self {
        Self {
            kv,
            queue: None,
            clock,
            random,
            settings,
            owners: RefCell::default(),
            calls: Cell::new(0),
            unreachable: Cell::new(false),
            drain_budget: Cell::new(None),
            faults: RefCell::default(),
        }
    }

    /// Sends the owners' session events to `queue` (`None`: events off).
    pub fn with_queue(mut self, queue: Option<MemoryQueue>) -> Self {
        self.queue = queue;
        self
    }

    /// Owner calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    pub fn reset_calls(&self) {
        self.calls.set(0);
    }

    /// Every call fails as an unreachable object would.
    pub fn set_unreachable(&self, on: bool) {
        self.unreachable.set(on);
    }

    /// KV calls each owner makes for its outbox after an operation (0:
    /// leave all to the alarm); `None`: the object's own budget.
    pub fn set_drain_budget(&self, budget: Option<usize>) {
        self.drain_budget.set(budget);
        for owner in self.owners.borrow().values() {
            owner.set_drain_budget(budget);
        }
    }

    /// Numbers the transactions of every owner, present and to come, in
    /// `faults` (each under its owner's name); `None` detaches them.
    pub fn set_faults(&self, faults: Option<&Faults>) {
        *self.faults.borrow_mut() = faults.cloned();
        for (name, owner) in self.owners.borrow().iter() {
            owner
                .tables()
                .sql()
                .set_faults(faults.map(|f| (f, name.as_str())));
        }
    }

    /// The owner named `name` (created empty on first use); `None` for a
    /// name that is not an owner's.
    pub fn owner(&self, name: &str) -> Option<Rc<MemoryOwner<C, R>>> {
        if let Some(owner) = self.owners.borrow().get(name) {
            return Some(Rc::clone(owner));
        }
        let tag = self.settings.layout.parse_owner_name(name)?;
        let db = SqliteDb::new();
        if let Some(faults) = self.faults.borrow().as_ref() {
            db.set_faults(Some((faults, name)));
        }
        let owner = Rc::new(Owner::new(
            db,
            self.kv.clone(),
            self.queue.clone(),
            self.clock.clone(),
            Rc::clone(&self.random),
            self.settings.clone(),
            tag,
        ));
        owner.set_drain_budget(self.drain_budget.get());
        self.owners
            .borrow_mut()
            .insert(name.to_owned(), Rc::clone(&owner));
        Some(owner)
    }

    /// Names of the owners that exist.
    pub fn names(&self) -> Vec<String> {
        self.owners.borrow().keys().cloned().collect()
    }

    /// What the objects' alarms do, until none has anything left to bring
    /// to KV: every owner's outbox drained, sessions past their end dropped.
    /// Fails when an alarm cannot finish (a fault) after a few rounds.
    pub async fn run_alarms(&self) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let owners: Vec<_> = self.owners.borrow().values().cloned().collect();
        for owner in owners {
            let mut rounds = 0;
            while owner
                .alarm()
                .await
                .is_some_and(|at| at <= now + crate::owner::RETRY_MS)
            {
                rounds += 1;
                if rounds > 3 {
                    return Err(StoreError::Unavailable("an alarm keeps failing".into()));
                }
            }
        }
        Ok(())
    }

    async fn run(&self, name: &str, body: &str) -> Result<String, StoreError> {
        self.calls.set(self.calls.get() + 1);
        if self.unreachable.get() {
            return Err(StoreError::Unavailable("owner unreachable".into()));
        }
        let reply = match (wire::decode_call(body), self.owner(name)) {
            (Ok((op, ctx)), Some(owner)) => owner.handle(op, &ctx).await.reply,
            (Err(e), _) => Err(e),
            (_, None) => Err(StoreError::Rejected("not an owner's name".into()).into()),
        };
        Ok(wire::encode_reply(&reply))
    }
}

impl<C: Clock + Clone, R: Random> OwnerTransport for MemoryOwners<C, R> {
    fn call<'a>(&'a self, owner: &'a str, body: String) -> TransportFuture<'a> {
        Box::pin(async move { self.run(owner, &body).await })
    }
}
