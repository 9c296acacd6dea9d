//! What the Worker and an owner say to each other: an [`Op`] and its
//! request's [`Context`] per request body, its result per response body,
//! both JSON. Internal: the Durable Object is reachable only through its
//! binding.
//!
//! ```ignore
//! let body = encode_call(&op, &ctx)?;         // Worker → owner
//! let (op, ctx) = decode_call(&body)?;        // in the owner
//! let text = encode_reply(&owner.handle(op, &ctx).await.reply);
//! let reply = decode_reply(&text)?;           // back in the Worker
//! ```

use crate::events::Context;
use crate::ops::{bad_reply, Op, Reply};
use crate::service::SessionError;
use crate::store::StoreError;

pub fn encode_call(op: &Op, ctx: &Context) -> Result<String, SessionError> {
    serde_json::to_string(&(op, ctx))
        .map_err(|_| SessionError::Store(StoreError::Rejected("unsendable operation".into())))
}

/// An operation the owner cannot read is refused as a store error.
pub fn decode_call(body: &str) -> Result<(Op, Context), SessionError> {
    serde_json::from_str(body)
        .map_err(|_| SessionError::Store(StoreError::Rejected("not an owner operation".into())))
}

pub fn encode_reply(reply: &Result<Reply, SessionError>) -> String {
    serde_json::to_string(reply).unwrap_or_default()
}

/// A reply that does not read fails closed (503).
pub fn decode_reply(text: &str) -> Result<Reply, SessionError> {
    serde_json::from_str::<Result<Reply, SessionError>>(text)
        .unwrap_or_else(|_| Err(bad_reply("reply")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ValidationError;

    #[test]
    fn every_error_crosses_the_wire_as_it_was() {
        for error in [
            SessionError::InvalidToken,
            SessionError::Expired,
            SessionError::NotFound,
            SessionError::Invalid(ValidationError::new("label", "is too long")),
            SessionError::Forbidden { field: "meta" },
            SessionError::Store(StoreError::Rejected("no".into())),
            SessionError::Store(StoreError::Unavailable("down".into())),
            SessionError::Random,
            SessionError::RateLimited(42),
        ] {
            let text = encode_reply(&Err(error.clone()));
            assert_eq!(decode_reply(&text).unwrap_err(), error, "{text}");
        }
        assert_eq!(decode_reply("{").unwrap_err(), bad_reply("reply"));
        assert_eq!(
            decode_reply(r#"{"Ok":{"count":"x"}}"#).unwrap_err(),
            bad_reply("reply")
        );
    }
}
