//! The switch from `eventual` to `strong`: the sessions KV holds for the
//! owner's user are imported before the owner's first operation, once.
//!
//! ```ignore
//! owner.import_for(&op).await?;   // the first time: KV list calls + one read per session
//! ```
//!
//! The user is the one the operation names; an operation that names only a
//! session (a token, an admin's id) finds the user in that session's KV
//! record (one read), and when there is none there is nothing to import yet.
//! A page of at most [`IMPORT_PAGE`] sessions is imported per request, each
//! page in one transaction with the listing's cursor, so that a user with
//! thousands of sessions in KV stays within a request's subrequests: until
//! the last page is in, operations answer 503 `store_unavailable` (nothing
//! is lost: each request, and the alarm, imports the next page). Imported
//! sessions keep their KV record, kept in step by the outbox from then on
//! (see [`super::tables`]); sessions created elsewhere in `eventual` mode
//! after the import are not the owner's.

use super::owner::Owner;
use super::sql::Sql;
use super::tables::Import;
use crate::clock::Clock;
use crate::events::EventQueue;
use crate::layout::record;
use crate::ops::{Op, Subject};
use crate::random::Random;
use crate::service::SessionError;
use crate::session::Session;
use crate::store::{KvStore, ListOptions, StoreError};
use crate::token::SessionId;

/// Sessions imported per request at most (a KV list and a read each).
pub const IMPORT_PAGE: usize = 400;

impl<Q: Sql, K: KvStore, E: EventQueue, C: Clock, N: Random> Owner<Q, K, E, C, N> {
    /// Imports the KV sessions of the user `op` names, unless done; an
    /// error while pages are left (see the module documentation).
    pub(super) async fn import_for(&self, op: &Op) -> Result<(), SessionError> {
        if self.imported.get() {
            return Ok(());
        }
        let import = match self.transact(|| Ok(self.tables.import_state()?))? {
            Some(import) => import,
            None => {
                let Some(user) = self.user_named(op).await? else {
                    return Ok(());
                };
                if self.settings.layout.owner(&user) != self.tag {
                    return Ok(());
                }
                Import {
                    user,
                    cursor: None,
                    done: false,
                }
            }
        };
        if !import.done && !self.import_page(import).await? {
            return Err(SessionError::Store(StoreError::Unavailable(
                "the user's sessions are being moved in from KV: try again".into(),
            )));
        }
        self.imported.set(true);
        Ok(())
    }

    /// Imports the next page of an unfinished import; whether it is done.
    pub(super) async fn import_page(&self, import: Import) -> Result<bool, SessionError> {
        let now = self.clock.now_ms();
        let page = self
            .kv
            .list(ListOptions {
                prefix: self
                    .settings
                    .layout
                    .checked_user_index_prefix(&import.user)?,
                limit: IMPORT_PAGE,
                cursor: import.cursor,
            })
            .await?;
        let mut sessions = Vec::new();
        for key in &page.keys {
            let Some((user, id)) = self.settings.layout.parse_index_key(&key.name) else {
                continue;
            };
            if user != import.user {
                continue;
            }
            if let Some(session) = self.kv_session(&id).await? {
                if session.user_id == import.user && session.is_live(now) {
                    sessions.push(session);
                }
            }
        }
        let next = Import {
            done: page.cursor.is_none(),
            cursor: page.cursor,
            user: import.user,
        };
        self.transact(|| Ok(self.tables.import(&next, &sessions)?))?;
        Ok(next.done)
    }

    /// The user an operation names, or whose session it names (one KV read).
    async fn user_named(&self, op: &Op) -> Result<Option<String>, SessionError> {
        let id = match op.subject() {
            Subject::User(user) => return Ok(Some(user.to_owned())),
            Subject::Token(token) => self
                .settings
                .key_ring
                .verify_token(token)
                .ok()
                .map(|v| v.id),
            Subject::Id(id) => SessionId::parse(id),
            Subject::Everyone => None,
        };
        match id {
            Some(id) => Ok(self.kv_session(&id).await?.map(|s| s.user_id)),
            None => Ok(None),
        }
    }

    /// Session `id` as KV holds it (one read).
    async fn kv_session(&self, id: &SessionId) -> Result<Option<Session>, SessionError> {
        let key = self.settings.layout.session_key(id);
        Ok(self
            .kv
            .get(&key)
            .await?
            .and_then(|entry| record::decode(&entry.value, id)))
    }
}

impl<Q: Sql, K: KvStore, E: EventQueue, C: Clock, N: Random> Owner<Q, K, E, C, N> {
    /// The alarm's share of an unfinished import: its next page. Whether
    /// pages are left (or the state could not be read).
    pub(super) async fn continue_import(&self) -> bool {
        if self.imported.get() {
            return false;
        }
        match self.transact(|| Ok(self.tables.import_state()?)) {
            Ok(Some(import)) if !import.done => !matches!(self.import_page(import).await, Ok(true)),
            Ok(_) => false,
            Err(_) => true,
        }
    }
}
