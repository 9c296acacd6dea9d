//! Which owner runs an operation, decided from the operation alone: no
//! storage call.
//!
//! ```ignore
//! match route(&Op::Verify { token }, &settings) {
//!     Route::Owner(tag) => { /* send it to the object named by tag */ }
//!     Route::Here => { /* run it here: it spans every user, or names no one */ }
//! }
//! ```
//!
//! An operation that names no owner (a forged token, a malformed id or
//! userId) runs here too: the service refuses it before any storage call,
//! so it costs no call to anyone.

use super::owner::OwnerSettings;
use crate::ops::{Op, Subject};
use crate::session::validate_user_id;
use crate::token::{OwnerTag, SessionId};

/// See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The owner of one user's sessions runs it.
    Owner(OwnerTag),
    /// The Worker runs it over KV: the global listing, or an operation that
    /// is refused with no storage call.
    Here,
}

/// See the module documentation.
pub fn route(op: &Op, settings: &OwnerSettings) -> Route {
    let owner = match op.subject() {
        Subject::User(user_id) => validate_user_id(user_id)
            .ok()
            .map(|()| settings.layout.owner(user_id)),
        Subject::Token(token) => settings
            .key_ring
            .verify_token(token)
            .ok()
            .map(|v| v.id.owner()),
        Subject::Id(id) => SessionId::parse(id).map(|id| id.owner()),
        Subject::Everyone => None,
    };
    owner.map_or(Route::Here, Route::Owner)
}
