//! The storage seam: whole sessions in, whole sessions out.
//!
//! ```ignore
//! let stored = repo.load(&id).await?;                 // Option<Session>
//! repo.insert(&session).await?;                       // a new one
//! repo.update(&id, &|current| Ok(Some(next_of(current)))).await?;
//! repo.remove(&session.user_id, &id).await?;
//! let mine = repo.user_sessions("alice").await?;      // Vec<Entry>
//! ```
//!
//! [`crate::SessionService`] runs on this trait and holds every rule of a
//! session (validation, expiry, sliding, patches, the cap); a repository
//! only stores. One per backend: [`crate::kv::KvRepo`] (Workers KV,
//! `eventual` mode) and [`crate::owner::Tables`] (a Durable Object's SQLite
//! tables, `strong` mode). Each stores sessions as it likes: key names and
//! tables are theirs alone.
//!
//! `update` takes the change rather than its result: KV has no
//! compare-and-swap, so "replace if unchanged" can only be checked within an
//! isolate, and when that check fails the change must be applied again to
//! the newer record (see [`crate::kv`]). Over SQLite it is one read and one
//! write in the operation's transaction.

use crate::events::Event;
use crate::service::SessionError;
use crate::session::{Session, Summary};
use crate::token::SessionId;

/// A change of a stored session: the session as stored now in, the session
/// to store out (`Ok(None)`: nothing to write). Its error is the update's.
pub type Change<'a> = dyn Fn(&Session) -> Result<Option<Session>, SessionError> + 'a;

/// One session of a user's listing: its summary, `None` when what is stored
/// cannot be read (it is still removed by "revoke all").
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: SessionId,
    pub summary: Option<Summary>,
}

/// One page of every user's sessions; `cursor` is `None` on the last page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub summaries: Vec<Summary>,
    pub cursor: Option<String>,
}

/// See the module documentation. Expired sessions are stored until the
/// repository drops them on its own; the service decides what is live.
#[allow(async_fn_in_trait)]
pub trait Repo {
    /// The session `id` as stored, expired or not; `None` when there is none.
    /// A stored record that cannot be read is an error
    /// ([`SessionError::is_unreadable`]).
    async fn load(&self, id: &SessionId) -> Result<Option<Session>, SessionError>;

    /// Stores a new session. When it fails, nothing of it is left.
    async fn insert(&self, session: &Session) -> Result<(), SessionError>;

    /// Applies `change` to session `id` as it is stored when written, and
    /// stores the result. `NotFound` when there is no session `id`.
    async fn update(
        &self,
        id: &SessionId,
        change: &Change<'_>,
    ) -> Result<Option<Session>, SessionError>;

    /// Removes session `id` of `user_id` (nothing when it is not there).
    async fn remove(&self, user_id: &str, id: &SessionId) -> Result<(), SessionError>;

    /// Removes what is stored as session `id` when it cannot be read.
    async fn remove_unreadable(&self, id: &SessionId) -> Result<(), SessionError>;

    /// Every session of `user_id`, expired ones too.
    async fn user_sessions(&self, user_id: &str) -> Result<Vec<Entry>, SessionError>;

    /// One page of every user's sessions, at most `limit` (1..=1000), after
    /// `cursor`. A cursor this repository did not hand out is a
    /// `StoreError::Rejected`.
    async fn all_sessions(&self, limit: usize, cursor: Option<&str>) -> Result<Page, SessionError>;

    /// Whether events are kept (the `EVENTS` queue is bound): when not, the
    /// service makes none.
    fn records_events(&self) -> bool;

    /// Keeps the event of a change just made, to be sent (see
    /// [`crate::events`]).
    fn record(&self, event: Event) -> Result<(), SessionError>;
}

impl<R: Repo + ?Sized> Repo for &R {
    async fn load(&self, id: &SessionId) -> Result<Option<Session>, SessionError> {
        (**self).load(id).await
    }
    async fn insert(&self, session: &Session) -> Result<(), SessionError> {
        (**self).insert(session).await
    }
    async fn update(
        &self,
        id: &SessionId,
        change: &Change<'_>,
    ) -> Result<Option<Session>, SessionError> {
        (**self).update(id, change).await
    }
    async fn remove(&self, user_id: &str, id: &SessionId) -> Result<(), SessionError> {
        (**self).remove(user_id, id).await
    }
    async fn remove_unreadable(&self, id: &SessionId) -> Result<(), SessionError> {
        (**self).remove_unreadable(id).await
    }
    async fn user_sessions(&self, user_id: &str) -> Result<Vec<Entry>, SessionError> {
        (**self).user_sessions(user_id).await
    }
    async fn all_sessions(&self, limit: usize, cursor: Option<&str>) -> Result<Page, SessionError> {
        (**self).all_sessions(limit, cursor).await
    }
    fn records_events(&self) -> bool {
        (**self).records_events()
    }
    fn record(&self, event: Event) -> Result<(), SessionError> {
        (**self).record(event)
    }
}
