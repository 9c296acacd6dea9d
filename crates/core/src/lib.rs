//! The pure core of edge-session.
//!
//! Nothing here knows about the `worker` crate or JavaScript: time comes in
//! through [`clock::Clock`], randomness through [`random::Random`], and
//! storage through [`repo::Repo`], the seam at the level of whole sessions.
//! The Worker crate at the repository root plugs the real ones in; tests
//! plug in the doubles of `testing` (behind the `testing` feature).
//!
//! - [`token`]: token format, HMAC key ring (`TOKEN_KEYS`), secret hashing;
//! - [`session`]: the session, its lifetime, the bounds of its fields, its
//!   contract JSON, the input of a new one;
//! - [`policy`]: TTL bounds and defaults, the cap per user;
//! - [`ops`]: the operations, described once ([`Op`], [`Reply`], [`Sessions`]);
//! - [`events`]: what each change of a session tells operators;
//! - [`service`]: every rule of a session ([`SessionService`]) over a [`Repo`];
//! - [`repo`]: the storage seam;
//! - [`kv`]: `eventual` mode's repository over Workers KV ([`store`]: the
//!   KV port; [`layout`]: its key names and formats; [`ledger`]: what one
//!   isolate remembers between requests), and its cron cleanup;
//! - [`owner`]: `strong` mode, each user's sessions run by one owner over
//!   its SQLite tables;
//! - [`text`]: small text helpers shared by every layer.

pub mod clock;
pub mod events;
pub mod kv;
pub mod layout;
pub mod ledger;
pub mod ops;
pub mod owner;
pub mod policy;
pub mod random;
pub mod repo;
pub mod service;
pub mod session;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod text;
pub mod token;

pub use clock::Clock;
pub use events::{Actor, Context, Event, EventLog};
pub use kv::{CleanupReport, KvRepo};
pub use layout::KeyLayout;
pub use ledger::Ledger;
pub use ops::{Op, Reply, Sessions};
pub use policy::Policy;
pub use random::{OsRandom, Random, RandomError};
pub use repo::Repo;
pub use service::{SessionError, SessionService, Slide, SlideClaims, Writer};
pub use session::{ClientInfo, Lifetime, NewSession, Session, Summary, ValidationError};
pub use store::{KvStore, StoreError};
pub use token::{KeyRing, KeyRingError, OwnerTag, SessionId, Token, TokenError};
