//! Storage adapters of the Worker: Workers KV, and a Durable Object's SQL
//! storage (`strong` mode).

mod kv;
mod sql;

pub use kv::WorkersKv;
pub use sql::DurableSql;
