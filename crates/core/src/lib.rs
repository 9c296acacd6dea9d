//! The pure core of edge-session: tokens, records, the store trait, the session service.
//! Knows nothing of `worker`; takes its clock and randomness as inputs.

pub mod clock;
pub mod random;
pub mod store;
