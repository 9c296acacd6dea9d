//! Storage adapters of the Worker: Workers KV, a Durable Object's own
//! storage (`strong` mode), and the one store type over both.

mod edge;
mod kv;
mod object;

pub use edge::{EdgeStore, OwnerStorage};
pub use kv::WorkersKv;
pub use object::DurableStorage;
