//! One fault at a chosen storage call, across several in-memory stores.
//!
//! A [`Faults`] is shared by the stores it is attached to
//! ([`MemoryKv::set_faults`](super::MemoryKv::set_faults),
//! [`SqliteDb::set_faults`](super::SqliteDb::set_faults), and so every
//! owner of [`MemoryOwners`](super::MemoryOwners)): it numbers
//! their calls in the order they are made, records each one, and makes the
//! one numbered `k` fail, once. So a test can count the calls an operation
//! makes on a clean run and then fail each of them in turn, whichever store
//! it goes to.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::StoreOp;
use crate::store::StoreError;

/// How the chosen call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The call never reaches the store: nothing happens, the caller gets
    /// an error.
    Lost,
    /// The call is made but its answer is lost: what it does happens, the
    /// caller gets an error (a timeout after a write landed).
    Unanswered,
}

/// One storage call as a [`Faults`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultCall {
    /// The name the store was attached with (e.g. `kv`, an owner's name).
    pub store: String,
    pub op: StoreOp,
    /// The key (the prefix, for a list).
    pub key: String,
}

impl FaultCall {
    /// Whether the call changes what the store holds and may be
    /// unanswered: a KV write or delete, or a send, that lands while its
    /// answer is lost.
    /// A transaction is not: SQLite commits or throws and rolls back (a
    /// reply lost on its way back to the Worker is the transport's fault).
    pub fn writes(&self) -> bool {
        matches!(self.op, StoreOp::Write | StoreOp::Delete | StoreOp::Send)
    }
}

#[derive(Debug, Default)]
struct Inner {
    calls: Cell<usize>,
    fail_at: Cell<Option<(usize, FaultKind)>>,
    trace: RefCell<Vec<FaultCall>>,
}

/// See the module documentation. Clones share the same plan.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Rc<Inner>,
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the `k`-th call from now (1-based) fail as `kind`, once;
    /// restarts the numbering and the trace.
    pub fn fail_call(&self, k: usize, kind: FaultKind) {
        self.restart();
        self.inner.fail_at.set(Some((k, kind)));
    }

    /// Numbers calls from 1 again and forgets the trace; no fault is due.
    pub fn restart(&self) {
        self.inner.calls.set(0);
        self.inner.fail_at.set(None);
        self.inner.trace.borrow_mut().clear();
    }

    /// Calls numbered since the last restart.
    pub fn calls(&self) -> usize {
        self.inner.calls.get()
    }

    /// Those calls, in order.
    pub fn trace(&self) -> Vec<FaultCall> {
        self.inner.trace.borrow().clone()
    }

    /// Whether the chosen call was made (and failed).
    pub fn fired(&self) -> bool {
        match self.inner.fail_at.get() {
            Some((k, _)) => self.calls() >= k,
            None => false,
        }
    }

    /// Numbers a call of `store`; `Some(kind)` when it is the one to fail.
    pub(crate) fn on_call(&self, store: &str, op: StoreOp, key: &str) -> Option<FaultKind> {
        let n = self.inner.calls.get() + 1;
        self.inner.calls.set(n);
        self.inner.trace.borrow_mut().push(FaultCall {
            store: store.to_owned(),
            op,
            key: key.to_owned(),
        });
        match self.inner.fail_at.get() {
            Some((k, kind)) if k == n => Some(kind),
            _ => None,
        }
    }

    /// The error a failed call answers.
    pub(crate) fn error(&self) -> StoreError {
        StoreError::Unavailable(format!("injected fault at call {}", self.calls()))
    }
}

/// A store's attachment to a [`Faults`]: the plan and the store's name.
#[derive(Debug, Clone)]
pub(crate) struct Attached {
    pub faults: Faults,
    pub store: String,
}

/// What a store does with the call being made.
pub(crate) enum Verdict {
    /// Make it and answer.
    Go,
    /// Make it, then answer this error.
    GoThenFail(StoreError),
}

impl Verdict {
    /// The answer of a call made under this verdict.
    pub fn answer<T>(self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match self {
            Verdict::Go => result,
            Verdict::GoThenFail(error) => result.and(Err(error)),
        }
    }
}

/// Numbers the call on `attached`, if any: `Err` when it is lost.
pub(crate) fn check(
    attached: Option<&Attached>,
    op: StoreOp,
    key: &str,
) -> Result<Verdict, StoreError> {
    let Some(a) = attached else {
        return Ok(Verdict::Go);
    };
    match a.faults.on_call(&a.store, op, key) {
        None => Ok(Verdict::Go),
        Some(FaultKind::Lost) => Err(a.faults.error()),
        Some(FaultKind::Unanswered) => Ok(Verdict::GoThenFail(a.faults.error())),
    }
}
