//! The operations as typed calls, for tests: each method runs one [`Op`].
//!
//! ```ignore
//! let (token, session) = sessions.create(NewSession::for_user("alice")).await?;
//! ```

use serde_json::Value;

use crate::events::Context;
use crate::ops::{Op, Reply, Sessions};
use crate::service::{SessionError, Slide, Writer};
use crate::session::{NewSession, Session, Summary};
use crate::token::Token;

/// See the module documentation.
#[allow(async_fn_in_trait)]
pub trait Ops: Sessions {
    /// Runs `op` for a request of no one in particular (the default context).
    async fn run_now(&self, op: Op) -> Result<Reply, SessionError> {
        self.run(op, &Context::default()).await
    }
    async fn create(&self, new: NewSession) -> Result<(Token, Session), SessionError> {
        self.run_now(Op::Create { new })
            .await
            .and_then(Reply::created)
    }
    async fn verify(&self, token: &str) -> Result<Session, SessionError> {
        let token = token.to_owned();
        self.run_now(Op::Verify { token })
            .await
            .and_then(Reply::session)
    }
    async fn get(&self, id: &str) -> Result<Session, SessionError> {
        let id = id.to_owned();
        self.run_now(Op::Get { id }).await.and_then(Reply::session)
    }
    async fn update(&self, id: &str, patch: &Value) -> Result<Session, SessionError> {
        let (id, patch) = (id.to_owned(), patch.clone());
        self.run_now(Op::Update { id, patch })
            .await
            .and_then(Reply::session)
    }
    async fn update_session(
        &self,
        session: &Session,
        patch: &Value,
        writer: Writer,
    ) -> Result<Session, SessionError> {
        let (session, patch) = (session.clone(), patch.clone());
        let op = Op::UpdateSession {
            session,
            patch,
            writer,
        };
        self.run_now(op).await.and_then(Reply::session)
    }
    async fn refresh(&self, session: &Session) -> Result<Session, SessionError> {
        let session = session.clone();
        self.run_now(Op::Refresh { session })
            .await
            .and_then(Reply::session)
    }
    async fn slide(&self, session: &Session) -> Result<Slide, SessionError> {
        let session = session.clone();
        self.run_now(Op::Slide { session })
            .await
            .and_then(Reply::slide)
    }
    async fn destroy_session(&self, session: &Session) -> Result<(), SessionError> {
        let session = session.clone();
        self.run_now(Op::DestroySession { session }).await.map(drop)
    }
    async fn destroy(&self, id: &str) -> Result<bool, SessionError> {
        let id = id.to_owned();
        let op = Op::Destroy { id, user_id: None };
        self.run_now(op).await.and_then(Reply::done)
    }
    async fn destroy_owned(&self, user_id: &str, id: &str) -> Result<bool, SessionError> {
        let (id, user_id) = (id.to_owned(), Some(user_id.to_owned()));
        self.run_now(Op::Destroy { id, user_id })
            .await
            .and_then(Reply::done)
    }
    async fn list_user(
        &self,
        user_id: &str,
        current: Option<&str>,
    ) -> Result<Vec<Summary>, SessionError> {
        let (user_id, current) = (user_id.to_owned(), current.map(str::to_owned));
        self.run_now(Op::ListUser { user_id, current })
            .await
            .and_then(Reply::summaries)
    }
    async fn destroy_user(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<usize, SessionError> {
        let (user_id, except) = (user_id.to_owned(), except.map(str::to_owned));
        self.run_now(Op::DestroyUser { user_id, except })
            .await
            .and_then(Reply::count)
    }
    async fn list_all(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<Summary>, Option<String>), SessionError> {
        let cursor = cursor.map(str::to_owned);
        self.run_now(Op::ListAll { limit, cursor })
            .await
            .and_then(Reply::page)
    }
}

impl<T: Sessions> Ops for T {}
