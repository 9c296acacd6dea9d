//! Which owner runs an operation, decided from the operation alone: no
//! storage call, none at all for a forged token or a malformed id.
//!
//! ```ignore
//! match route(&Op::Verify { token }, &settings) {
//!     Route::Owner(tag) => { /* send it to the object named by tag */ }
//!     Route::Here => { /* spans every user: run it over KV */ }
//!     Route::Answer(answer) => { /* known without asking anyone */ }
//! }
//! ```

use super::owner::OwnerSettings;
use crate::ops::{Op, Reply};
use crate::service::SessionError;
use crate::session::validate_user_id;
use crate::token::{OwnerTag, SessionId};

/// See the module documentation.
// Built once per operation and matched at once: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Route {
    /// The owner of one user's sessions runs it.
    Owner(OwnerTag),
    /// It spans every user (the global listing): the Worker runs it over KV.
    Here,
    /// Its answer is known without any call.
    Answer(Result<Reply, SessionError>),
}

/// See the module documentation.
pub fn route(op: &Op, settings: &OwnerSettings) -> Route {
    let user = |user_id: &str| match validate_user_id(user_id) {
        Ok(()) => Route::Owner(settings.layout.owner(user_id)),
        Err(e) => Route::Answer(Err(e.into())),
    };
    let id = |id: &str, missing: Result<Reply, SessionError>| match SessionId::parse(id) {
        Some(id) => Route::Owner(id.owner()),
        None => Route::Answer(missing),
    };
    match op {
        Op::Create { new } => user(&new.user_id),
        Op::Verify { token } => match settings.key_ring.verify_token(token) {
            Ok(verified) => Route::Owner(verified.id.owner()),
            Err(_) => Route::Answer(Err(SessionError::InvalidToken)),
        },
        Op::Get { id: text } | Op::Update { id: text, .. } => id(text, Err(SessionError::NotFound)),
        Op::Destroy {
            id: text,
            user_id: None,
        } => id(text, Ok(Reply::Done(false))),
        Op::Destroy {
            user_id: Some(user_id),
            ..
        }
        | Op::ListUser { user_id, .. }
        | Op::DestroyUser { user_id, .. } => user(user_id),
        Op::UpdateSession { session, .. }
        | Op::Refresh { session }
        | Op::Slide { session }
        | Op::DestroySession { session } => Route::Owner(settings.layout.owner(&session.user_id)),
        Op::ListAll { .. } => Route::Here,
    }
}
