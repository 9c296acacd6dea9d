//! The KV port: what Workers KV offers, as one small async trait.
//!
//! Production uses the Workers KV adapter of the Worker crate; tests use
//! `testing::MemoryKv`, which enforces the same limits so that what KV
//! would reject fails there too. Futures need not be `Send` (wasm is
//! single-threaded).

use serde_json::Value;

/// Smallest `expirationTtl` Workers KV accepts, in seconds.
pub const MIN_EXPIRATION_TTL: u64 = 60;
/// Longest key Workers KV accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// Largest metadata Workers KV accepts, serialized JSON, in bytes.
pub const MAX_METADATA_BYTES: usize = 1024;
/// Largest value Workers KV accepts, in bytes.
pub const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;
/// Most keys one list call returns.
pub const MAX_LIST_LIMIT: usize = 1000;

/// A value read back with its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct KvEntry {
    pub value: String,
    pub metadata: Option<Value>,
}

/// Options of a put.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PutOptions {
    /// Seconds from now until KV drops the key on its own (>= 60).
    pub expiration_ttl: Option<u64>,
    /// Small JSON returned by `list` with the key name (<= 1024 bytes).
    pub metadata: Option<Value>,
}

/// One page request of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOptions {
    pub prefix: String,
    /// 1..=1000.
    pub limit: usize,
    /// The cursor of the previous page, `None` for the first one.
    pub cursor: Option<String>,
}

/// A key as a listing returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListKey {
    pub name: String,
    /// Absolute expiration, seconds since the Unix epoch.
    pub expiration: Option<u64>,
    pub metadata: Option<Value>,
}

/// One page of a listing; `cursor` is `None` once the listing is complete.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub keys: Vec<ListKey>,
    pub cursor: Option<String>,
}

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StoreError {
    /// The store refused the call as KV would (a 400 there): a bug of ours.
    Rejected(String),
    /// The store could not be reached or failed: callers fail closed.
    Unavailable(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Rejected(why) => write!(f, "store rejected the call: {why}"),
            StoreError::Unavailable(why) => write!(f, "store unavailable: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A key-value store with the semantics of Workers KV.
#[allow(async_fn_in_trait)]
pub trait KvStore {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError>;
    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError>;
}

impl<S: KvStore + ?Sized> KvStore for std::rc::Rc<S> {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        (**self).get(key).await
    }
    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
        (**self).put(key, value, options).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key).await
    }
    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        (**self).list(options).await
    }
}
