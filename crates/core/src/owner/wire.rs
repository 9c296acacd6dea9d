//! What the Worker and an owner say to each other: an [`Op`] per request
//! body, its result per response body, both JSON. Internal: the Durable
//! Object is reachable only through its binding.
//!
//! ```ignore
//! let body = encode_op(&op)?;                 // Worker → owner
//! let op = decode_op(&body)?;                 // in the owner
//! let text = encode_reply(&owner.handle(op).await.reply);
//! let reply = decode_reply(&text)?;           // back in the Worker
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::ops::{Op, Reply};
use crate::service::SessionError;
use crate::session::ValidationError;
use crate::store::StoreError;

pub fn encode_op(op: &Op) -> Result<String, SessionError> {
    serde_json::to_string(op)
        .map_err(|_| SessionError::Store(StoreError::Rejected("unsendable operation".into())))
}

/// An operation the owner cannot read is refused as a store error.
pub fn decode_op(body: &str) -> Result<Op, SessionError> {
    serde_json::from_str(body)
        .map_err(|_| SessionError::Store(StoreError::Rejected("not an owner operation".into())))
}

pub fn encode_reply(reply: &Result<Reply, SessionError>) -> String {
    let wire: Result<&Reply, WireError> = reply.as_ref().map_err(WireError::from);
    serde_json::to_string(&wire).unwrap_or_default()
}

pub fn decode_reply(text: &str) -> Result<Reply, SessionError> {
    match serde_json::from_str::<Result<Reply, WireError>>(text) {
        Ok(reply) => reply.map_err(SessionError::from),
        Err(_) => Err(crate::ops::bad_reply("reply")),
    }
}

/// A [`SessionError`] on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum WireError {
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
