//! The pure core of edge-session.
//!
//! Nothing here knows about the `worker` crate or JavaScript: time comes in
//! through [`clock::Clock`], randomness through [`random::Random`] and storage
//! through [`store::KvStore`]. The Worker crate at the repository root plugs
//! the real ones in; tests plug in [`clock::ManualClock`],
//! [`random::SeededRandom`] and [`store::MemoryKv`].
//!
//! - [`token`]: token format, HMAC key ring (`TOKEN_KEYS`), secret hashing;
//! - [`keys`]: the KV key layout (`KEY_PREFIX`), the only place key names are built;
//! - [`session`]: the record, its validation, stored forms and contract JSON;
//! - [`service`]: the operations ([`SessionService`]);
//! - [`ledger`]: what one isolate remembers between requests (sliding claims, revocations).

pub mod clock;
pub mod keys;
pub mod ledger;
pub mod random;
pub mod service;
pub mod session;
pub mod store;
pub mod text;
pub mod token;

pub use clock::{Clock, ManualClock};
pub use keys::KeyLayout;
pub use ledger::Ledger;
pub use random::{OsRandom, Random, RandomError, SeededRandom};
pub use service::{CleanupReport, NewSession, Policy, SessionError, SessionService, Slide, Writer};
pub use session::{ClientInfo, Session, Summary, ValidationError};
pub use store::{KvStore, MemoryKv, StoreError};
pub use token::{KeyRing, KeyRingError, SessionId, Token, TokenError};
