//! The pure core of edge-session.
//!
//! Nothing here knows about the `worker` crate or JavaScript: time comes in
//! through [`clock::Clock`], randomness through [`random::Random`] and storage
//! through [`store::KvStore`]. The Worker crate at the repository root plugs
//! the real ones in; tests plug in [`clock::ManualClock`],
//! [`random::SeededRandom`] and [`store::MemoryKv`].
//!
//! - [`token`]: token format, HMAC key ring (`TOKEN_KEYS`), secret hashing;
//! - [`session`]: the session, its lifetime, the bounds of its fields, its
//!   contract JSON, the input of a new one;
//! - [`policy`]: TTL bounds and defaults;
//! - [`layout`]: what KV holds: key names (`KEY_PREFIX`), the record and
//!   index formats, KV expirations;
//! - [`service`]: the operations ([`SessionService`]);
//! - [`ledger`]: what one isolate remembers between requests (sliding claims, revocations);
//! - [`owner`]: `strong` mode, each user's sessions run by one owner;
//! - [`sessions`]: the operations in either mode ([`Sessions`]);
//! - [`text`]: small text helpers shared by every layer.

pub mod clock;
pub mod layout;
pub mod ledger;
pub mod owner;
pub mod policy;
pub mod random;
pub mod service;
pub mod session;
pub mod sessions;
pub mod store;
pub mod text;
pub mod token;

pub use clock::{Clock, ManualClock};
pub use layout::KeyLayout;
pub use ledger::Ledger;
pub use policy::Policy;
pub use random::{OsRandom, Random, RandomError, SeededRandom};
pub use service::{CleanupReport, SessionError, SessionService, Slide, Writer};
pub use session::{ClientInfo, Lifetime, NewSession, Session, Summary, ValidationError};
pub use sessions::Sessions;
pub use store::{KvStore, MemoryKv, StoreError};
pub use token::{KeyRing, KeyRingError, OwnerTag, SessionId, Token, TokenError};
