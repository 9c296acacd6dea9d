//! One drain of an object's outbox at a time.
//!
//! Calls run concurrently inside an object whenever one awaits KV. Two
//! overlapping drains could apply an older change to KV after a newer one,
//! and fifty calls that each drain would make fifty listings of the outbox.
//! So a call that finds a drain running leaves its entries to that drain,
//! which drains once more before it ends.

use std::cell::Cell;

use crate::store::{KvStore, StoreError};
use crate::Clock;

use super::OwnerStore;

/// See the module documentation. One per object, shared by its calls.
#[derive(Debug, Default)]
pub struct DrainGate {
    draining: Cell<bool>,
    /// A call queued entries while a drain ran.
    pending: Cell<bool>,
}

impl DrainGate {
    /// Applies to KV what `store` queued (everything, if `backlog`), within
    /// `budget` KV calls. `Ok(true)` when entries are left for the alarm;
    /// `Ok(false)` also when another drain runs and takes them over.
    pub async fn drain<L: KvStore, G: KvStore, C: Clock>(
        &self,
        store: &OwnerStore<L, G, C>,
        budget: usize,
        backlog: bool,
    ) -> Result<bool, StoreError> {
        if !backlog && !store.queued() {
            return Ok(false);
        }
        if self.draining.replace(true) {
            self.pending.set(true);
            return Ok(false);
        }
        let result = self.rounds(store, budget).await;
        self.draining.set(false);
        if result.is_err() {
            // What the others left us goes to the alarm with our own.
            self.pending.set(false);
        }
        result
    }

    async fn rounds<L: KvStore, G: KvStore, C: Clock>(
        &self,
        store: &OwnerStore<L, G, C>,
        budget: usize,
    ) -> Result<bool, StoreError> {
        let mut left = budget;
        loop {
            self.pending.set(false);
            let drain = store.drain(left).await?;
            left = left.saturating_sub(drain.applied);
            if drain.more || (self.pending.get() && left == 0) {
                return Ok(true);
            }
            if !self.pending.get() {
                return Ok(false);
            }
        }
    }
}
