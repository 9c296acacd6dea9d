//! Listings of sessions, and revoking every session of a user: all from the
//! per-user index keys, with one KV list call per 1000 sessions and no
//! per-session read (contract §3).

use super::{SessionError, SessionService};
use crate::clock::Clock;
use crate::layout::index;
use crate::random::Random;
use crate::session::{Session, Summary, ValidationError};
use crate::store::{KvStore, ListOptions, ListPage, StoreError, MAX_LIST_LIMIT};
use crate::token::SessionId;

/// Longest listing cursor accepted from a client.
pub const MAX_CURSOR_LEN: usize = 1024;

impl<S: KvStore, C: Clock, R: Random> SessionService<S, C, R> {
    /// Lists every index entry of one user (all pages).
    async fn user_entries(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionId, Option<Summary>)>, SessionError> {
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
                entries.push((id, summary));
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    /// Destroys every session of `user_id` but `except` (a session id): list
    /// calls + 2 deletes per session, no reads. Returns how many were still live.
    pub async fn destroy_user(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<usize, SessionError> {
        let entries = self.user_entries(user_id).await?;
        let now = self.clock.now_ms();
        let mut revoked = 0;
        for (id, summary) in entries {
            if except == Some(id.as_str()) {
                continue;
            }
            self.delete_keys(user_id, &id).await?;
            if summary.is_some_and(|s| s.is_live(now)) {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// `MAX_SESSIONS_PER_USER`: after `created` was written, revokes the
    /// user's least recently seen other live sessions until at most `cap`
    /// are left (list calls + 2 deletes per revoked session, no reads).
    /// Exact when the store is consistent (`strong` mode: the owner runs one
    /// operation at a time); over KV, whose listings lag writes made
    /// elsewhere, the user may keep more for a while.
    pub(super) async fn enforce_session_cap(
        &self,
        created: &Session,
        cap: u32,
    ) -> Result<(), SessionError> {
        let now = self.clock.now_ms();
        let mut others: Vec<Summary> = self
            .user_entries(&created.user_id)
            .await?
            .into_iter()
            .filter_map(|(_, summary)| summary)
            .filter(|s| s.id != created.id && s.is_live(now))
            .collect();
        let keep = usize::try_from(cap).unwrap_or(usize::MAX).saturating_sub(1);
        if others.len() <= keep {
            return Ok(());
        }
        // Usually one to revoke: picked by a scan, not a sort (a second
        // sort instantiation would cost more wasm than the scan time).
        for _ in keep..others.len() {
            let oldest = others
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| (s.lifetime.last_seen_at, s.lifetime.created_at, &s.id))
                .map(|(i, _)| i);
            let Some(oldest) = oldest else { break };
            let summary = others.swap_remove(oldest);
            self.delete_keys(&created.user_id, &summary.id).await?;
        }
        Ok(())
    }

    /// Summaries of the live sessions of `user_id`, oldest first: one list
    /// call per 1000 sessions, no reads. With `current = Some(id)`, each
    /// summary says whether it is that session; with `None` it says nothing.
    pub async fn list_user(
        &self,
        user_id: &str,
        current: Option<&str>,
    ) -> Result<Vec<Summary>, SessionError> {
        let now = self.clock.now_ms();
        let mut summaries: Vec<Summary> = self
            .user_entries(user_id)
            .await?
            .into_iter()
            .filter_map(|(_, summary)| summary)
            .filter(|s| s.is_live(now))
            .map(|mut s| {
                s.current = current.map(|c| c == s.id.as_str());
                s
            })
            .collect();
        summaries
            .sort_by(|a, b| (a.lifetime.created_at, &a.id).cmp(&(b.lifetime.created_at, &b.id)));
        Ok(summaries)
    }

    /// One page of every user's live sessions (admin): one list call. A page
    /// may hold fewer than `limit` summaries (expired ones are left out) and
    /// still have a next cursor. `limit` is 1..=1000 (field `limit`); a cursor
    /// that is not one of this listing's is refused (field `cursor`).
    pub async fn list_all(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<Summary>, Option<String>), SessionError> {
        if !(1..=MAX_LIST_LIMIT).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIST_LIMIT}"),
            )
            .into());
        }
        let bad_cursor = || ValidationError::new("cursor", "is not a cursor of this listing");
        if cursor.is_some_and(|c| c.is_empty() || c.len() > MAX_CURSOR_LEN) {
            return Err(bad_cursor().into());
        }
        let options = ListOptions {
            prefix: self.layout.all_index_prefix(),
            limit,
            cursor: cursor.map(str::to_owned),
        };
        let page = match self.store.list(options).await {
            Ok(page) => page,
            Err(StoreError::Rejected(_)) if cursor.is_some() => return Err(bad_cursor().into()),
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now_ms();
        let summaries = page
            .keys
            .iter()
            .filter_map(|key| {
                let (user_id, id) = self.layout.parse_index_key(&key.name)?;
                index::decode(&user_id, &id, key.metadata.as_ref()?)
            })
            .filter(|s| s.is_live(now))
            .collect();
        Ok((summaries, page.cursor))
    }
}
