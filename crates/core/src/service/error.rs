//! The one error of the session service.

use serde::{Deserialize, Serialize};

use crate::random::RandomError;
use crate::session::ValidationError;
use crate::store::StoreError;

/// Why an operation failed. Never carries token material. Its serde form
/// is what an owner answers the Worker with (see [`crate::owner::wire`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionError {
    /// Malformed or forged token, unknown key id, session gone or revoked,
    /// or secret mismatch (401 `invalid_token`).
    InvalidToken,
    /// Past `expiresAt` or `absoluteExpiresAt` (401 `session_expired`).
    Expired,
    /// No live session with that id (404).
    NotFound,
    /// An input broke a rule; it names the contract's field (400).
    Invalid(ValidationError),
    /// The caller may not write `field` (403 `forbidden`): a session's holder
    /// never writes its `meta`.
    Forbidden {
        // `meta` is the only field a caller may be refused to write.
        #[serde(skip, default = "meta")]
        field: &'static str,
    },
    /// The store failed or refused the call (503 `store_unavailable`).
    /// An unreadable stored record also lands here (as `Rejected`).
    Store(StoreError),
    /// The CSPRNG failed.
    Random,
    /// Too many sessions created for this user lately (429 `rate_limited`),
    /// with the seconds until one fits again: `strong` mode's exact count
    /// ([`crate::owner::creations`]).
    RateLimited(u64),
}

fn meta() -> &'static str {
    "meta"
}

/// Why a stored record that does not parse is refused.
const UNREADABLE: &str = "unreadable session record";

impl SessionError {
    /// A stored record that does not parse: the store's fault, not the caller's.
    pub(crate) fn unreadable() -> SessionError {
        SessionError::Store(StoreError::Rejected(UNREADABLE.into()))
    }

    /// Whether this is [`SessionError::unreadable`].
    pub fn is_unreadable(&self) -> bool {
        matches!(self, SessionError::Store(StoreError::Rejected(why)) if why == UNREADABLE)
    }
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::InvalidToken => f.write_str("invalid token"),
            SessionError::Expired => f.write_str("session expired"),
            SessionError::NotFound => f.write_str("session not found"),
            SessionError::Invalid(e) => e.fmt(f),
            SessionError::Forbidden { field } => write!(f, "{field}: may not be written here"),
            SessionError::Store(e) => e.fmt(f),
            SessionError::Random => f.write_str("random source unavailable"),
            SessionError::RateLimited(secs) => write!(
                f,
                "too many sessions created for this user: try again in {secs} s"
            ),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        SessionError::Store(e)
    }
}

impl From<ValidationError> for SessionError {
    fn from(e: ValidationError) -> Self {
        SessionError::Invalid(e)
    }
}

impl From<RandomError> for SessionError {
    fn from(_: RandomError) -> Self {
        SessionError::Random
    }
}
