//! Storage adapters of the Worker: Workers KV, a Durable Object's SQL
//! storage (`strong` mode), and the events Queue.

mod kv;
mod queue;
mod sql;

pub use kv::WorkersKv;
pub use queue::WorkersQueue;
pub use sql::DurableSql;
