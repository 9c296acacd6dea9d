//! What the Worker and an owner say to each other: one JSON call per
//! request body, one JSON reply. Internal (the Durable Object is reachable
//! only through its binding); sessions travel as their stored record.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::layout::record;
use crate::service::{SessionError, Slide};
use crate::session::{ClientInfo, NewSession, Session, Summary, ValidationError};
use crate::store::StoreError;
use crate::token::SessionId;

/// A session on the wire: its id and its stored record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireSession {
    id: String,
    record: String,
}

impl WireSession {
    pub fn from_session(session: &Session) -> Self {
        Self {
            id: session.id.to_string(),
            record: record::encode(session),
        }
    }

    pub fn into_session(self) -> Result<Session, SessionError> {
        SessionId::parse(&self.id)
            .and_then(|id| record::decode(&self.record, &id))
            .ok_or_else(|| bad_reply("session"))
    }
}

/// A new session's input on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireNew {
    user_id: String,
    label: Option<String>,
    meta: Option<Value>,
    idle_ttl: Option<u64>,
    absolute_ttl: Option<u64>,
    client: ClientInfo,
}

impl From<NewSession> for WireNew {
    fn from(n: NewSession) -> Self {
        Self {
            user_id: n.user_id,
            label: n.label,
            meta: n.meta,
            idle_ttl: n.idle_ttl,
            absolute_ttl: n.absolute_ttl,
            client: n.client,
        }
    }
}

impl From<WireNew> for NewSession {
    fn from(w: WireNew) -> Self {
        NewSession {
            user_id: w.user_id,
            label: w.label,
            meta: w.meta,
            idle_ttl: w.idle_ttl,
            absolute_ttl: w.absolute_ttl,
            client: w.client,
        }
    }
}

// Enums are externally tagged (`{"verify": {...}}`): internally tagged ones
// make serde buffer every message, which costs wasm size for nothing here.

/// One operation, run by the owner of the session or user it names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OwnerCall {
    Create {
        new: WireNew,
    },
    Verify {
        token: String,
    },
    Get {
        id: String,
    },
    Update {
        id: String,
        patch: Value,
    },
    #[serde(rename_all = "camelCase")]
    UpdateSession {
        session: WireSession,
        patch: Value,
        admin: bool,
    },
    Refresh {
        session: WireSession,
    },
    Slide {
        session: WireSession,
    },
    DestroySession {
        session: WireSession,
    },
    /// `destroy` (`user_id` absent) or `destroy_owned`.
    #[serde(rename_all = "camelCase")]
    Destroy {
        id: String,
        user_id: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    ListUser {
        user_id: String,
        current: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    DestroyUser {
        user_id: String,
        except: Option<String>,
    },
}

/// The answer to an [`OwnerCall`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OwnerReply {
    Session { session: WireSession },
    Created { token: String, session: WireSession },
    Summaries { sessions: Vec<Summary> },
    Count { n: usize },
    Done { value: bool },
    Slide { written: Option<WireSession> },
    Failed { error: WireError },
}

impl OwnerReply {
    pub fn session(session: &Session) -> Self {
        OwnerReply::Session {
            session: WireSession::from_session(session),
        }
    }

    pub fn slide(slide: &Slide) -> Self {
        OwnerReply::Slide {
            written: match slide {
                Slide::Written(s) => Some(WireSession::from_session(s)),
                Slide::Skipped => None,
            },
        }
    }

    pub fn failed(error: &SessionError) -> Self {
        OwnerReply::Failed {
            error: WireError::from(error),
        }
    }

    /// Whether the owner's storage (or KV) failed the call: it may have
    /// stopped half way, for the alarm to tidy ([`super::OwnerStore::tidy`]).
    pub fn store_failed(&self) -> bool {
        matches!(
            self,
            OwnerReply::Failed {
                error: WireError::Rejected { .. } | WireError::Unavailable { .. }
            }
        )
    }
}

/// A [`SessionError`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireError {
    InvalidToken,
    Expired,
    NotFound,
    Invalid { field: String, reason: String },
    Forbidden { field: String },
    Rejected { why: String },
    Unavailable { why: String },
    Random,
}

impl From<&SessionError> for WireError {
    fn from(e: &SessionError) -> Self {
        match e {
            SessionError::InvalidToken => WireError::InvalidToken,
            SessionError::Expired => WireError::Expired,
            SessionError::NotFound => WireError::NotFound,
            SessionError::Invalid(v) => WireError::Invalid {
                field: v.field.to_string(),
                reason: v.reason.clone(),
            },
            SessionError::Forbidden { field } => WireError::Forbidden {
                field: (*field).to_owned(),
            },
            SessionError::Store(StoreError::Rejected(why)) => {
                WireError::Rejected { why: why.clone() }
            }
            SessionError::Store(StoreError::Unavailable(why)) => {
                WireError::Unavailable { why: why.clone() }
            }
            SessionError::Random => WireError::Random,
        }
    }
}

impl From<WireError> for SessionError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::InvalidToken => SessionError::InvalidToken,
            WireError::Expired => SessionError::Expired,
            WireError::NotFound => SessionError::NotFound,
            WireError::Invalid { field, reason } => {
                SessionError::Invalid(ValidationError::new(Cow::Owned(field), reason))
            }
            // `meta` is the only field a caller may be refused to write.
            WireError::Forbidden { .. } => SessionError::Forbidden { field: "meta" },
            WireError::Rejected { why } => SessionError::Store(StoreError::Rejected(why)),
            WireError::Unavailable { why } => SessionError::Store(StoreError::Unavailable(why)),
            WireError::Random => SessionError::Random,
        }
    }
}

/// An owner's answer that does not fit the call: a bug or a version skew
/// between the Worker and its objects; fail closed.
pub(crate) fn bad_reply(what: &str) -> SessionError {
    SessionError::Store(StoreError::Unavailable(format!(
        "the owner's reply is not a valid {what}"
    )))
}
