//! `strong` mode (`SESSION_CONSISTENCY=strong`): each user's sessions are
//! owned by one Durable Object, which runs every operation on them one at a
//! time, each in one transaction of its own SQLite tables.
//!
//! ```ignore
//! // In the Worker: the operations, each sent to the owner it names.
//! let sessions = OwnerClient::new(settings, kv_service, clock, transport);
//! // In the Durable Object: the owner, fed each request and alarm.
//! let owner = Owner::new(sql, kv, clock, random, settings, tag);
//! let handled = owner.handle(wire::decode_op(&body)?).await;
//! ```
//!
//! - [`route`]: which owner an operation is for, from the operation alone
//!   (a session id carries its user's [`crate::token::OwnerTag`]): no KV
//!   read to find it, no call at all for a forged token.
//! - [`Owner`] ([`owner`]): the operation over [`Tables`], KV's index kept
//!   in step through an outbox, the alarm; [`import`]: the sessions of
//!   `eventual` mode moved in once per user; [`creations`]: the exact
//!   count of a user's new sessions (`RL_CREATE`).
//! - [`OwnerClient`] ([`client`]): the Worker's side; [`wire`]: what the
//!   two say to each other; [`sql`]: the storage the owner needs.

pub mod client;
pub mod creations;
pub mod import;
#[allow(clippy::module_inception)]
mod owner;
pub mod route;
pub mod sql;
pub mod tables;
pub mod wire;

pub use client::{OwnerClient, OwnerTransport, TransportFuture};
pub use creations::CreateLimit;
pub use import::IMPORT_PAGE;
pub use owner::{Handled, Owner, OwnerSettings, DRAIN_BUDGET, RETRY_MS};
pub use route::{route, Route};
pub use sql::{Row, Sql, SqlValue};
pub use tables::Tables;
