//! Test doubles, compiled only with the `testing` feature (and in this
//! crate's own tests), never into the Worker:
//!
//! ```ignore
//! let clock = ManualClock::new(T0);
//! let kv = MemoryKv::new(clock.clone());          // Workers KV, its limits enforced
//! let faults = Faults::new();                     // fail one chosen storage call
//! kv.set_faults(Some((&faults, "kv")));
//! let owners = MemoryOwners::new(kv.clone(), clock, random, settings);  // strong mode
//! ```

mod clock;
mod faults;
mod kv_rules;
mod memory_kv;
mod ops;
mod owners;
mod queue;
mod random;
mod sqlite;

pub use clock::ManualClock;
pub use faults::{FaultCall, FaultKind, Faults};
pub use memory_kv::{KvOpCounts, MemoryKv, StoreOp, StoredEntry};
pub use ops::Ops;
pub use owners::{MemoryOwner, MemoryOwners};
pub use queue::MemoryQueue;
pub use random::SeededRandom;
pub use sqlite::SqliteDb;
