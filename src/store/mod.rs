//! Storage adapters of the Worker.

mod kv;

pub use kv::WorkersKv;
