//! `strong` mode's repository: one user's sessions in their owner's SQLite
//! tables, and the outbox of what KV must hear of them.
//!
//! ```sql
//! sessions (id PRIMARY KEY, user_id, created_at, last_seen_at, ends_at, in_kv, record)
//!   -- indexed by (user_id, last_seen_at) and by ends_at
//! outbox   (key PRIMARY KEY, seq, put)   -- a KV key's pending change; put NULL: delete
//! owner    (name PRIMARY KEY, value)     -- 'import': how far KV's sessions were moved in
//! events   (seq PRIMARY KEY, body)       -- session events not yet sent to the queue
//! ```
//!
//! `record` is the session's stored record ([`crate::layout::record`], the
//! format KV holds); the other columns are what queries need. Every call
//! runs inside the transaction of the owner's operation
//! ([`super::Owner::handle`]): what an operation changes here and what it
//! queues for KV commit together or not at all, so nothing is ever half
//! done. The outbox keeps KV's `u:` index entries (the global listing) in
//! step, and the `s:` records of sessions imported from KV (`in_kv`), so
//! that a switch back to `eventual` serves them as they stand, never as
//! they were. One row per KV key: the latest change wins. Session events
//! (when the queue is bound) wait in `events`, written in the same
//! transaction as their change, so none is lost.

use std::cell::Cell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::sql::{Row, Sql, SqlValue};
use crate::events::Event;
use crate::layout::{index, kept_until_ms, record, KeyLayout, EXPIRED_RECORD_GRACE_MS};
use crate::repo::{Change, Entry, Page, Repo};
use crate::service::SessionError;
use crate::session::{validate_user_id, Session};
use crate::store::StoreError;
use crate::token::SessionId;

const SCHEMA: [&str; 6] = [
    "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, \
     created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, \
     in_kv INTEGER NOT NULL, record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id, last_seen_at)",
    "CREATE INDEX IF NOT EXISTS sessions_by_end ON sessions (ends_at)",
    "CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, put TEXT)",
    "CREATE TABLE IF NOT EXISTS owner (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
];

/// A pending KV put: the value, its metadata, and when KV drops it (ms).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Put {
    pub value: String,
    pub metadata: Option<Value>,
    pub until_ms: i64,
}

/// One row of the outbox: a KV key and its latest change (`None`: delete).
#[derive(Debug, Clone)]
pub struct Pending {
    pub key: String,
    pub seq: i64,
    pub put: Option<Put>,
}

/// See the module documentation.
pub struct Tables<Q> {
    sql: Q,
    layout: Rc<KeyLayout>,
    /// Whether a change was queued for KV since [`Tables::take_queued`].
    queued: Cell<bool>,
    /// Whether events are kept (the `EVENTS` queue is bound).
    events: bool,
}

fn text(row: &Row, column: usize) -> Result<&str, StoreError> {
    row.get(column)
        .and_then(SqlValue::as_str)
        .ok_or_else(|| StoreError::Rejected("unexpected column in the owner's tables".into()))
}

fn integer(row: &Row, column: usize) -> Option<i64> {
    row.get(column).and_then(SqlValue::as_i64)
}

fn id_param(id: &SessionId) -> SqlValue {
    SqlValue::text(id.as_str())
}

impl<Q: Sql> Tables<Q> {
    pub fn new(sql: Q, layout: Rc<KeyLayout>) -> Self {
        Self {
            sql,
            layout,
            queued: Cell::new(false),
            events: false,
        }
    }

    /// Keeps session events in the outbox (the `EVENTS` queue is bound).
    pub fn with_events(mut self, on: bool) -> Self {
        self.events = on;
        self
    }

    /// The oldest `limit` events not yet sent, with their sequence numbers.
    pub fn events(&self, limit: usize) -> Result<Vec<(i64, Event)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.sql.exec(
            "SELECT seq, body FROM events ORDER BY seq LIMIT ?1",
            &[SqlValue::Integer(limit)],
        )?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let seq = integer(row, 0).unwrap_or(0);
            match serde_json::from_str(text(row, 1)?) {
                Ok(event) => events.push((seq, event)),
                // Not ours to send: dropped rather than retried forever.
                Err(_) => self.sent(seq)?,
            }
        }
        Ok(events)
    }

    /// Removes the events up to `seq`, once the queue has them.
    pub fn sent(&self, seq: i64) -> Result<(), StoreError> {
        self.sql.exec(
            "DELETE FROM events WHERE seq <= ?1",
            &[SqlValue::Integer(seq)],
        )?;
        Ok(())
    }

    /// Whether a change was queued for KV since the last call.
    pub fn take_queued(&self) -> bool {
        self.queued.replace(false)
    }

    pub fn sql(&self) -> &Q {
        &self.sql
    }

    /// Creates the tables that are missing.
    pub fn create_schema(&self) -> Result<(), StoreError> {
        for statement in SCHEMA {
            self.sql.exec(statement, &[])?;
        }
        Ok(())
    }

    /// The stored session `id` and whether KV holds its record.
    fn row(&self, id: &SessionId) -> Result<Option<(Session, bool)>, SessionError> {
        let rows = self.sql.exec(
            "SELECT record, in_kv FROM sessions WHERE id = ?1",
            &[id_param(id)],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let session = record::decode(text(row, 0)?, id).ok_or_else(SessionError::unreadable)?;
        Ok(Some((session, integer(row, 1) == Some(1))))
    }

    /// Stores `session` and queues what KV must hear of it.
    fn write(&self, session: &Session, in_kv: bool) -> Result<(), StoreError> {
        self.store_row(session, in_kv)?;
        let until_ms = kept_until_ms(&session.lifetime);
        self.queue(
            &self.layout.index_key(&session.user_id, &session.id),
            Some(Put {
                value: String::new(),
                metadata: Some(index::encode(session)),
                until_ms,
            }),
        )?;
        if in_kv {
            self.queue(
                &self.layout.session_key(&session.id),
                Some(Put {
                    value: record::encode(session),
                    metadata: None,
                    until_ms,
                }),
            )?;
        }
        Ok(())
    }

    fn store_row(&self, session: &Session, in_kv: bool) -> Result<(), StoreError> {
        let t = &session.lifetime;
        self.sql.exec(
            "INSERT INTO sessions (id, user_id, created_at, last_seen_at, ends_at, in_kv, record) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET \
             last_seen_at = excluded.last_seen_at, ends_at = excluded.ends_at, record = excluded.record",
            &[
                id_param(&session.id),
                SqlValue::text(&session.user_id),
                SqlValue::Integer(t.created_at),
                SqlValue::Integer(t.last_seen_at),
                SqlValue::Integer(t.end()),
                SqlValue::Integer(i64::from(in_kv)),
                SqlValue::Text(record::encode(session)),
            ],
        )?;
        Ok(())
    }

    /// Queues the change of KV key `key` (replacing one queued before).
    fn queue(&self, key: &str, put: Option<Put>) -> Result<(), StoreError> {
        let put = match put {
            Some(put) => SqlValue::Text(
                serde_json::to_string(&put)
                    .map_err(|_| StoreError::Rejected("outbox entry".into()))?,
            ),
            None => SqlValue::Null,
        };
        self.sql.exec(
            "INSERT INTO outbox (key, seq, put) VALUES (?1, \
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox), ?2) \
             ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, put = excluded.put",
            &[SqlValue::text(key), put],
        )?;
        self.queued.set(true);
        Ok(())
    }

    /// The oldest `limit` changes of the outbox.
    pub fn outbox(&self, limit: usize) -> Result<Vec<Pending>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.sql.exec(
            "SELECT key, seq, put FROM outbox ORDER BY seq LIMIT ?1",
            &[SqlValue::Integer(limit)],
        )?;
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let put = match row.get(2) {
                Some(SqlValue::Text(json)) => serde_json::from_str(json).ok(),
                _ => None,
            };
            pending.push(Pending {
                key: text(row, 0)?.to_owned(),
                seq: integer(row, 1).unwrap_or(0),
                put,
            });
        }
        Ok(pending)
    }

    /// Removes an outbox row once KV has it, unless a newer change of the
    /// same key replaced it meanwhile.
    pub fn applied(&self, pending: &Pending) -> Result<(), StoreError> {
        self.sql.exec(
            "DELETE FROM outbox WHERE key = ?1 AND seq = ?2",
            &[SqlValue::text(&pending.key), SqlValue::Integer(pending.seq)],
        )?;
        Ok(())
    }

    /// When the next alarm is due for this owner's own data: the first
    /// session to be dropped, `None` when there is none.
    pub fn next_purge_ms(&self) -> Result<Option<i64>, StoreError> {
        let rows = self.sql.exec("SELECT MIN(ends_at) FROM sessions", &[])?;
        Ok(rows
            .first()
            .and_then(|row| integer(row, 0))
            .map(|end| end.saturating_add(EXPIRED_RECORD_GRACE_MS)))
    }

    /// Drops the sessions kept past their end (their KV keys expire on their own).
    pub fn purge(&self, now_ms: i64) -> Result<(), StoreError> {
        self.sql.exec(
            "DELETE FROM sessions WHERE ends_at <= ?1",
            &[SqlValue::Integer(
                now_ms.saturating_sub(EXPIRED_RECORD_GRACE_MS),
            )],
        )?;
        Ok(())
    }

    /// How far the import of KV's sessions got (`None`: not begun).
    pub fn import_state(&self) -> Result<Option<Import>, StoreError> {
        let rows = self
            .sql
            .exec("SELECT value FROM owner WHERE name = 'import'", &[])?;
        Ok(rows
            .first()
            .and_then(|r| r.first()?.as_str())
            .and_then(|json| serde_json::from_str(json).ok()))
    }

    /// Takes in one page of `sessions` read from KV for `import.user`, and
    /// notes how far the import got: KV already holds their record and
    /// index entry, kept in step from now on. Nothing once it is done.
    pub fn import(&self, import: &Import, sessions: &[Session]) -> Result<(), StoreError> {
        if self.import_state()?.is_some_and(|i| i.done) {
            return Ok(());
        }
        for session in sessions {
            if self.row(&session.id).map_err(store)?.is_none() {
                self.store_row(session, true)?;
            }
        }
        let state = serde_json::to_string(import)
            .map_err(|_| StoreError::Rejected("import state".into()))?;
        self.sql.exec(
            "INSERT INTO owner (name, value) VALUES ('import', ?1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[SqlValue::Text(state)],
        )?;
        Ok(())
    }
}

/// How far the import of a user's sessions from KV got: the KV listing's
/// cursor of the next page, until done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub user: String,
    pub cursor: Option<String>,
    pub done: bool,
}

/// A session error met where only storage can fail.
fn store(e: SessionError) -> StoreError {
    match e {
        SessionError::Store(e) => e,
        other => StoreError::Rejected(other.to_string()),
    }
}

impl<Q: Sql> Repo for Tables<Q> {
    async fn load(&self, id: &SessionId) -> Result<Option<Session>, SessionError> {
        Ok(self.row(id)?.map(|(session, _)| session))
    }

    async fn insert(&self, session: &Session) -> Result<(), SessionError> {
        Ok(self.write(session, false)?)
    }

    async fn update(
        &self,
        id: &SessionId,
        change: &Change<'_>,
    ) -> Result<Option<Session>, SessionError> {
        let (current, in_kv) = self.row(id)?.ok_or(SessionError::NotFound)?;
        let Some(next) = change(&current)? else {
            return Ok(None);
        };
        self.write(&next, in_kv)?;
        Ok(Some(next))
    }

    async fn remove(&self, user_id: &str, id: &SessionId) -> Result<(), SessionError> {
        let rows = self.sql.exec(
            "DELETE FROM sessions WHERE id = ?1 AND user_id = ?2 RETURNING in_kv",
            &[id_param(id), SqlValue::text(user_id)],
        )?;
        let Some(row) = rows.first() else {
            return Ok(());
        };
        self.queue(&self.layout.index_key(user_id, id), None)?;
        if integer(row, 0) == Some(1) {
            self.queue(&self.layout.session_key(id), None)?;
        }
        Ok(())
    }

    async fn remove_unreadable(&self, id: &SessionId) -> Result<(), SessionError> {
        self.sql
            .exec("DELETE FROM sessions WHERE id = ?1", &[id_param(id)])?;
        Ok(())
    }

    async fn user_sessions(&self, user_id: &str) -> Result<Vec<Entry>, SessionError> {
        validate_user_id(user_id)?;
        let rows = self.sql.exec(
            "SELECT id, record FROM sessions WHERE user_id = ?1",
            &[SqlValue::text(user_id)],
        )?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(id) = SessionId::parse(text(row, 0)?) else {
                continue;
            };
            let summary = record::decode(text(row, 1)?, &id).map(|s| s.summary(None));
            entries.push(Entry { id, summary });
        }
        Ok(entries)
    }

    async fn all_sessions(&self, limit: usize, cursor: Option<&str>) -> Result<Page, SessionError> {
        let after = match cursor {
            None => String::new(),
            Some(c) => SessionId::parse(c)
                .ok_or_else(|| StoreError::Rejected("invalid list cursor".into()))?
                .to_string(),
        };
        let rows = self.sql.exec(
            "SELECT id, record FROM sessions WHERE id > ?1 ORDER BY id LIMIT ?2",
            &[
                SqlValue::Text(after),
                SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )?;
        let mut page = Page::default();
        for row in &rows {
            let Some(id) = SessionId::parse(text(row, 0)?) else {
                continue;
            };
            if let Some(session) = record::decode(text(row, 1)?, &id) {
                page.summaries.push(session.summary(None));
            }
            page.cursor = Some(id.to_string());
        }
        if rows.len() < limit {
            page.cursor = None;
        }
        Ok(page)
    }

    fn records_events(&self) -> bool {
        self.events
    }

    fn record(&self, event: Event) -> Result<(), SessionError> {
        let body =
            serde_json::to_string(&event).map_err(|_| StoreError::Rejected("event".into()))?;
        self.sql.exec(
            "INSERT INTO events (body) VALUES (?1)",
            &[SqlValue::Text(body)],
        )?;
        self.queued.set(true);
        Ok(())
    }
}
