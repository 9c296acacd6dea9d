//! `eventual` mode's repository: sessions in Workers KV.
//!
//! ```ignore
//! let repo = KvRepo::new(kv, clock, layout, ledger);
//! let service = SessionService::new(repo, clock, random, key_ring, layout.prefix());
//! ```
//!
//! Each session has two keys ([`crate::layout`]): its record and its entry
//! in its user's index, whose metadata is the session's summary. KV costs,
//! which the contract fixes and the tests count:
//! - `load`: 1 read; `insert`: 2 writes (record first, then index entry);
//! - `update`: 1 read + 2 writes; `remove`: 2 deletes (done once the
//!   record is deleted: an index entry left behind goes with the cleanup);
//! - `user_sessions`: one list call per 1000 sessions, no reads;
//!   `all_sessions`: one list call;
//! - when a call fails half way: `insert` deletes what it wrote (2
//!   deletes); `update` puts the record and its index entry back as it read
//!   them (2 writes), so an index entry never lists a session nobody holds
//!   nor ends before or after it;
//! - an update during whose put this isolate removed the session removes it
//!   again once the put has landed (2 deletes).
//!
//! No call read-modify-writes a key shared by several sessions.
//!
//! KV has no compare-and-swap. Within one isolate the [`Ledger`] makes
//! "update the record as it stands" exact: an update whose read may have
//! missed a write or removal of this isolate applies its change to the
//! record this isolate wrote last instead (or gives up when it removed it),
//! with no await in between. What KV still allows: a change made in another
//! isolate or location in the one KV round trip between an update's read and
//! its put is undone by that put; and in another location, for as long as
//! KV shows it the old record (up to about 60 s). `strong` mode has neither.
//!
//! [`cleanup`] is the cron run that removes index entries whose session is gone.

mod cleanup;

pub use cleanup::{CleanupReport, CLEANUP_CURSOR_TTL, CLEANUP_GRACE_MS};

use std::rc::Rc;

use crate::clock::Clock;
use crate::events::{Event, EventLog};
use crate::layout::{index, kv_ttl_secs, record, KeyLayout};
use crate::ledger::{LastWrite, Ledger, WriteMark};
use crate::repo::{Change, Entry, Page, Repo};
use crate::service::SessionError;
use crate::session::Session;
use crate::store::{KvStore, ListOptions, ListPage, PutOptions, StoreError, MAX_LIST_LIMIT};
use crate::token::SessionId;

/// How many times an update reads again when the ledger forgot what this
/// isolate wrote meanwhile, before it gives up (503).
const MAX_REWRITE_ATTEMPTS: usize = 3;

/// See the module documentation.
pub struct KvRepo<S, C> {
    store: S,
    clock: C,
    layout: Rc<KeyLayout>,
    ledger: Rc<Ledger>,
    /// Where this request's events wait for the Worker to send them after
    /// the response; `None`: events are off.
    events: Option<Rc<EventLog>>,
}

impl<S: KvStore, C: Clock> KvRepo<S, C> {
    /// A repository over `store`; `ledger` is the isolate's (one per
    /// isolate; a fresh one remembers nothing, which is safe).
    pub fn new(store: S, clock: C, layout: Rc<KeyLayout>, ledger: Rc<Ledger>) -> Self {
        Self {
            store,
            clock,
            layout,
            ledger,
            events: None,
        }
    }

    /// Keeps this request's events in `log` (the `EVENTS` queue is bound).
    pub fn with_events(mut self, log: Option<Rc<EventLog>>) -> Self {
        self.events = log;
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn layout(&self) -> &KeyLayout {
        &self.layout
    }

    /// The isolate's ledger this repository notes its writes in.
    pub fn ledger(&self) -> &Rc<Ledger> {
        &self.ledger
    }

    /// Writes both keys of `session`: the record first, the index entry
    /// last, so that a "revoke all" listing made in between cannot leave a
    /// working session out of the index.
    async fn write(&self, session: &Session) -> Result<(), SessionError> {
        let ttl = Some(kv_ttl_secs(&session.lifetime, self.clock.now_ms()));
        let options = |metadata| PutOptions {
            expiration_ttl: ttl,
            metadata,
        };
        self.store
            .put(
                &self.layout.session_key(&session.id),
                &record::encode(session),
                options(None),
            )
            .await?;
        self.store
            .put(
                &self.layout.index_key(&session.user_id, &session.id),
                "",
                options(Some(index::encode(session))),
            )
            .await?;
        Ok(())
    }

    /// [`Self::write`] of an existing session, noted in the ledger like
    /// every write of this isolate; also answers the write's mark.
    async fn noted_write(&self, session: &Session) -> (Result<(), SessionError>, WriteMark) {
        let id = &session.id;
        let ticket = self
            .ledger
            .note_write(id, LastWrite::Written(Rc::new(session.clone())));
        let ours = self.ledger.mark(id);
        let written = self.write(session).await;
        self.ledger.finish_write(ticket, written.is_ok());
        (written, ours)
    }

    /// After a put of `id` whose mark is `ours`: a removal of this isolate
    /// that began while the put was in flight may have reached KV first
    /// (calls to a remote KV overtake each other) and been undone by the
    /// put, so it is made again now that the put has landed.
    async fn redo_overtaken_remove(&self, id: &SessionId, user_id: &str, ours: WriteMark) {
        if !ours.only_own_write(self.ledger.mark(id))
            && matches!(self.ledger.last_write(id), Some(LastWrite::Deleted))
        {
            let _ = self.remove(user_id, id).await;
        }
    }

    async fn delete_both(&self, user_id: &str, id: &SessionId) -> Result<(), SessionError> {
        // Record first: once it is gone the session is revoked, whatever
        // becomes of its index entry; one left behind lists a session that
        // does not work, and the cron cleanup removes it.
        self.store.delete(&self.layout.session_key(id)).await?;
        let _ = self.store.delete(&self.layout.index_key(user_id, id)).await;
        Ok(())
    }
}

impl<S: KvStore, C: Clock> Repo for KvRepo<S, C> {
    async fn load(&self, id: &SessionId) -> Result<Option<Session>, SessionError> {
        let Some(entry) = self.store.get(&self.layout.session_key(id)).await? else {
            return Ok(None);
        };
        record::decode(&entry.value, id)
            .map(Some)
            .ok_or_else(SessionError::unreadable)
    }

    async fn insert(&self, session: &Session) -> Result<(), SessionError> {
        let written = self.write(session).await;
        if written.is_err() {
            // Its token is never handed out: what was written of it goes
            // (best effort), or the user's listing would show a session
            // nobody holds.
            let _ = self.remove(&session.user_id, &session.id).await;
        }
        written
    }

    /// Reads the record (1 read), applies `change` and writes the result (2
    /// writes). When the read may have missed one of this isolate's writes
    /// (one was in flight when it began, or began since: see
    /// [`WriteMark`]), `change` is applied to the record this isolate wrote
    /// last instead, with no await in between, so overlapping writes of one
    /// session all land in turn; when this isolate removed it, `NotFound`.
    /// Only when the ledger does not know does it read again (at most
    /// [`MAX_REWRITE_ATTEMPTS`] times, then a store error).
    async fn update(
        &self,
        id: &SessionId,
        change: &Change<'_>,
    ) -> Result<Option<Session>, SessionError> {
        for _ in 0..MAX_REWRITE_ATTEMPTS {
            let mark = self.ledger.mark(id);
            let Some(entry) = self.store.get(&self.layout.session_key(id)).await? else {
                return Err(SessionError::NotFound);
            };
            let mut current =
                record::decode(&entry.value, id).ok_or_else(SessionError::unreadable)?;
            // From here to the write's note in the ledger there is no
            // await: what the ledger says cannot change in between.
            if mark.read_may_be_stale(self.ledger.mark(id)) {
                match self.ledger.last_write(id) {
                    Some(LastWrite::Written(newer)) => current = Session::clone(&newer),
                    Some(LastWrite::Deleted) => return Err(SessionError::NotFound),
                    None => continue,
                }
            }
            let Some(next) = change(&current)? else {
                return Ok(None);
            };
            let (written, ours) = self.noted_write(&next).await;
            if let Err(e) = written {
                // The record may be written and its index entry not (or the
                // entry written and its answer lost): put both back as they
                // were (best effort), or the entry would end before the
                // session does (the cleanup would drop it, "revoke all"
                // would miss the session) or after it (listed past its
                // expiry). Not when this isolate wrote or removed the
                // session meanwhile. Noted like any write, so that an
                // update of this isolate reading meanwhile builds on it.
                if ours.only_own_write(self.ledger.mark(id)) {
                    let (_, back) = self.noted_write(&current).await;
                    self.redo_overtaken_remove(id, &current.user_id, back).await;
                } else {
                    // A put that landed though its answer was lost is
                    // overtaken like any other.
                    self.redo_overtaken_remove(id, &next.user_id, ours).await;
                }
                return Err(e);
            }
            self.redo_overtaken_remove(id, &next.user_id, ours).await;
            return Ok(Some(next));
        }
        Err(SessionError::Store(StoreError::Unavailable(
            "the session kept changing while it was being written".into(),
        )))
    }

    async fn remove(&self, user_id: &str, id: &SessionId) -> Result<(), SessionError> {
        // Noted before the first await: a write of this session already in
        // flight in this isolate checks the ledger right before its put.
        let ticket = self.ledger.note_write(id, LastWrite::Deleted);
        let deleted = self.delete_both(user_id, id).await;
        self.ledger.finish_write(ticket, deleted.is_ok());
        deleted
    }

    async fn remove_unreadable(&self, id: &SessionId) -> Result<(), SessionError> {
        // Its user, hence its index entry, is unknown: the cleanup removes it.
        Ok(self.store.delete(&self.layout.session_key(id)).await?)
    }

    async fn user_sessions(&self, user_id: &str) -> Result<Vec<Entry>, SessionError> {
        let prefix = self.layout.checked_user_index_prefix(user_id)?;
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let ListPage { keys, cursor: next } = self
                .store
                .list(ListOptions {
                    prefix: prefix.clone(),
                    limit: MAX_LIST_LIMIT,
                    cursor,
                })
                .await?;
            for key in keys {
                let Some((owner, id)) = self.layout.parse_index_key(&key.name) else {
                    continue;
                };
                if owner != user_id {
                    continue;
                }
                let summary = key
                    .metadata
                    .as_ref()
                    .and_then(|m| index::decode(user_id, &id, m));
                entries.push(Entry { id, summary });
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    async fn all_sessions(&self, limit: usize, cursor: Option<&str>) -> Result<Page, SessionError> {
        let page = self
            .store
            .list(ListOptions {
                prefix: self.layout.all_index_prefix(),
                limit,
                cursor: cursor.map(str::to_owned),
            })
            .await?;
        let summaries = page
            .keys
            .iter()
            .filter_map(|key| {
                let (user_id, id) = self.layout.parse_index_key(&key.name)?;
                index::decode(&user_id, &id, key.metadata.as_ref()?)
            })
            .collect();
        Ok(Page {
            summaries,
            cursor: page.cursor,
        })
    }

    fn records_events(&self) -> bool {
        self.events.is_some()
    }

    fn record(&self, event: Event) -> Result<(), SessionError> {
        if let Some(log) = &self.events {
            log.push(event);
        }
        Ok(())
    }
}
