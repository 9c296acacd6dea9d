//! The session operations the HTTP layer calls, in either consistency mode:
//! run here over Workers KV (`eventual`), or by each user's owner
//! (`strong`, see [`crate::owner`]). Same names, same answers.

use serde_json::Value;

use crate::clock::Clock;
use crate::layout::KeyLayout;
use crate::owner::OwnerClient;
use crate::random::Random;
use crate::service::{CleanupReport, SessionError, SessionService, Slide, Writer};
use crate::session::{NewSession, Session, Summary};
use crate::store::KvStore;
use crate::token::{KeyRing, Token};

/// See the module documentation.
pub enum Sessions<S, C, R> {
    Eventual(SessionService<S, C, R>),
    Strong(OwnerClient<S, C, R>),
}

/// Calls `$method` on whichever mode runs.
macro_rules! either {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Sessions::Eventual(s) => s.$method($($arg),*).await,
            Sessions::Strong(s) => s.$method($($arg),*).await,
        }
    };
}

impl<S: KvStore, C: Clock, R: Random> Sessions<S, C, R> {
    /// The service over Workers KV: key ring, layout, clock, sliding claims.
    pub fn local(&self) -> &SessionService<S, C, R> {
        match self {
            Sessions::Eventual(s) => s,
            Sessions::Strong(s) => s.global(),
        }
    }

    pub fn is_strong(&self) -> bool {
        matches!(self, Sessions::Strong(_))
    }

    pub fn now_ms(&self) -> i64 {
        self.local().now_ms()
    }

    pub fn key_ring(&self) -> &KeyRing {
        self.local().key_ring()
    }

    pub fn layout(&self) -> &KeyLayout {
        self.local().layout()
    }

    /// See [`SessionService::claim_slide`] (a claim of this isolate, in both modes).
    pub fn claim_slide(&self, session: &Session) -> Option<Session> {
        self.local().claim_slide(session)
    }

    pub fn release_slide(&self, claimed: &Session) {
        self.local().release_slide(claimed)
    }

    pub async fn create(&self, new: NewSession) -> Result<(Token, Session), SessionError> {
        either!(self.create(new))
    }

    pub async fn verify(&self, token: &str) -> Result<Session, SessionError> {
        either!(self.verify(token))
    }

    pub async fn get(&self, id: &str) -> Result<Session, SessionError> {
        either!(self.get(id))
    }

    pub async fn update(&self, id: &str, patch: &Value) -> Result<Session, SessionError> {
        either!(self.update(id, patch))
    }

    pub async fn update_session(
        &self,
        session: &Session,
        patch: &Value,
        writer: Writer,
    ) -> Result<Session, SessionError> {
        either!(self.update_session(session, patch, writer))
    }

    pub async fn refresh(&self, session: &Session) -> Result<Session, SessionError> {
        either!(self.refresh(session))
    }

    pub async fn slide(&self, claimed: &Session) -> Result<Slide, SessionError> {
        either!(self.slide(claimed))
    }

    pub async fn destroy_session(&self, session: &Session) -> Result<(), SessionError> {
        either!(self.destroy_session(session))
    }

    pub async fn destroy(&self, id: &str) -> Result<bool, SessionError> {
        either!(self.destroy(id))
    }

    pub async fn destroy_owned(&self, user_id: &str, id: &str) -> Result<bool, SessionError> {
        either!(self.destroy_owned(user_id, id))
    }

    pub async fn list_user(
        &self,
        user_id: &str,
        current: Option<&str>,
    ) -> Result<Vec<Summary>, SessionError> {
        either!(self.list_user(user_id, current))
    }

    pub async fn destroy_user(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<usize, SessionError> {
        either!(self.destroy_user(user_id, except))
    }

    /// Every user's sessions, one page: KV's index in both modes (kept by
    /// the owners in `strong` mode, so it may lag by KV's window there).
    pub async fn list_all(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<Summary>, Option<String>), SessionError> {
        self.local().list_all(limit, cursor).await
    }

    /// The cron cleanup of KV's index: `None` in `strong` mode, where the
    /// owners keep the index themselves (and KV holds no session records to
    /// check entries against).
    pub async fn cleanup(&self, budget: usize) -> Option<Result<CleanupReport, SessionError>> {
        match self {
            Sessions::Eventual(s) => Some(s.cleanup(budget).await),
            Sessions::Strong(_) => None,
        }
    }
}
