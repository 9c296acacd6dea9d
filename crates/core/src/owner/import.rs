//! The switch from `eventual` to `strong`: the sessions KV holds for the
//! owner's user are imported once, before the owner's first operation.
//!
//! ```ignore
//! owner.import_for(&op).await?;   // KV list calls + one read per session, the first time only
//! ```
//!
//! The user is the one the operation names; an operation that names only a
//! session id (a token, an admin's id) finds the user in that session's KV
//! record (one read), and when there is none there is nothing to import
//! yet. Imported sessions keep their KV record, kept in step by the outbox
//! from then on (see [`super::tables`]); sessions created elsewhere in
//! `eventual` mode after the import are not the owner's.

use super::owner::Owner;
use super::sql::Sql;
use crate::clock::Clock;
use crate::layout::record;
use crate::ops::Op;
use crate::random::Random;
use crate::service::SessionError;
use crate::session::Session;
use crate::store::{KvStore, ListOptions, MAX_LIST_LIMIT};
use crate::token::SessionId;

impl<Q: Sql, K: KvStore, C: Clock, N: Random> Owner<Q, K, C, N> {
    /// Imports the KV sessions of the user `op` names, unless done.
    pub(super) async fn import_for(&self, op: &Op) -> Result<(), SessionError> {
        if self.imported.get() {
            return Ok(());
        }
        if self.transact(|| Ok(self.tables.imported()?))?.is_some() {
            self.imported.set(true);
            return Ok(());
        }
        let user = match user_of(op) {
            Some(user) => user.to_owned(),
            None => match self.id_of(op) {
                Some(id) => match self.kv_session(&id).await? {
                    Some(session) => session.user_id,
                    None => return Ok(()),
                },
                None => return Ok(()),
            },
        };
        if self.settings.layout.owner(&user) != self.tag {
            return Ok(());
        }
        let sessions = self.kv_sessions(&user).await?;
        self.transact(|| Ok(self.tables.import(&user, &sessions)?))?;
        self.imported.set(true);
        Ok(())
    }

    /// The session id an operation names without naming its user.
    fn id_of(&self, op: &Op) -> Option<SessionId> {
        match op {
            Op::Verify { token } => self
                .settings
                .key_ring
                .verify_token(token)
                .ok()
                .map(|v| v.id),
            Op::Get { id } | Op::Update { id, .. } | Op::Destroy { id, .. } => SessionId::parse(id),
            _ => None,
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

    /// The live sessions KV holds for `user`: its index, then each record.
    async fn kv_sessions(&self, user: &str) -> Result<Vec<Session>, SessionError> {
        let layout = &self.settings.layout;
        let now = self.clock.now_ms();
        let mut sessions = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .kv
                .list(ListOptions {
                    prefix: layout.checked_user_index_prefix(user)?,
                    limit: MAX_LIST_LIMIT,
                    cursor,
                })
                .await?;
            for key in &page.keys {
                let Some((owner, id)) = layout.parse_index_key(&key.name) else {
                    continue;
                };
                if owner != user {
                    continue;
                }
                if let Some(session) = self.kv_session(&id).await? {
                    if session.user_id == user && session.is_live(now) {
                        sessions.push(session);
                    }
                }
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(sessions),
            }
        }
    }
}

/// The user an operation names, if it names one.
fn user_of(op: &Op) -> Option<&str> {
    match op {
        Op::Create { new } => Some(&new.user_id),
        Op::UpdateSession { session, .. }
        | Op::Refresh { session }
        | Op::Slide { session }
        | Op::DestroySession { session } => Some(&session.user_id),
        Op::Destroy {
            user_id: Some(user_id),
            ..
        }
        | Op::ListUser { user_id, .. }
        | Op::DestroyUser { user_id, .. } => Some(user_id),
        _ => None,
    }
}
