//! An in-memory [`KvStore`] that behaves like Workers KV, for tests.
//!
//! It enforces KV's limits (key length, metadata size, value size, minimum
//! `expirationTtl`, list limit, cursor tied to its prefix) so that a call
//! production would reject fails here too. Entries expire by the injected
//! [`Clock`]: once past their expiration, `get` returns `None` and `list`
//! omits them. It counts every call by kind, can be told to fail (every
//! call, calls of a kind or on a prefix, or one chosen call of a
//! [`Faults`] plan shared with other stores), and can
//! stay pending for a few polls before each call so that futures joined together really
//! interleave (as concurrent requests do in production).
//!
//! Clones share the same state, so a test can keep a handle while the
//! service owns another.

use super::faults::{self, Attached, Verdict};
use super::kv_rules;
use super::Faults;
use crate::clock::Clock;
use crate::store::{
    KvEntry, KvStore, ListKey, ListOptions, ListPage, PutOptions, StoreError, MAX_LIST_LIMIT,
    MAX_METADATA_BYTES, MAX_VALUE_BYTES, MIN_EXPIRATION_TTL,
};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Bound;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// How many calls of each kind a [`MemoryKv`] has received (failed ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvOpCounts {
    /// `get` calls.
    pub reads: usize,
    /// `put` calls.
    pub writes: usize,
    /// `delete` calls.
    pub deletes: usize,
    /// `list` calls.
    pub lists: usize,
}

impl KvOpCounts {
    /// All calls of any kind.
    pub fn total(&self) -> usize {
        self.reads + self.writes + self.deletes + self.lists
    }
}

/// A kind of storage call: KV's four (to make just that kind fail or
/// wait), a transaction of an owner's tables and a send to the events
/// queue (numbered by [`Faults`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    Read = 0,
    Write = 1,
    Delete = 2,
    List = 3,
    Transaction = 4,
    /// A batch sent to the events queue.
    Send = 5,
}

/// A live entry as [`MemoryKv::entries`] dumps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    pub name: String,
    pub value: String,
    pub metadata: Option<Value>,
    /// Absolute expiration, seconds since the Unix epoch.
    pub expiration: Option<u64>,
}

#[derive(Debug, Clone)]
struct Item {
    value: String,
    metadata: Option<Value>,
    /// Milliseconds since the epoch at which the entry is gone.
    expires_at_ms: Option<i64>,
}

impl Item {
    fn live_at(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_none_or(|at| now_ms < at)
    }

    fn expiration_secs(&self) -> Option<u64> {
        self.expires_at_ms
            .map(|ms| u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000))
    }
}

#[derive(Default)]
struct State {
    items: BTreeMap<String, Item>,
    counts: KvOpCounts,
    fail_all: Option<StoreError>,
    fail_by_op: Vec<(StoreOp, StoreError)>,
    fail_by_prefix: Option<(String, StoreError)>,
    faults: Option<Attached>,
}

struct Inner {
    clock: Box<dyn Clock>,
    state: RefCell<State>,
    /// Polls each kind of call stays pending before running: read, write, delete, list.
    latency: Cell<[usize; 6]>,
}

/// Workers KV in memory, with KV's limits, an injected clock, call counts
/// and failure injection. See the module documentation.
#[derive(Clone)]
pub struct MemoryKv {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for MemoryKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("MemoryKv")
            .field("entries", &state.items.len())
            .field("counts", &state.counts)
            .finish()
    }
}

impl MemoryKv {
    /// An empty store whose entries expire by `clock` (give it a clone of the
    /// `ManualClock` the test advances).
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self {
            inner: Rc::new(Inner {
                clock: Box::new(clock),
                state: RefCell::new(State::default()),
                latency: Cell::new([0; 6]),
            }),
        }
    }

    /// Calls received so far, by kind.
    pub fn counts(&self) -> KvOpCounts {
        self.inner.state.borrow().counts
    }

    /// Sets every count back to zero.
    pub fn reset_counts(&self) {
        self.inner.state.borrow_mut().counts = KvOpCounts::default();
    }

    /// Makes every call fail with `error` (still counted), or stops failing with `None`.
    pub fn fail_with(&self, error: Option<StoreError>) {
        self.inner.state.borrow_mut().fail_all = error;
    }

    /// Makes calls of kind `op` fail with `error`, or stops failing them with `None`.
    pub fn fail_op(&self, op: StoreOp, error: Option<StoreError>) {
        let mut state = self.inner.state.borrow_mut();
        state.fail_by_op.retain(|(o, _)| *o != op);
        if let Some(error) = error {
            state.fail_by_op.push((op, error));
        }
    }

    /// Makes calls on keys starting with `prefix` fail with `error` (lists
    /// whose prefix starts with it too), or stops with `None`: to fail one
    /// key kind, e.g. only index keys.
    pub fn fail_prefix(&self, rule: Option<(&str, StoreError)>) {
        self.inner.state.borrow_mut().fail_by_prefix = rule.map(|(p, e)| (p.to_owned(), e));
    }

    /// Numbers this store's calls in `faults` (as `name`), which fails the
    /// one it chose; `None` detaches it.
    pub fn set_faults(&self, faults: Option<(&Faults, &str)>) {
        self.inner.state.borrow_mut().faults = faults.map(|(f, name)| Attached {
            faults: f.clone(),
            store: name.to_owned(),
        });
    }

    /// When on, every call first returns `Pending` once (waking itself), so
    /// that futures polled together interleave their KV calls.
    pub fn set_yield_each_op(&self, on: bool) {
        self.inner.latency.set([usize::from(on); 6]);
    }

    /// Makes calls of kind `op` return `Pending` `polls` times (waking
    /// themselves) before they run: unequal latencies let joined futures
    /// overtake each other, as calls to a remote KV do.
    pub fn set_op_latency(&self, op: StoreOp, polls: usize) {
        let mut latency = self.inner.latency.get();
        latency[op as usize] = polls;
        self.inner.latency.set(latency);
    }

    /// Names of all live entries, in list order.
    pub fn keys(&self) -> Vec<String> {
        self.entries().into_iter().map(|e| e.name).collect()
    }

    /// Every live entry (name, value, metadata, expiration), in list order.
    /// Not counted as a call.
    pub fn entries(&self) -> Vec<StoredEntry> {
        let now = self.inner.clock.now_ms();
        let state = self.inner.state.borrow();
        state
            .items
            .iter()
            .filter(|(_, item)| item.live_at(now))
            .map(|(name, item)| StoredEntry {
                name: name.clone(),
                value: item.value.clone(),
                metadata: item.metadata.clone(),
                expiration: item.expiration_secs(),
            })
            .collect()
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        let now = self.inner.clock.now_ms();
        self.inner
            .state
            .borrow()
            .items
            .values()
            .filter(|i| i.live_at(now))
            .count()
    }

    /// True when no entry is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    async fn wait(&self, op: StoreOp) {
        YieldTimes(self.inner.latency.get()[op as usize]).await;
    }

    /// Counts the call, then returns the injected failure if any (or, for
    /// an unanswered call of a [`Faults`] plan, the error to answer once made).
    fn begin(&self, op: StoreOp, key: &str) -> Result<Verdict, StoreError> {
        let attached = self.inner.state.borrow().faults.clone();
        let verdict = faults::check(attached.as_ref(), op, key);
        let mut state = self.inner.state.borrow_mut();
        match op {
            StoreOp::Read => state.counts.reads += 1,
            StoreOp::Write => state.counts.writes += 1,
            StoreOp::Delete => state.counts.deletes += 1,
            StoreOp::List => state.counts.lists += 1,
            StoreOp::Transaction | StoreOp::Send => {}
        }
        if let Some(error) = &state.fail_all {
            return Err(error.clone());
        }
        if let Some((_, error)) = state.fail_by_op.iter().find(|(o, _)| *o == op) {
            return Err(error.clone());
        }
        match &state.fail_by_prefix {
            Some((prefix, error)) if key.starts_with(prefix.as_str()) => Err(error.clone()),
            _ => verdict,
        }
    }

    fn do_get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        kv_rules::check_key(key)?;
        let now = self.inner.clock.now_ms();
        let mut state = self.inner.state.borrow_mut();
        match state.items.get(key) {
            Some(item) if item.live_at(now) => Ok(Some(KvEntry {
                value: item.value.clone(),
                metadata: item.metadata.clone(),
            })),
            Some(_) => {
                state.items.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    fn do_put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
        kv_rules::check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(StoreError::Rejected(format!(
                "value of {} bytes exceeds {MAX_VALUE_BYTES}",
                value.len()
            )));
        }
        if let Some(metadata) = &options.metadata {
            let size = serde_json::to_string(metadata)
                .map_err(|_| StoreError::Rejected("metadata is not serializable".into()))?
                .len();
            if size > MAX_METADATA_BYTES {
                return Err(StoreError::Rejected(format!(
                    "metadata of {size} bytes exceeds {MAX_METADATA_BYTES}"
                )));
            }
        }
        let now = self.inner.clock.now_ms();
        let expires_at_ms = match options.expiration_ttl {
            None => None,
            Some(ttl) if ttl < MIN_EXPIRATION_TTL => {
                return Err(StoreError::Rejected(format!(
                    "expiration_ttl {ttl} is below the minimum of {MIN_EXPIRATION_TTL} seconds"
                )))
            }
            Some(ttl) => {
                let ms = i64::try_from(ttl).unwrap_or(i64::MAX).saturating_mul(1000);
                Some(now.saturating_add(ms))
            }
        };
        self.inner.state.borrow_mut().items.insert(
            key.to_owned(),
            Item {
                value: value.to_owned(),
                metadata: options.metadata,
                expires_at_ms,
            },
        );
        Ok(())
    }

    fn do_delete(&self, key: &str) -> Result<(), StoreError> {
        kv_rules::check_key(key)?;
        self.inner.state.borrow_mut().items.remove(key);
        Ok(())
    }

    fn do_list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        if options.limit == 0 || options.limit > MAX_LIST_LIMIT {
            return Err(StoreError::Rejected(format!(
                "list limit {} is outside 1..={MAX_LIST_LIMIT}",
                options.limit
            )));
        }
        let start = match &options.cursor {
            None => Bound::Included(options.prefix.clone()),
            Some(cursor) => Bound::Excluded(kv_rules::decode_cursor(
                CURSOR_TAG,
                cursor,
                &options.prefix,
            )?),
        };
        let now = self.inner.clock.now_ms();
        let state = self.inner.state.borrow();
        let mut live = state
            .items
            .range::<String, _>((start, Bound::Unbounded))
            .take_while(|(name, _)| name.starts_with(&options.prefix))
            .filter(|(_, item)| item.live_at(now));
        let keys: Vec<ListKey> = live
            .by_ref()
            .take(options.limit)
            .map(|(name, item)| ListKey {
                name: name.clone(),
                expiration: item.expiration_secs(),
                metadata: item.metadata.clone(),
            })
            .collect();
        let more = live.next().is_some();
        let cursor = match keys.last() {
            Some(last) if more => Some(kv_rules::encode_cursor(
                CURSOR_TAG,
                &options.prefix,
                &last.name,
            )),
            _ => None,
        };
        Ok(ListPage { keys, cursor })
    }
}

/// Marks this store's list cursors (see [`kv_rules::encode_cursor`]).
const CURSOR_TAG: &str = "mkv1.";

/// Returns `Pending` (after waking itself) as many times as it holds, then `Ready`.
struct YieldTimes(usize);

impl Future for YieldTimes {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            Poll::Ready(())
        } else {
            self.0 -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl KvStore for MemoryKv {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        self.wait(StoreOp::Read).await;
        self.begin(StoreOp::Read, key)?.answer(self.do_get(key))
    }

    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
        self.wait(StoreOp::Write).await;
        self.begin(StoreOp::Write, key)?
            .answer(self.do_put(key, value, options))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.wait(StoreOp::Delete).await;
        self.begin(StoreOp::Delete, key)?
            .answer(self.do_delete(key))
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        self.wait(StoreOp::List).await;
        self.begin(StoreOp::List, &options.prefix)?
            .answer(self.do_list(options))
    }
}
