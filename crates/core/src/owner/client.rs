//! The Worker's side of `strong` mode: the session operations, each sent to
//! the owner of the session or user it names ([`OwnerTransport`]). What
//! needs no owner stays here: token tags (a forged token costs no call),
//! sliding claims, the global listing (KV's index, kept by the owners).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde_json::Value;

use crate::clock::Clock;
use crate::layout::record;
use crate::random::Random;
use crate::service::{patch, SessionError, SessionService, Slide, Writer};
use crate::session::{validate_user_id, NewSession, Session, Summary};
use crate::store::{KvStore, StoreError};
use crate::token::{OwnerTag, SessionId, Token};

use super::protocol::{bad_reply, OwnerCall, OwnerReply, WireSession};

/// A boxed future of the transport (wasm is single-threaded: not `Send`).
pub type TransportFuture<'a> = Pin<Box<dyn Future<Output = Result<String, StoreError>> + 'a>>;

/// Delivers one call (JSON text) to the owner named `owner` and returns its
/// reply (JSON text). An owner that cannot be reached or fails is
/// `StoreError::Unavailable`: callers fail closed.
pub trait OwnerTransport {
    fn call<'a>(&'a self, owner: &'a str, body: String) -> TransportFuture<'a>;
}

/// See the module documentation. `global` is the service over Workers KV:
/// its key ring, policy, layout, clock and ledger are this client's.
pub struct OwnerClient<G, C, R> {
    global: SessionService<G, C, R>,
    transport: Rc<dyn OwnerTransport>,
}

impl<G: KvStore, C: Clock, R: Random> OwnerClient<G, C, R> {
    pub fn new(global: SessionService<G, C, R>, transport: Rc<dyn OwnerTransport>) -> Self {
        Self { global, transport }
    }

    /// The service over KV (listing every session, sliding claims, tags).
    pub fn global(&self) -> &SessionService<G, C, R> {
        &self.global
    }

    async fn send(&self, owner: OwnerTag, call: &OwnerCall) -> Result<OwnerReply, SessionError> {
        let body = serde_json::to_string(call).map_err(|_| bad_reply("call"))?;
        let name = self.global.layout().owner_name(owner);
        let reply = self.transport.call(&name, body).await?;
        match serde_json::from_str(&reply).map_err(|_| bad_reply("reply"))? {
            OwnerReply::Failed { error } => Err(error.into()),
            reply => Ok(reply),
        }
    }

    fn user_owner(&self, user_id: &str) -> Result<OwnerTag, SessionError> {
        validate_user_id(user_id)?;
        Ok(self.global.layout().owner(user_id))
    }

    /// The owner of session `id`: named by the id, or, for an id issued
    /// before owner tags, found from its record in KV (1 read). `None`:
    /// no such session.
    async fn id_owner(&self, id: &SessionId) -> Result<Option<OwnerTag>, SessionError> {
        if let Some(owner) = id.owner() {
            return Ok(Some(owner));
        }
        let key = self.global.layout().session_key(id);
        let Some(entry) = self.global.store().get(&key).await? else {
            return Ok(None);
        };
        Ok(record::decode(&entry.value, id).map(|s| self.global.layout().owner(&s.user_id)))
    }

    async fn session_reply(
        &self,
        owner: OwnerTag,
        call: OwnerCall,
    ) -> Result<Session, SessionError> {
        match self.send(owner, &call).await? {
            OwnerReply::Session { session } => session.into_session(),
            _ => Err(bad_reply("session")),
        }
    }

    async fn done_reply(&self, owner: OwnerTag, call: OwnerCall) -> Result<bool, SessionError> {
        match self.send(owner, &call).await? {
            OwnerReply::Done { value } => Ok(value),
            _ => Err(bad_reply("answer")),
        }
    }

    /// See [`SessionService::create`]: one owner call.
    pub async fn create(&self, new: NewSession) -> Result<(Token, Session), SessionError> {
        let owner = self.user_owner(&new.user_id)?;
        let call = OwnerCall::Create { new: new.into() };
        match self.send(owner, &call).await? {
            OwnerReply::Created { token, session } => {
                Ok((Token::from_owner(token), session.into_session()?))
            }
            _ => Err(bad_reply("new session")),
        }
    }

    /// See [`SessionService::verify`]: no call for a malformed or forged
    /// token, else one owner call (plus 1 KV read for a legacy id).
    pub async fn verify(&self, token: &str) -> Result<Session, SessionError> {
        let presented = self
            .global
            .key_ring()
            .verify_token(token)
            .map_err(|_| SessionError::InvalidToken)?;
        let owner = self
            .id_owner(&presented.id)
            .await?
            .ok_or(SessionError::InvalidToken)?;
        let call = OwnerCall::Verify {
            token: token.to_owned(),
        };
        self.session_reply(owner, call).await
    }

    /// See [`SessionService::get`].
    pub async fn get(&self, id: &str) -> Result<Session, SessionError> {
        let sid = SessionId::parse(id).ok_or(SessionError::NotFound)?;
        let owner = self.id_owner(&sid).await?.ok_or(SessionError::NotFound)?;
        self.session_reply(owner, OwnerCall::Get { id: id.to_owned() })
            .await
    }

    /// See [`SessionService::update`].
    pub async fn update(&self, id: &str, patch: &Value) -> Result<Session, SessionError> {
        let sid = SessionId::parse(id).ok_or(SessionError::NotFound)?;
        let owner = self.id_owner(&sid).await?.ok_or(SessionError::NotFound)?;
        let call = OwnerCall::Update {
            id: id.to_owned(),
            patch: patch.clone(),
        };
        self.session_reply(owner, call).await
    }

    /// See [`SessionService::update_session`]: a bad patch is refused here,
    /// with no call.
    pub async fn update_session(
        &self,
        session: &Session,
        patch: &Value,
        writer: Writer,
    ) -> Result<Session, SessionError> {
        patch::apply_patch(session, patch, writer)?;
        let call = OwnerCall::UpdateSession {
            session: WireSession::from_session(session),
            patch: patch.clone(),
            admin: writer == Writer::Admin,
        };
        self.session_reply(self.global.layout().owner(&session.user_id), call)
            .await
    }

    /// See [`SessionService::refresh`].
    pub async fn refresh(&self, session: &Session) -> Result<Session, SessionError> {
        if !session.is_live(self.global.now_ms()) {
            return Err(SessionError::Expired);
        }
        let call = OwnerCall::Refresh {
            session: WireSession::from_session(session),
        };
        self.session_reply(self.global.layout().owner(&session.user_id), call)
            .await
    }

    /// See [`SessionService::slide`]: the owner extends the session as it
    /// stands; this isolate's claim is held or given back as there.
    pub async fn slide(&self, claimed: &Session) -> Result<Slide, SessionError> {
        let call = OwnerCall::Slide {
            session: WireSession::from_session(claimed),
        };
        let owner = self.global.layout().owner(&claimed.user_id);
        let result = match self.send(owner, &call).await {
            Ok(OwnerReply::Slide { written: Some(s) }) => {
                s.into_session().map(|s| Slide::Written(Box::new(s)))
            }
            Ok(OwnerReply::Slide { written: None }) => Ok(Slide::Skipped),
            Ok(_) => Err(bad_reply("sliding write")),
            Err(e) => Err(e),
        };
        self.global.settle_slide(claimed, &result);
        result
    }

    /// See [`SessionService::destroy_session`].
    pub async fn destroy_session(&self, session: &Session) -> Result<(), SessionError> {
        let call = OwnerCall::DestroySession {
            session: WireSession::from_session(session),
        };
        self.done_reply(self.global.layout().owner(&session.user_id), call)
            .await
            .map(|_| ())
    }

    /// See [`SessionService::destroy`].
    pub async fn destroy(&self, id: &str) -> Result<bool, SessionError> {
        let Some(sid) = SessionId::parse(id) else {
            return Ok(false);
        };
        let Some(owner) = self.id_owner(&sid).await? else {
            return Ok(false);
        };
        let call = OwnerCall::Destroy {
            id: id.to_owned(),
            user_id: None,
        };
        self.done_reply(owner, call).await
    }

    /// See [`SessionService::destroy_owned`].
    pub async fn destroy_owned(&self, user_id: &str, id: &str) -> Result<bool, SessionError> {
        let call = OwnerCall::Destroy {
            id: id.to_owned(),
            user_id: Some(user_id.to_owned()),
        };
        self.done_reply(self.user_owner(user_id)?, call).await
    }

    /// See [`SessionService::list_user`]: one owner call, exact.
    pub async fn list_user(
        &self,
        user_id: &str,
        current: Option<&str>,
    ) -> Result<Vec<Summary>, SessionError> {
        let call = OwnerCall::ListUser {
            user_id: user_id.to_owned(),
            current: current.map(str::to_owned),
        };
        match self.send(self.user_owner(user_id)?, &call).await? {
            OwnerReply::Summaries { sessions } => Ok(sessions),
            _ => Err(bad_reply("listing")),
        }
    }

    /// See [`SessionService::destroy_user`]: one owner call, whatever the
    /// number of sessions (the owner carries KV's share on, see
    /// [`super::OwnerStore::drain`]).
    pub async fn destroy_user(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<usize, SessionError> {
        let call = OwnerCall::DestroyUser {
            user_id: user_id.to_owned(),
            except: except.map(str::to_owned),
        };
        match self.send(self.user_owner(user_id)?, &call).await? {
            OwnerReply::Count { n } => Ok(n),
            _ => Err(bad_reply("count")),
        }
    }
}
