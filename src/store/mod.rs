//! Storage adapters of the Worker: Workers KV, and a Durable Object's own
//! storage (`strong` mode).

mod kv;
mod object;

pub use kv::WorkersKv;
pub use object::DurableStorage;
