//! An in-memory events queue: what was delivered, in order. Clones share
//! it. Its sends can be numbered and failed by a [`Faults`] plan: lost, the
//! batch is not delivered; unanswered, it is, and the sender is told it
//! failed (so it sends it again: the consumer sees an id twice).

use std::cell::RefCell;
use std::rc::Rc;

use super::faults::{self, Attached};
use super::{Faults, StoreOp};
use crate::events::{Event, EventQueue, MAX_BATCH};
use crate::store::StoreError;

/// See the module documentation.
#[derive(Clone, Default)]
pub struct MemoryQueue {
    delivered: Rc<RefCell<Vec<Event>>>,
    faults: Rc<RefCell<Option<Attached>>>,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event delivered so far, in order (repeats included).
    pub fn delivered(&self) -> Vec<Event> {
        self.delivered.borrow().clone()
    }

    /// Numbers this queue's sends in `faults` under `name`.
    pub fn set_faults(&self, faults: Option<(&Faults, &str)>) {
        *self.faults.borrow_mut() = faults.map(|(faults, name)| Attached {
            faults: faults.clone(),
            store: name.to_owned(),
        });
    }
}

impl EventQueue for MemoryQueue {
    async fn send_batch(&self, events: &[Event]) -> Result<(), StoreError> {
        if events.len() > MAX_BATCH {
            return Err(StoreError::Rejected(format!(
                "a batch of {} messages exceeds {MAX_BATCH}",
                events.len()
            )));
        }
        let attached = self.faults.borrow().clone();
        let verdict = faults::check(attached.as_ref(), StoreOp::Send, "events")?;
        self.delivered.borrow_mut().extend_from_slice(events);
        verdict.answer(Ok(()))
    }
}
