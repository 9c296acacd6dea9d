//! `strong` mode in memory, for tests: every owner an object with its own
//! storage ([`MemoryObjects`]) and ledger, served by [`super::serve`] over
//! an [`OwnerStore`] exactly as the Durable Object does, with KV a shared
//! [`MemoryKv`]. Like a Durable Object, an owner's own storage never yields
//! (other calls run only while it waits on KV). Counts calls per owner,
//! can make owners unreachable, and can number every owner's storage calls
//! in a [`Faults`] plan (with KV's, when the test attaches it too).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::clock::Clock;
use crate::layout::KeyLayout;
use crate::ledger::Ledger;
use crate::policy::Policy;
use crate::random::Random;
use crate::service::{SessionError, SessionService};
use crate::store::{Faults, MemoryKv, MemoryObjects, ObjectKv, StoreError};

use crate::token::KeyRing;

use super::client::{OwnerTransport, TransportFuture};
use super::drain_gate::DrainGate;
use super::protocol::{OwnerCall, OwnerReply};
use super::serve::serve;
use super::store::OwnerStore;

/// KV calls an owner makes for its outbox per call (as the object does).
pub const MEMORY_DRAIN_BUDGET: usize = 500;

/// One owner: its storage and what it remembers between calls.
#[derive(Clone, Default)]
pub struct MemoryOwner {
    pub storage: MemoryObjects,
    pub ledger: Rc<Ledger>,
    pub gate: Rc<DrainGate>,
}

/// See the module documentation.
pub struct MemoryOwners<C, R> {
    global: MemoryKv,
    clock: C,
    random: Rc<R>,
    key_ring: Rc<KeyRing>,
    layout: Rc<KeyLayout>,
    policy: Policy,
    owners: RefCell<BTreeMap<String, MemoryOwner>>,
    calls: Cell<usize>,
    unreachable: Cell<bool>,
    drain_budget: Cell<usize>,
    faults: RefCell<Option<Faults>>,
}

impl<C: Clock + Clone, R: Random> MemoryOwners<C, R> {
    pub fn new(
        global: MemoryKv,
        clock: C,
        random: Rc<R>,
        key_ring: Rc<KeyRing>,
        layout: Rc<KeyLayout>,
        policy: Policy,
    ) -> Self {
        Self {
            global,
            clock,
            random,
            key_ring,
            layout,
            policy,
            owners: RefCell::default(),
            calls: Cell::new(0),
            unreachable: Cell::new(false),
            drain_budget: Cell::new(MEMORY_DRAIN_BUDGET),
            faults: RefCell::default(),
        }
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

    /// Outbox entries applied to KV after each call (0: leave all for the alarm).
    pub fn set_drain_budget(&self, budget: usize) {
        self.drain_budget.set(budget);
    }

    /// Numbers the storage calls of every owner, present and to come, in
    /// `faults` (each under its owner's name); `None` detaches them.
    pub fn set_faults(&self, faults: Option<&Faults>) {
        *self.faults.borrow_mut() = faults.cloned();
        for (name, owner) in self.owners.borrow().iter() {
            owner.storage.set_faults(faults.map(|f| (f, name.as_str())));
        }
    }

    /// The owner named `name` (created empty on first use).
    pub fn owner(&self, name: &str) -> MemoryOwner {
        let mut owners = self.owners.borrow_mut();
        if let Some(owner) = owners.get(name) {
            return owner.clone();
        }
        let owner = MemoryOwner::default();
        if let Some(faults) = self.faults.borrow().as_ref() {
            owner.storage.set_faults(Some((faults, name)));
        }
        owners.insert(name.to_owned(), owner.clone());
        owner
    }

    /// Names of the owners that exist.
    pub fn names(&self) -> Vec<String> {
        self.owners.borrow().keys().cloned().collect()
    }

    /// The store the owner `name` runs over; `None` for a name that is not
    /// an owner's.
    pub fn store(&self, name: &str) -> Option<OwnerStore<ObjectKv<MemoryObjects, C>, MemoryKv, C>> {
        let tag = self.layout.parse_owner_name(name)?;
        let owner = self.owner(name);
        Some(OwnerStore::new(
            ObjectKv::new(owner.storage, self.clock.clone()),
            self.global.clone(),
            Rc::clone(&self.layout),
            self.clock.clone(),
            tag,
        ))
    }

    /// What the object's alarm does: removes index entries left by a
    /// revocation that stopped half way, drains the outbox and removes
    /// expired entries, for every owner. Returns the KV calls made.
    pub async fn run_alarms(&self) -> Result<usize, StoreError> {
        let mut applied = 0;
        for name in self.names() {
            let Some(store) = self.store(&name) else {
                continue;
            };
            store.tidy(usize::MAX).await?;
            loop {
                let drain = store.drain(MEMORY_DRAIN_BUDGET).await?;
                applied += drain.applied;
                if !drain.more {
                    break;
                }
            }
            while !store.local().purge_expired(MEMORY_DRAIN_BUDGET).await?.done {}
        }
        Ok(applied)
    }

    async fn run(&self, name: &str, body: &str) -> Result<String, StoreError> {
        self.calls.set(self.calls.get() + 1);
        if self.unreachable.get() {
            return Err(StoreError::Unavailable("owner unreachable".into()));
        }
        let reply = match (serde_json::from_str::<OwnerCall>(body), self.store(name)) {
            (Ok(call), Some(store)) => {
                let owner = self.owner(name);
                let service = SessionService::new(
                    store,
                    self.clock.clone(),
                    Rc::clone(&self.random),
                    Rc::clone(&self.key_ring),
                    Rc::clone(&self.layout),
                )
                .with_policy(self.policy)
                .with_ledger(owner.ledger.clone());
                let reply = serve(&service, call).await;
                // As the object: KV's share now, failures left to the alarm.
                // Only calls that queued KV work drain: the backlog is
                // the alarm's.
                let _ = owner
                    .gate
                    .drain(service.store(), self.drain_budget.get(), false)
                    .await;
                reply
            }
            _ => OwnerReply::failed(&SessionError::Store(StoreError::Rejected(
                "not an owner call".into(),
            ))),
        };
        serde_json::to_string(&reply).map_err(|_| StoreError::Rejected("reply".into()))
    }
}

impl<C: Clock + Clone, R: Random> OwnerTransport for MemoryOwners<C, R> {
    fn call<'a>(&'a self, owner: &'a str, body: String) -> TransportFuture<'a> {
        Box::pin(async move { self.run(owner, &body).await })
    }
}
