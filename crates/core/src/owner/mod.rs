//! `strong` mode (`SESSION_CONSISTENCY=strong`): each user's sessions are
//! owned by one Durable Object, which runs every operation on them one at a
//! time with the same [`crate::SessionService`] as `eventual` mode, over
//! its own storage.
//!
//! - [`OwnerClient`] (in the Worker) sends each operation to the owner the
//!   session id or userId names ([`crate::token::OwnerTag`]): no KV read to
//!   find it, none at all for a forged token.
//! - [`serve`] (in the object) runs it, over an [`OwnerStore`]: the object's
//!   storage, with KV's index entries kept up to date through an outbox and
//!   sessions created in `eventual` mode moved in on first use.
//! - [`protocol`]: what the two say to each other.

pub mod client;
mod drain_gate;
pub mod memory;
pub mod protocol;
mod serve;
mod store;

pub use client::{OwnerClient, OwnerTransport, TransportFuture};
pub use drain_gate::DrainGate;
pub use memory::{MemoryOwner, MemoryOwners};
pub use protocol::{OwnerCall, OwnerReply};
pub use serve::serve;
pub use store::{Drain, OwnerStore, Tidy};
