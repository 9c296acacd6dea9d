//! Workers KV semantics over a Durable Object's own storage (strong mode).
//!
//! In `strong` mode a user's sessions live in a Durable Object; the session
//! service, written against [`KvStore`], runs unchanged over [`ObjectKv`],
//! which keeps every KV rule of [`MemoryKv`](super::MemoryKv) (limits,
//! rejections, list order, opaque cursors bound to their prefix, expiry by
//! the injected [`Clock`]) on top of [`ObjectStorage`], the ordered string
//! map the object's storage offers.
//!
//! Each stored value is a JSON envelope `{"v": value, "m": metadata, "e":
//! expires_at_ms}`; `m` is absent without metadata (and `null` for a `null`
//! one), `e` absent without expiration. Storage does not expire anything:
//! expired entries stay invisible to `get` and `list` until
//! [`ObjectKv::purge_expired`] (the object's alarm) deletes them;
//! [`ObjectKv::take_earliest_expiration`] tells when that alarm is due.
//!
//! [`MemoryObjects`] is an in-memory [`ObjectStorage`] for tests.

use super::fault::{self, Attached, Verdict};
use super::kv_rules;
use super::{
    Faults, KvEntry, KvOp, KvStore, ListKey, ListOptions, ListPage, PutOptions, StoreError,
    MAX_LIST_LIMIT, MAX_METADATA_BYTES, MAX_VALUE_BYTES, MIN_EXPIRATION_TTL,
};
use crate::clock::Clock;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::rc::Rc;

/// What a Durable Object's storage offers: an ordered map of strings.
#[allow(async_fn_in_trait)]
pub trait ObjectStorage {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn put(&self, key: &str, value: String) -> Result<(), StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Entries whose key starts with `prefix`, in ascending key order (by
    /// UTF-8 bytes), strictly after `start_after` when given, at most
    /// `limit` (1..=1000).
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError>;
}

impl<T: ObjectStorage + ?Sized> ObjectStorage for Rc<T> {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        (**self).get(key).await
    }
    async fn put(&self, key: &str, value: String) -> Result<(), StoreError> {
        (**self).put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key).await
    }
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        (**self).list(prefix, start_after, limit).await
    }
}

/// What one [`ObjectKv::purge_expired`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purge {
    /// Expired entries deleted.
    pub removed: usize,
    /// Entries looked at (removed ones included).
    pub scanned: usize,
    /// Earliest expiration (ms since the epoch) among the entries this pass
    /// scanned and kept: this call's and, when it resumed an unfinished
    /// pass, the earlier calls' of that pass.
    pub next_expiration_ms: Option<i64>,
    /// False when the budget ran out before the end of the storage: call
    /// again (soon) to resume after the last entry scanned.
    pub done: bool,
}

/// [`KvStore`] over an [`ObjectStorage`]. See the module documentation.
///
/// Costs: a `get` is one storage get, a `put` one put, a `delete` one
/// delete (a rejected call none). A `list` reads pages (`limit + 1` entries
/// at first, to know whether a cursor is due) until it has `limit` live
/// entries and one more, or the end of the prefix: one storage list when
/// nothing in range is expired and `limit` < 1000. Skipped expired entries
/// make it read further, in pages that grow with the number skipped.
#[derive(Debug)]
pub struct ObjectKv<B, C> {
    storage: B,
    clock: C,
    /// Earliest `expires_at_ms` written since the last take.
    earliest: Cell<Option<i64>>,
    /// An unfinished purge pass: the last key it scanned, its earliest kept expiration.
    purge_pass: RefCell<Option<(String, Option<i64>)>>,
}

impl<B, C> ObjectKv<B, C> {
    pub fn new(storage: B, clock: C) -> Self {
        Self {
            storage,
            clock,
            earliest: Cell::new(None),
            purge_pass: RefCell::new(None),
        }
    }

    /// The storage underneath.
    pub fn storage(&self) -> &B {
        &self.storage
    }

    /// The smallest expiration (ms since the epoch) of the entries this
    /// value wrote since the last call, if any had one: where the object's
    /// alarm should be at the latest after an operation.
    pub fn take_earliest_expiration(&self) -> Option<i64> {
        self.earliest.take()
    }
}

impl<B: ObjectStorage, C: Clock> ObjectKv<B, C> {
    /// Deletes the entries expired at the clock's now, scanning the whole
    /// storage in key order, at most `budget` entries per call. A call that
    /// runs out of budget (`done == false`) leaves its place here; the next
    /// call resumes after it, and a finished pass starts over from the
    /// beginning. Entries that are not envelopes are left alone.
    pub async fn purge_expired(&self, budget: usize) -> Result<Purge, StoreError> {
        let now = self.clock.now_ms();
        let (mut after, mut next) = match self.purge_pass.borrow().clone() {
            Some((after, next)) => (Some(after), next),
            None => (None, None),
        };
        let (mut removed, mut scanned, mut done) = (0, 0, false);
        while scanned < budget {
            let want = (budget - scanned).min(MAX_LIST_LIMIT);
            let page = self.storage.list("", after.as_deref(), want).await?;
            let end = page.len() < want;
            for (key, raw) in &page {
                scanned += 1;
                match Envelope::parse(raw).map(|e| e.expires_at_ms) {
                    Ok(Some(at)) if at <= now => {
                        self.storage.delete(key).await?;
                        removed += 1;
                    }
                    Ok(Some(at)) => next = Some(next.map_or(at, |n: i64| n.min(at))),
                    Ok(None) | Err(_) => {}
                }
            }
            if let Some((last, _)) = page.into_iter().next_back() {
                after = Some(last);
            }
            if end {
                done = true;
                break;
            }
        }
        *self.purge_pass.borrow_mut() = match after {
            Some(after) if !done => Some((after, next)),
            _ => None,
        };
        Ok(Purge {
            removed,
            scanned,
            next_expiration_ms: next,
            done,
        })
    }
}

impl<B: ObjectStorage, C: Clock> KvStore for ObjectKv<B, C> {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        kv_rules::check_key(key)?;
        let now = self.clock.now_ms();
        let Some(raw) = self.storage.get(key).await? else {
            return Ok(None);
        };
        let envelope = Envelope::parse(&raw)?;
        Ok(envelope.live_at(now).then(|| KvEntry {
            value: envelope.value.into_owned(),
            metadata: envelope.metadata,
        }))
    }

    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
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
        let expires_at_ms = match options.expiration_ttl {
            None => None,
            Some(ttl) if ttl < MIN_EXPIRATION_TTL => {
                return Err(StoreError::Rejected(format!(
                    "expiration_ttl {ttl} is below the minimum of {MIN_EXPIRATION_TTL} seconds"
                )))
            }
            Some(ttl) => {
                let ms = i64::try_from(ttl).unwrap_or(i64::MAX).saturating_mul(1000);
                Some(self.clock.now_ms().saturating_add(ms))
            }
        };
        let envelope = serde_json::to_string(&EnvelopeOut {
            v: value,
            m: options.metadata.as_ref(),
            e: expires_at_ms,
        })
        .map_err(|_| StoreError::Rejected("entry is not serializable".into()))?;
        self.storage.put(key, envelope).await?;
        if let Some(at) = expires_at_ms {
            let earliest = self.earliest.get().map_or(at, |e| e.min(at));
            self.earliest.set(Some(earliest));
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        kv_rules::check_key(key)?;
        self.storage.delete(key).await
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        let limit = options.limit;
        if limit == 0 || limit > MAX_LIST_LIMIT {
            return Err(StoreError::Rejected(format!(
                "list limit {limit} is outside 1..={MAX_LIST_LIMIT}"
            )));
        }
        let mut after = match &options.cursor {
            None => None,
            Some(cursor) => Some(kv_rules::decode_cursor(
                CURSOR_TAG,
                cursor,
                &options.prefix,
            )?),
        };
        let now = self.clock.now_ms();
        // Up to `limit` live keys and one more, which says a cursor is due.
        let mut keys: Vec<ListKey> = Vec::new();
        let mut skipped = 0usize;
        loop {
            let need = limit + 1 - keys.len();
            let want = need.saturating_add(skipped).min(MAX_LIST_LIMIT);
            let page = self
                .storage
                .list(&options.prefix, after.as_deref(), want)
                .await?;
            let end = page.len() < want;
            if let Some((last, _)) = page.last() {
                after = Some(last.clone());
            }
            for (name, raw) in page {
                let envelope = Envelope::parse(&raw)?;
                if !envelope.live_at(now) {
                    skipped += 1;
                    continue;
                }
                keys.push(ListKey {
                    name,
                    expiration: envelope.expiration_secs(),
                    metadata: envelope.metadata,
                });
                if keys.len() > limit {
                    break;
                }
            }
            if end || keys.len() > limit {
                break;
            }
        }
        let cursor = if keys.len() > limit {
            keys.truncate(limit);
            keys.last()
                .map(|last| kv_rules::encode_cursor(CURSOR_TAG, &options.prefix, &last.name))
        } else {
            None
        };
        Ok(ListPage { keys, cursor })
    }
}

/// The envelope as written: borrowed, absent fields left out.
#[derive(Serialize)]
struct EnvelopeOut<'a> {
    v: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<i64>,
}

/// The envelope as read; the value is borrowed when it has no escapes.
#[derive(Deserialize)]
struct EnvelopeIn<'a> {
    #[serde(borrow)]
    v: Cow<'a, str>,
    #[serde(default, deserialize_with = "present")]
    m: Option<Value>,
    #[serde(default)]
    e: Option<i64>,
}

/// A present field is `Some`, even `null` (an absent one is `None` by default).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

struct Envelope<'a> {
    value: Cow<'a, str>,
    metadata: Option<Value>,
    /// Milliseconds since the epoch at which the entry is gone.
    expires_at_ms: Option<i64>,
}

impl<'a> Envelope<'a> {
    fn parse(raw: &'a str) -> Result<Self, StoreError> {
        let invalid = || StoreError::Rejected("stored entry is not a valid envelope".into());
        // A JSON object only (serde would take `["value"]` for a struct too).
        if !raw.trim_start().starts_with('{') {
            return Err(invalid());
        }
        let envelope: EnvelopeIn<'a> = serde_json::from_str(raw).map_err(|_| invalid())?;
        Ok(Self {
            value: envelope.v,
            metadata: envelope.m,
            expires_at_ms: envelope.e,
        })
    }

    fn live_at(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_none_or(|at| now_ms < at)
    }

    /// Seconds since the epoch, rounded up (as [`MemoryKv`](super::MemoryKv) reports it).
    fn expiration_secs(&self) -> Option<u64> {
        self.expires_at_ms
            .map(|ms| u64::try_from(ms.max(0)).unwrap_or(0).div_ceil(1000))
    }
}

/// Marks this store's list cursors (see [`kv_rules::encode_cursor`]).
const CURSOR_TAG: &str = "okv1.";

/// How many calls of each kind a [`MemoryObjects`] has received (failed ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectOpCounts {
    pub get: usize,
    pub put: usize,
    pub delete: usize,
    pub list: usize,
}

#[derive(Default)]
struct ObjectsState {
    entries: BTreeMap<String, String>,
    counts: ObjectOpCounts,
    fail_all: Option<StoreError>,
    faults: Option<Attached>,
}

/// A Durable Object's storage in memory, for tests: call counts and
/// failure injection (every call, or one chosen call of a [`Faults`] plan
/// shared with other stores). Clones share the same state.
#[derive(Clone, Default)]
pub struct MemoryObjects {
    state: Rc<RefCell<ObjectsState>>,
}

impl std::fmt::Debug for MemoryObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("MemoryObjects")
            .field("entries", &state.entries.len())
            .field("counts", &state.counts)
            .finish()
    }
}

impl MemoryObjects {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls received so far, by kind.
    pub fn counts(&self) -> ObjectOpCounts {
        self.state.borrow().counts
    }

    /// Sets every count back to zero.
    pub fn reset_counts(&self) {
        self.state.borrow_mut().counts = ObjectOpCounts::default();
    }

    /// Makes every call fail with `error` (still counted), or stops failing with `None`.
    pub fn fail_with(&self, error: Option<StoreError>) {
        self.state.borrow_mut().fail_all = error;
    }

    /// Numbers this storage's calls in `faults` (as `name`), which fails the
    /// one it chose; `None` detaches it.
    pub fn set_faults(&self, faults: Option<(&Faults, &str)>) {
        self.state.borrow_mut().faults = faults.map(|(f, name)| Attached {
            faults: f.clone(),
            store: name.to_owned(),
        });
    }

    /// Every stored key (expired envelopes included), in order. Not counted.
    pub fn keys(&self) -> Vec<String> {
        self.state.borrow().entries.keys().cloned().collect()
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.state.borrow().entries.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored string of `key` (an envelope, for [`ObjectKv`]). Not counted.
    pub fn raw(&self, key: &str) -> Option<String> {
        self.state.borrow().entries.get(key).cloned()
    }

    /// Counts the call, then returns the injected failure if any (or, for
    /// an unanswered call of a [`Faults`] plan, the error to answer once made).
    fn begin(
        &self,
        count: fn(&mut ObjectOpCounts) -> &mut usize,
        op: KvOp,
        key: &str,
    ) -> Result<Verdict, StoreError> {
        let attached = self.state.borrow().faults.clone();
        let verdict = fault::check(attached.as_ref(), op, key);
        let mut state = self.state.borrow_mut();
        *count(&mut state.counts) += 1;
        match &state.fail_all {
            Some(error) => Err(error.clone()),
            None => verdict,
        }
    }
}

impl ObjectStorage for MemoryObjects {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let verdict = self.begin(|c| &mut c.get, KvOp::Read, key)?;
        verdict.answer(Ok(self.raw(key)))
    }

    async fn put(&self, key: &str, value: String) -> Result<(), StoreError> {
        let verdict = self.begin(|c| &mut c.put, KvOp::Write, key)?;
        self.state
            .borrow_mut()
            .entries
            .insert(key.to_owned(), value);
        verdict.answer(Ok(()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let verdict = self.begin(|c| &mut c.delete, KvOp::Delete, key)?;
        self.state.borrow_mut().entries.remove(key);
        verdict.answer(Ok(()))
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let verdict = self.begin(|c| &mut c.list, KvOp::List, prefix)?;
        if limit == 0 || limit > MAX_LIST_LIMIT {
            return Err(StoreError::Rejected(format!(
                "list limit {limit} is outside 1..={MAX_LIST_LIMIT}"
            )));
        }
        let start = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let state = self.state.borrow();
        verdict.answer(Ok(state
            .entries
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()))
    }
}
