//! Listings of sessions, revoking every session of a user, and the cap of
//! sessions per user: all from the repository's listings, with no
//! per-session load (contract §3).

use super::{SessionError, SessionService};
use crate::clock::Clock;
use crate::events::{Actor, Context, Reason};
use crate::random::Random;
use crate::repo::Repo;
use crate::session::{Session, Summary, ValidationError};
use crate::store::{StoreError, MAX_LIST_LIMIT};

/// Longest listing cursor accepted from a client.
pub const MAX_CURSOR_LEN: usize = 1024;

impl<R: Repo, C: Clock, N: Random> SessionService<R, C, N> {
    /// Destroys every session of `user_id` but `except` (a session id): one
    /// listing and a removal per session. Returns how many were still live.
    pub(crate) async fn destroy_user(
        &self,
        user_id: &str,
        except: Option<&str>,
        ctx: &Context,
    ) -> Result<usize, SessionError> {
        let entries = self.repo.user_sessions(user_id).await?;
        let now = self.clock.now_ms();
        let reason = match except {
            Some(_) => Reason::Others,
            None => Reason::All,
        };
        let mut revoked = 0;
        for entry in entries {
            if except == Some(entry.id.as_str()) {
                continue;
            }
            let live = entry.summary.is_some_and(|s| s.is_live(now));
            self.remove(user_id, &entry.id, live, reason, ctx).await?;
            revoked += usize::from(live);
        }
        Ok(revoked)
    }

    /// `MAX_SESSIONS_PER_USER`: after `created` was stored, revokes the
    /// user's least recently seen other live sessions until at most `cap`
    /// are left (one listing and a removal per revoked session). Exact when
    /// the repository is consistent (`strong` mode); over KV, whose listings
    /// lag writes made elsewhere, the user may keep more for a while.
    pub(super) async fn enforce_session_cap(
        &self,
        created: &Session,
        cap: u32,
        ctx: &Context,
    ) -> Result<(), SessionError> {
        // The Worker revokes them itself, for the request that signs in.
        let ctx = Context {
            actor: Some(Actor::System),
            ..ctx.clone()
        };
        let now = self.clock.now_ms();
        let mut others: Vec<Summary> = self
            .repo
            .user_sessions(&created.user_id)
            .await?
            .into_iter()
            .filter_map(|entry| entry.summary)
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
            let id = &summary.id;
            self.remove(&created.user_id, id, true, Reason::Cap, &ctx)
                .await?;
        }
        Ok(())
    }

    /// Summaries of the live sessions of `user_id`, oldest first: one
    /// listing, no loads. With `current = Some(id)`, each summary says
    /// whether it is that session; with `None` it says nothing.
    pub async fn list_user(
        &self,
        user_id: &str,
        current: Option<&str>,
    ) -> Result<Vec<Summary>, SessionError> {
        let now = self.clock.now_ms();
        let mut summaries: Vec<Summary> = self
            .repo
            .user_sessions(user_id)
            .await?
            .into_iter()
            .filter_map(|entry| entry.summary)
            .filter(|s| s.is_live(now))
            .map(|mut s| {
                s.current = current.map(|c| c == s.id.as_str());
                s
            })
            .collect();
        by_creation(&mut summaries);
        Ok(summaries)
    }

    /// One page of every user's live sessions (admin). A page may hold
    /// fewer than `limit` summaries (expired ones are left out) and still
    /// have a next cursor. `limit` is 1..=1000 (field `limit`); a cursor
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
        let page = match self.repo.all_sessions(limit, cursor).await {
            Ok(page) => page,
            Err(SessionError::Store(StoreError::Rejected(_))) if cursor.is_some() => {
                return Err(bad_cursor().into())
            }
            Err(e) => return Err(e),
        };
        let now = self.clock.now_ms();
        let live = page.summaries.into_iter().filter(|s| s.is_live(now));
        Ok((live.collect(), page.cursor))
    }
}

/// Oldest first, then by id. Outside the generic service so that the wasm
/// holds one copy of the sort, not one per repository type; unstable (the
/// smaller of the two sorts) since ids are unique, so no two keys are equal.
fn by_creation(summaries: &mut [Summary]) {
    summaries.sort_unstable_by(|a, b| {
        (a.lifetime.created_at, &a.id).cmp(&(b.lifetime.created_at, &b.id))
    });
}
