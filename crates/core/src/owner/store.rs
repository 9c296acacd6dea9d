//! The store an owner runs the session service over: its own storage
//! (`local`, strongly consistent) for everything, Workers KV (`global`) kept
//! up to date with the index entries through an outbox, and sessions still
//! in KV (created in `eventual` mode) moved in on first use.
//!
//! - `get` of a session key reads the owner's storage. A miss falls back to
//!   KV only while the owner has not yet moved in the sessions KV holds for
//!   its user (then the record is moved in), and never for a session moved
//!   in and revoked since (its marker says so).
//! - `put` and `delete` of an index key also write an outbox entry (one per
//!   KV key, the latest change wins), before the change itself (so that no
//!   change is made that KV never hears of, should the second call fail),
//!   which [`OwnerStore::drain`] applies to KV in order and removes only if
//!   it did not change meanwhile. A change is therefore in KV eventually,
//!   however operations interleave, and an index entry is never left behind
//!   in KV for a session the owner revoked.
//! - `delete` of the record of a session moved in from KV marks it revoked
//!   (first: the marker is where the revocation is decided, and the alarm
//!   finishes one that stopped after it) and queues the delete of its KV
//!   record (at every delete, so also when a revocation that stopped half
//!   way is made again), so that it is never moved in again and a switch
//!   back to `eventual` does not revive it.
//! - A marker that does not say revoked (a move-in that stopped before its
//!   record) never stops a move-in, and the sweep gives a held session that
//!   lacks its index entry (a move-in that stopped before it) its entry.
//! - `list` of a user's index prefix first moves in that user's sessions
//!   still in KV (once per user: KV list calls, one read per session).
//! - [`OwnerStore::tidy`] (the alarm's) removes index entries whose session
//!   the owner no longer holds (what a revocation that stopped between its
//!   two deletes left, as the cron cleanup does for KV in `eventual` mode)
//!   and finishes revocations decided by their marker.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use crate::layout::{index, kv_ttl_secs, record, KeyLayout, EXPIRED_RECORD_GRACE_SECS};
use crate::store::{
    KvEntry, KvStore, ListOptions, ListPage, PutOptions, StoreError, MAX_LIST_LIMIT,
    MIN_EXPIRATION_TTL,
};
use crate::token::{OwnerTag, SessionId};

/// A change of one KV key that KV has not seen yet.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    /// Makes every entry written distinct, so a drain can tell whether the
    /// entry it applied was replaced meanwhile.
    seq: String,
    change: Change,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Change {
    Put {
        value: String,
        metadata: Option<Value>,
        /// When KV should drop the key (ms); `None`: never.
        expires_at_ms: Option<i64>,
    },
    Delete,
}

/// The marker of a session moved in from KV.
#[derive(Debug, Serialize, Deserialize)]
struct Moved {
    revoked: bool,
    /// When the KV copy is gone on its own (ms): the marker lives as long.
    until_ms: i64,
}

/// What one [`OwnerStore::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Drain {
    /// KV calls made.
    pub applied: usize,
    /// Entries are left (the budget ran out or KV failed): drain again later.
    pub more: bool,
}

/// What one [`OwnerStore::tidy`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tidy {
    /// Markers and index entries looked at.
    pub scanned: usize,
    /// Revoked sessions and index entries removed (here and, through the
    /// outbox, in KV).
    pub removed: usize,
    /// False when the budget ran out before the last entry.
    pub done: bool,
}

/// See the module documentation.
pub struct OwnerStore<L, G, C> {
    local: L,
    global: G,
    layout: Rc<KeyLayout>,
    clock: C,
    seq: Cell<u64>,
    /// Users whose KV sessions are known to be moved in.
    swept: RefCell<HashSet<String>>,
    /// Whether this store queued an outbox entry.
    queued: Cell<bool>,
    /// Whose sessions this store holds: only theirs are moved in from KV.
    owner: OwnerTag,
}

impl<L: KvStore, G: KvStore, C: Clock> OwnerStore<L, G, C> {
    /// The store of `owner` (see [`KeyLayout::parse_owner_name`]).
    pub fn new(local: L, global: G, layout: Rc<KeyLayout>, clock: C, owner: OwnerTag) -> Self {
        Self {
            local,
            global,
            layout,
            clock,
            seq: Cell::new(0),
            swept: RefCell::default(),
            queued: Cell::new(false),
            owner,
        }
    }

    fn owns(&self, user_id: &str) -> bool {
        self.layout.owner(user_id) == self.owner
    }

    /// Whether this store queued a KV change (the call has KV work of its own).
    pub fn queued(&self) -> bool {
        self.queued.get()
    }

    pub fn local(&self) -> &L {
        &self.local
    }

    pub fn global(&self) -> &G {
        &self.global
    }

    fn next_seq(&self) -> String {
        let n = self.seq.get().wrapping_add(1);
        self.seq.set(n);
        format!("{}-{n}", self.clock.now_ms())
    }

    /// When a key put now with `expirationTtl` = `secs` expires (ms).
    fn expires_at(&self, secs: u64) -> i64 {
        self.clock
            .now_ms()
            .saturating_add(i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000))
    }

    fn ttl_until(&self, until_ms: i64) -> u64 {
        let ms = u64::try_from(until_ms.saturating_sub(self.clock.now_ms())).unwrap_or(0);
        ms.div_ceil(1000).max(MIN_EXPIRATION_TTL)
    }

    async fn queue(
        &self,
        kv_key: &str,
        change: Change,
        ttl: Option<u64>,
    ) -> Result<(), StoreError> {
        let pending = Pending {
            seq: self.next_seq(),
            change,
        };
        let text = serde_json::to_string(&pending)
            .map_err(|_| StoreError::Rejected("outbox entry".into()))?;
        let options = PutOptions {
            expiration_ttl: ttl,
            metadata: None,
        };
        self.queued.set(true);
        self.local
            .put(&self.layout.outbox_key(kv_key), &text, options)
            .await
    }

    /// Whether session `id` was moved in and revoked since: never moved in again.
    async fn revoked(&self, id: &SessionId) -> Result<bool, StoreError> {
        Ok(self.moved(id).await?.is_some_and(|m| m.revoked))
    }

    async fn moved(&self, id: &SessionId) -> Result<Option<Moved>, StoreError> {
        Ok(self
            .local
            .get(&self.layout.tombstone_key(id))
            .await?
            .and_then(|e| serde_json::from_str(&e.value).ok()))
    }

    /// Whether KV may still hold sessions of this owner that are not moved
    /// in: no user of this owner was swept yet.
    async fn may_hold_unmoved(&self) -> Result<bool, StoreError> {
        if !self.swept.borrow().is_empty() {
            return Ok(false);
        }
        let page = self
            .local
            .list(ListOptions {
                prefix: self.layout.swept_prefix(),
                limit: 1,
                cursor: None,
            })
            .await?;
        Ok(page.keys.is_empty())
    }

    /// Moves the KV record `entry` of session `id` in, unless the owner has
    /// it or revoked it meanwhile. Returns what the owner holds now.
    async fn move_in(&self, id: &SessionId, entry: KvEntry) -> Result<Option<KvEntry>, StoreError> {
        let key = self.layout.session_key(id);
        // Re-checked after the KV read: other requests may have run.
        if let Some(local) = self.local.get(&key).await? {
            // Held by a move-in that may have stopped before its index
            // entry while a sweep was reading KV: that sweep ends here for
            // this session and never runs again, so the entry is made now.
            self.index_held(id, &local).await?;
            return Ok(Some(local));
        }
        // A marker that does not say revoked is a move-in that stopped
        // before the record: moved in again.
        if self.revoked(id).await? {
            return Ok(None);
        }
        // The user's sweep completed since this move-in read KV: what it
        // did not move in is not the owner's (a "revoke all" may have run
        // on what it did move in).
        if !self.may_hold_unmoved().await? {
            return Ok(None);
        }
        let Some(session) = record::decode(&entry.value, id) else {
            return Ok(None);
        };
        // Another user's session is not ours to hold (a caller may name any id).
        if !self.owns(&session.user_id) {
            return Ok(None);
        }
        let now = self.clock.now_ms();
        let ttl = kv_ttl_secs(&session.lifetime, now);
        let marker = Moved {
            revoked: false,
            until_ms: session
                .lifetime
                .end()
                .saturating_add(i64::try_from(EXPIRED_RECORD_GRACE_SECS * 1000).unwrap_or(0)),
        };
        let options = |metadata| PutOptions {
            expiration_ttl: Some(ttl),
            metadata,
        };
        // The marker first: should the object stop in between, the session
        // is at worst moved in again, never revived after a revocation.
        self.mark_moved(id, &marker).await?;
        self.local.put(&key, &entry.value, options(None)).await?;
        self.local
            .put(
                &self.layout.index_key(&session.user_id, id),
                "",
                options(Some(index::encode(&session))),
            )
            .await?;
        Ok(Some(KvEntry {
            value: entry.value,
            metadata: None,
        }))
    }

    async fn mark_moved(&self, id: &SessionId, marker: &Moved) -> Result<(), StoreError> {
        let text = serde_json::to_string(marker)
            .map_err(|_| StoreError::Rejected("moved marker".into()))?;
        let options = PutOptions {
            expiration_ttl: Some(self.ttl_until(marker.until_ms)),
            metadata: None,
        };
        self.local
            .put(&self.layout.tombstone_key(id), &text, options)
            .await
    }

    /// Writes the owner's index entry of the held session `id` when it has
    /// none: a move-in that stopped between the record and its index entry
    /// (KV's entry is the one the sweep just listed).
    async fn index_held(&self, id: &SessionId, held: &KvEntry) -> Result<(), StoreError> {
        let Some(session) = record::decode(&held.value, id) else {
            return Ok(());
        };
        let key = self.layout.index_key(&session.user_id, id);
        if self.local.get(&key).await?.is_some() {
            return Ok(());
        }
        let options = PutOptions {
            expiration_ttl: Some(kv_ttl_secs(&session.lifetime, self.clock.now_ms())),
            metadata: Some(index::encode(&session)),
        };
        self.local.put(&key, "", options).await
    }

    /// Moves in every session KV holds for `user_id`, once per user.
    async fn sweep(&self, user_id: &str) -> Result<(), StoreError> {
        if self.swept.borrow().contains(user_id) || !self.owns(user_id) {
            return Ok(());
        }
        let flag = self.layout.swept_key(user_id);
        if self.local.get(&flag).await?.is_none() {
            let prefix = self.layout.user_index_prefix(user_id);
            let mut cursor = None;
            loop {
                let page = self
                    .global
                    .list(ListOptions {
                        prefix: prefix.clone(),
                        limit: MAX_LIST_LIMIT,
                        cursor,
                    })
                    .await?;
                for key in &page.keys {
                    let Some((owner, id)) = self.layout.parse_index_key(&key.name) else {
                        continue;
                    };
                    if owner != user_id {
                        continue;
                    }
                    if let Some(held) = self.local.get(&self.layout.session_key(&id)).await? {
                        self.index_held(&id, &held).await?;
                        continue;
                    }
                    if self.revoked(&id).await? {
                        continue;
                    }
                    if let Some(entry) = self.global.get(&self.layout.session_key(&id)).await? {
                        self.move_in(&id, entry).await?;
                    }
                }
                match page.cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            self.local.put(&flag, "1", PutOptions::default()).await?;
        }
        self.swept.borrow_mut().insert(user_id.to_owned());
        Ok(())
    }

    /// Applies up to `budget` outbox entries to KV, oldest key first.
    pub async fn drain(&self, budget: usize) -> Result<Drain, StoreError> {
        let mut report = Drain::default();
        if budget == 0 {
            report.more = true;
            return Ok(report);
        }
        let page = self
            .local
            .list(ListOptions {
                prefix: self.layout.outbox_prefix(),
                limit: budget.min(MAX_LIST_LIMIT),
                cursor: None,
            })
            .await?;
        report.more = page.cursor.is_some();
        for key in page.keys {
            let Some(target) = self.layout.outbox_target(&key.name) else {
                continue;
            };
            let Some(entry) = self.local.get(&key.name).await? else {
                continue;
            };
            let Ok(pending) = serde_json::from_str::<Pending>(&entry.value) else {
                // Not ours to apply: drop it rather than retry forever.
                self.local.delete(&key.name).await?;
                continue;
            };
            let applied = match pending.change {
                Change::Put {
                    value,
                    metadata,
                    expires_at_ms,
                } => {
                    let live = expires_at_ms.is_none_or(|at| at > self.clock.now_ms());
                    if live {
                        let options = PutOptions {
                            expiration_ttl: expires_at_ms.map(|at| self.ttl_until(at)),
                            metadata,
                        };
                        self.global.put(&target, &value, options).await
                    } else {
                        Ok(())
                    }
                }
                Change::Delete => self.global.delete(&target).await,
            };
            // Left in the outbox: the caller drains again later.
            applied?;
            report.applied += 1;
            // Removed only if no operation replaced it during the KV call.
            if self
                .local
                .get(&key.name)
                .await?
                .is_some_and(|now| now.value == entry.value)
            {
                self.local.delete(&key.name).await?;
            } else {
                report.more = true;
            }
        }
        Ok(report)
    }

    /// The alarm's cleanup of what a revocation that stopped half way left,
    /// looking at most `budget` entries from the first (its own storage
    /// only; KV's share through the outbox):
    /// - a session moved in whose marker says revoked but which is still
    ///   held (its marker is where its revocation is decided) is deleted,
    ///   its KV copy with it;
    /// - an index entry whose session this owner no longer holds is
    ///   deleted, here and in KV.
    pub async fn tidy(&self, budget: usize) -> Result<Tidy, StoreError> {
        let mut report = Tidy::default();
        let mut removed = 0;
        self.scan_local(
            &self.layout.tombstone_prefix(),
            budget,
            &mut report.scanned,
            async |name| {
                let Some(id) = self.layout.parse_tombstone_key(name) else {
                    return Ok(());
                };
                let record = self.layout.session_key(&id);
                if self.revoked(&id).await? && self.local.get(&record).await?.is_some() {
                    self.delete(&record).await?;
                    removed += 1;
                }
                Ok(())
            },
        )
        .await?;
        report.done = self
            .scan_local(
                &self.layout.all_index_prefix(),
                budget,
                &mut report.scanned,
                async |name| {
                    let Some((_, id)) = self.layout.parse_index_key(name) else {
                        return Ok(());
                    };
                    if self
                        .local
                        .get(&self.layout.session_key(&id))
                        .await?
                        .is_none()
                    {
                        self.delete(name).await?;
                        removed += 1;
                    }
                    Ok(())
                },
            )
            .await?;
        report.removed = removed;
        Ok(report)
    }

    /// Calls `each` on the name of every key under `prefix` in the object's
    /// storage, page by page, while `scanned` (counting every key seen) is
    /// below `budget`. Answers whether the last key was reached.
    async fn scan_local(
        &self,
        prefix: &str,
        budget: usize,
        scanned: &mut usize,
        mut each: impl AsyncFnMut(&str) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let mut cursor = None;
        while *scanned < budget {
            let page = self
                .local
                .list(ListOptions {
                    prefix: prefix.to_owned(),
                    limit: (budget - *scanned).min(MAX_LIST_LIMIT),
                    cursor,
                })
                .await?;
            for key in &page.keys {
                *scanned += 1;
                each(&key.name).await?;
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(true),
            }
        }
        Ok(false)
    }

    /// Whether the outbox holds anything.
    pub async fn has_pending(&self) -> Result<bool, StoreError> {
        let page = self
            .local
            .list(ListOptions {
                prefix: self.layout.outbox_prefix(),
                limit: 1,
                cursor: None,
            })
            .await?;
        Ok(!page.keys.is_empty())
    }
}

impl<L: KvStore, G: KvStore, C: Clock> KvStore for OwnerStore<L, G, C> {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        if let Some(entry) = self.local.get(key).await? {
            return Ok(Some(entry));
        }
        let Some(id) = self.layout.parse_session_key(key) else {
            return Ok(None);
        };
        if self.revoked(&id).await? || !self.may_hold_unmoved().await? {
            return Ok(None);
        }
        let Some(entry) = self.global.get(key).await? else {
            return Ok(None);
        };
        let user = record::decode(&entry.value, &id).map(|s| s.user_id);
        let moved = self.move_in(&id, entry).await?;
        if let Some(user) = user {
            self.sweep(&user).await?;
        }
        Ok(moved)
    }

    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
        if let Some(id) = self.layout.parse_session_key(key) {
            match self.moved(&id).await? {
                // Never written back once revoked (the service's own checks
                // make this unreachable; it is the last line).
                Some(moved) if moved.revoked => {
                    return Err(StoreError::Rejected("the session was revoked".into()))
                }
                // Moved in from KV: its KV copy is how the Worker finds the
                // owner of a legacy id, and what a switch back to
                // `eventual` reads, so it follows (and the marker outlives it).
                Some(_) => {
                    let until_ms = options
                        .expiration_ttl
                        .map(|secs| self.expires_at(secs))
                        .unwrap_or(i64::MAX);
                    let marker = Moved {
                        revoked: false,
                        until_ms,
                    };
                    self.mark_moved(&id, &marker).await?;
                    let change = Change::Put {
                        value: value.to_owned(),
                        metadata: None,
                        expires_at_ms: options.expiration_ttl.map(|secs| self.expires_at(secs)),
                    };
                    self.queue(key, change, options.expiration_ttl).await?;
                    return self.local.put(key, value, options).await;
                }
                // Before the first write of a user's session, its KV
                // sessions are moved in, so that no fallback to KV is needed
                // afterwards. Only for a session the owner does not hold yet
                // (a create): a rewrite of a held one must not await KV
                // between its read and its write, or a revocation made
                // meanwhile is undone.
                None => {
                    if self.local.get(key).await?.is_none() {
                        if let Some(session) = record::decode(value, &id) {
                            self.sweep(&session.user_id).await?;
                        }
                    }
                }
            }
        }
        if self.layout.parse_index_key(key).is_some() {
            let expires_at_ms = options.expiration_ttl.map(|secs| self.expires_at(secs));
            let change = Change::Put {
                value: value.to_owned(),
                metadata: options.metadata.clone(),
                expires_at_ms,
            };
            self.queue(key, change, options.expiration_ttl).await?;
            return self.local.put(key, value, options).await;
        }
        self.local.put(key, value, options).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if let Some(id) = self.layout.parse_session_key(key) {
            if let Some(moved) = self.moved(&id).await? {
                if !moved.revoked {
                    let marker = Moved {
                        revoked: true,
                        until_ms: moved.until_ms,
                    };
                    // Revoked before deleted: see `move_in`.
                    self.mark_moved(&id, &marker).await?;
                }
                // KV's copy goes too, also when a revocation that stopped
                // after its marker is made again.
                self.queue(key, Change::Delete, None).await?;
            }
            return self.local.delete(key).await;
        }
        if self.layout.parse_index_key(key).is_some() {
            self.queue(key, Change::Delete, None).await?;
            return self.local.delete(key).await;
        }
        self.local.delete(key).await
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        if let Some(user) = self.layout.parse_user_index_prefix(&options.prefix) {
            self.sweep(&user).await?;
        }
        self.local.list(options).await
    }
}
