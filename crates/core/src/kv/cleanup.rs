//! The cron cleanup: removes index entries whose session is gone, a bounded
//! batch per run, resuming where the previous run stopped.

use super::KvRepo;
use crate::clock::Clock;
use crate::layout::{index, record};
use crate::service::SessionError;
use crate::store::{KvStore, ListOptions, PutOptions, StoreError, MAX_LIST_LIMIT};

/// Index entries younger than this are never removed by cleanup: their
/// session key may not be visible yet at the cron's location (KV is
/// eventually consistent between locations).
pub const CLEANUP_GRACE_MS: i64 = 10 * 60 * 1000;
/// `expirationTtl` of the cleanup cursor: a stale cursor is dropped.
pub const CLEANUP_CURSOR_TTL: u64 = 86_400;

/// What one cleanup run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CleanupReport {
    /// Index entries looked at.
    pub scanned: usize,
    /// Index entries removed (session gone, expired, or unreadable).
    pub removed: usize,
    /// Session keys read to decide.
    pub reads: usize,
    /// True when this run reached the end of the index: the next run starts over.
    pub done: bool,
}

impl<S: KvStore, C: Clock> KvRepo<S, C> {
    /// One bounded step of the cron cleanup: reads its cursor, lists at most
    /// `budget` (1..=1000) index entries from there, and removes those whose
    /// session is gone. Entries whose metadata says expired are removed
    /// without a read; others get one read of their session key (so at most
    /// `budget` reads); entries younger than [`CLEANUP_GRACE_MS`] are kept.
    /// The next cursor is stored under the layout's cleanup key, so that
    /// successive runs cover the whole index and then start over.
    pub async fn cleanup(&self, budget: usize) -> Result<CleanupReport, SessionError> {
        let limit = budget.clamp(1, MAX_LIST_LIMIT);
        let cursor_key = self.layout.cleanup_cursor_key();
        let cursor = self
            .store
            .get(&cursor_key)
            .await?
            .map(|e| e.value)
            .filter(|c| !c.is_empty());
        let prefix = self.layout.all_index_prefix();
        let list = |cursor| ListOptions {
            prefix: prefix.clone(),
            limit,
            cursor,
        };
        let page = match self.store.list(list(cursor.clone())).await {
            Ok(page) => page,
            // A stale or foreign cursor: start over.
            Err(StoreError::Rejected(_)) if cursor.is_some() => self.store.list(list(None)).await?,
            Err(e) => return Err(e.into()),
        };

        let now = self.clock.now_ms();
        let mut report = CleanupReport::default();
        for key in &page.keys {
            let Some((user_id, id)) = self.layout.parse_index_key(&key.name) else {
                continue;
            };
            report.scanned += 1;
            let summary = key
                .metadata
                .as_ref()
                .and_then(|m| index::decode(&user_id, &id, m));
            let remove = match summary {
                Some(s) if !s.is_live(now) => true,
                Some(s) if s.lifetime.created_at > now.saturating_sub(CLEANUP_GRACE_MS) => false,
                _ => {
                    report.reads += 1;
                    match self.store.get(&self.layout.session_key(&id)).await? {
                        None => true,
                        Some(entry) => match record::decode(&entry.value, &id) {
                            Some(s) => s.user_id != user_id || !s.is_live(now),
                            None => true,
                        },
                    }
                }
            };
            if remove {
                self.store.delete(&key.name).await?;
                report.removed += 1;
            }
        }

        match page.cursor {
            Some(next) => {
                let options = PutOptions {
                    expiration_ttl: Some(CLEANUP_CURSOR_TTL),
                    metadata: None,
                };
                self.store.put(&cursor_key, &next, options).await?;
            }
            None => {
                report.done = true;
                if cursor.is_some() {
                    self.store.delete(&cursor_key).await?;
                }
            }
        }
        Ok(report)
    }
}
