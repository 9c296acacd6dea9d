//! The session operations, described once: [`Op`] names each one with its
//! input, [`Reply`] is its answer, and [`Sessions`] runs them. The same enum
//! is what the Worker sends a user's owner in `strong` mode.
//!
//! ```ignore
//! let session = sessions.run(Op::Verify { token: token.into() }, &ctx).await?.session()?;
//! let n = sessions.run(Op::DestroyUser { user_id, except: None }, &ctx).await?.count()?;
//! ```
//!
//! Two implementations: [`crate::SessionService`] runs an operation here
//! (`eventual` mode, and inside the owner), [`crate::owner::OwnerClient`]
//! sends it to the owner it names (`strong` mode). Adding an operation is a
//! variant here and a method of the service; the compiler points at the
//! two `match`es that need an arm: the dispatch
//! ([`crate::SessionService::run`]) and whose sessions it is about
//! ([`Op::subject`]).
//!
//! On the wire (JSON) a session travels as its stored record, so the owner
//! gets exactly what the service would have read.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::events::Context;
use crate::layout::record;
use crate::service::{patch, SessionError, Slide, Writer};
use crate::session::{NewSession, Session, Summary};
use crate::store::StoreError;
use crate::token::{SessionId, Token};

/// One session operation and its input. See the module documentation.
// Externally tagged (`{"verify": {...}}`): internally tagged enums make
// serde buffer every message, which costs wasm size for nothing here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Op {
    /// A new session: [`Reply::Created`].
    Create { new: NewSession },
    /// The live session a token names: [`Reply::Session`].
    Verify { token: String },
    /// The live session `id`: [`Reply::Session`].
    Get { id: String },
    /// An admin's merge patch of session `id`: [`Reply::Session`].
    Update { id: String, patch: Value },
    /// A merge patch of a session already read: [`Reply::Session`].
    UpdateSession {
        #[serde(with = "wire_session")]
        session: Session,
        patch: Value,
        writer: Writer,
    },
    /// `expiresAt` moved to now + idle TTL: [`Reply::Session`].
    Refresh {
        #[serde(with = "wire_session")]
        session: Session,
    },
    /// The sliding write claimed for a session: [`Reply::Slide`].
    Slide {
        #[serde(with = "wire_session")]
        session: Session,
    },
    /// Logout of a session already read: [`Reply::Done`].
    DestroySession {
        #[serde(with = "wire_session")]
        session: Session,
    },
    /// Session `id`, of `user_id` when given (self-service), any user's
    /// otherwise (admin): [`Reply::Done`] (whether it was live).
    #[serde(rename_all = "camelCase")]
    Destroy { id: String, user_id: Option<String> },
    /// A user's live sessions, `current` marked: [`Reply::Summaries`].
    #[serde(rename_all = "camelCase")]
    ListUser {
        user_id: String,
        current: Option<String>,
    },
    /// Every session of a user but `except`: [`Reply::Count`] (live ones).
    #[serde(rename_all = "camelCase")]
    DestroyUser {
        user_id: String,
        except: Option<String>,
    },
    /// One page of every user's sessions: [`Reply::Page`].
    ListAll {
        limit: usize,
        cursor: Option<String>,
    },
}

/// The answer to an [`Op`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reply {
    Session(#[serde(with = "wire_session")] Session),
    Created {
        #[serde(with = "wire_token")]
        token: Token,
        #[serde(with = "wire_session")]
        session: Session,
    },
    Summaries(Vec<Summary>),
    Page {
        summaries: Vec<Summary>,
        cursor: Option<String>,
    },
    Count(usize),
    Done(bool),
    Slide(#[serde(with = "wire_slide")] Slide),
}

/// Runs [`Op`]s, each for a request described by its [`Context`] (who
/// makes it, from where: what its events say). See the module
/// documentation.
#[allow(async_fn_in_trait)]
pub trait Sessions {
    async fn run(&self, op: Op, ctx: &Context) -> Result<Reply, SessionError>;
}

impl<T: Sessions + ?Sized> Sessions for std::rc::Rc<T> {
    async fn run(&self, op: Op, ctx: &Context) -> Result<Reply, SessionError> {
        (**self).run(op, ctx).await
    }
}

/// Whose sessions an operation reads or changes: what decides, in `strong`
/// mode, which owner runs it (see [`crate::owner::route`]).
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// One user's sessions.
    User(&'a str),
    /// The session a token names.
    Token(&'a str),
    /// The session an id names.
    Id(&'a str),
    /// Every user's sessions.
    Everyone,
}

impl Op {
    /// See [`Subject`].
    pub fn subject(&self) -> Subject<'_> {
        match self {
            Op::Create { new } => Subject::User(&new.user_id),
            Op::Verify { token } => Subject::Token(token),
            Op::Get { id } | Op::Update { id, .. } | Op::Destroy { id, user_id: None } => {
                Subject::Id(id)
            }
            Op::UpdateSession { session, .. }
            | Op::Refresh { session }
            | Op::Slide { session }
            | Op::DestroySession { session } => Subject::User(&session.user_id),
            Op::Destroy {
                user_id: Some(user_id),
                ..
            }
            | Op::ListUser { user_id, .. }
            | Op::DestroyUser { user_id, .. } => Subject::User(user_id),
            Op::ListAll { .. } => Subject::Everyone,
        }
    }

    /// What refuses the operation without any storage call: a bad patch
    /// (field `body`, or `meta` written by a holder) and a refresh of an
    /// expired session. [`crate::SessionService`] checks the same before it
    /// touches its repository; the owner's client checks it before sending.
    pub fn precheck(&self, now_ms: i64) -> Result<(), SessionError> {
        match self {
            Op::UpdateSession {
                session,
                patch,
                writer,
            } => patch::apply(session, patch, *writer).map(drop),
            Op::Refresh { session } if !session.is_live(now_ms) => Err(SessionError::Expired),
            _ => Ok(()),
        }
    }
}

impl Reply {
    pub fn session(self) -> Result<Session, SessionError> {
        match self {
            Reply::Session(session) => Ok(session),
            _ => Err(bad_reply("session")),
        }
    }

    pub fn created(self) -> Result<(Token, Session), SessionError> {
        match self {
            Reply::Created { token, session } => Ok((token, session)),
            _ => Err(bad_reply("new session")),
        }
    }

    pub fn summaries(self) -> Result<Vec<Summary>, SessionError> {
        match self {
            Reply::Summaries(summaries) => Ok(summaries),
            _ => Err(bad_reply("listing")),
        }
    }

    pub fn page(self) -> Result<(Vec<Summary>, Option<String>), SessionError> {
        match self {
            Reply::Page { summaries, cursor } => Ok((summaries, cursor)),
            _ => Err(bad_reply("page")),
        }
    }

    pub fn count(self) -> Result<usize, SessionError> {
        match self {
            Reply::Count(n) => Ok(n),
            _ => Err(bad_reply("count")),
        }
    }

    pub fn done(self) -> Result<bool, SessionError> {
        match self {
            Reply::Done(done) => Ok(done),
            _ => Err(bad_reply("answer")),
        }
    }

    pub fn slide(self) -> Result<Slide, SessionError> {
        match self {
            Reply::Slide(slide) => Ok(slide),
            _ => Err(bad_reply("sliding write")),
        }
    }
}

/// An answer that does not fit the operation: a bug or a version skew
/// between the Worker and its owners; fail closed (503).
pub(crate) fn bad_reply(what: &str) -> SessionError {
    SessionError::Store(StoreError::Unavailable(format!(
        "the owner's reply is not a valid {what}"
    )))
}

/// A [`Session`] on the wire: `[id, record]`, the record as stored.
pub(crate) mod wire_session {
    use super::*;

    pub fn serialize<S: Serializer>(session: &Session, s: S) -> Result<S::Ok, S::Error> {
        (session.id.as_str(), record::encode(session)).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Session, D::Error> {
        let (id, text) = <(String, String)>::deserialize(d)?;
        SessionId::parse(&id)
            .and_then(|id| record::decode(&text, &id))
            .ok_or_else(|| serde::de::Error::custom("not a session record"))
    }
}

mod wire_token {
    use super::*;

    pub fn serialize<S: Serializer>(token: &Token, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(token.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Token, D::Error> {
        String::deserialize(d).map(Token::from_owner)
    }
}

mod wire_slide {
    use super::*;

    pub fn serialize<S: Serializer>(slide: &Slide, s: S) -> Result<S::Ok, S::Error> {
        match slide {
            Slide::Written(session) => Some((session.id.as_str(), record::encode(session))),
            Slide::Skipped => None,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Slide, D::Error> {
        match <Option<(String, String)>>::deserialize(d)? {
            None => Ok(Slide::Skipped),
            Some((id, text)) => SessionId::parse(&id)
                .and_then(|id| record::decode(&text, &id))
                .map(|s| Slide::Written(Box::new(s)))
                .ok_or_else(|| serde::de::Error::custom("not a session record")),
        }
    }
}
