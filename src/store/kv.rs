//! The Workers KV adapter: the core's [`KvStore`] over the `SESSIONS` binding.
//!
//! Every failure of the binding maps to [`StoreError::Unavailable`], so the
//! core fails closed (503 `store_unavailable`) instead of guessing.

use serde_json::Value;
use session_core::store::{
    KvEntry, KvStore, ListKey, ListOptions, ListPage, PutOptions, StoreError,
};

/// Name of the KV binding that holds the sessions.
pub const BINDING: &str = "SESSIONS";

/// Workers KV behind the core's storage trait. Cheap to clone. A missing
/// binding is not an error until the store is used: then every call fails as
/// unavailable, so public paths still work and session paths fail closed.
#[derive(Clone)]
pub struct WorkersKv {
    kv: Option<worker::kv::KvStore>,
}

impl WorkersKv {
    pub fn from_env(env: &worker::Env) -> Self {
        Self {
            kv: env.kv(BINDING).ok(),
        }
    }

    fn kv(&self) -> Result<&worker::kv::KvStore, StoreError> {
        self.kv
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable(format!("the {BINDING} KV binding is missing")))
    }
}

fn unavailable(op: &str, err: worker::kv::KvError) -> StoreError {
    // The binding's errors name keys at most, never values: safe to keep.
    StoreError::Unavailable(format!("KV {op} failed: {err}"))
}

impl KvStore for WorkersKv {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        let (value, metadata) = self
            .kv()?
            .get(key)
            .text_with_metadata::<Value>()
            .await
            .map_err(|e| unavailable("get", e))?;
        Ok(value.map(|value| KvEntry { value, metadata }))
    }

    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
        let mut put = self
            .kv()?
            .put(key, value)
            .map_err(|e| unavailable("put", e))?;
        if let Some(ttl) = options.expiration_ttl {
            put = put.expiration_ttl(ttl);
        }
        if let Some(metadata) = options.metadata {
            put = put.metadata(metadata).map_err(|e| unavailable("put", e))?;
        }
        put.execute().await.map_err(|e| unavailable("put", e))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.kv()?
            .delete(key)
            .await
            .map_err(|e| unavailable("delete", e))
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        let mut list = self
            .kv()?
            .list()
            .prefix(options.prefix)
            .limit(options.limit as u64);
        let with_cursor = options.cursor.is_some();
        if let Some(cursor) = options.cursor {
            list = list.cursor(cursor);
        }
        let page = list.execute().await.map_err(|e| {
            // KV refuses a cursor it did not hand out with an error naming the
            // cursor: that is the caller's mistake (400), not an outage (503).
            if with_cursor && e.to_string().to_ascii_lowercase().contains("cursor") {
                StoreError::Rejected("KV list refused the cursor".into())
            } else {
                unavailable("list", e)
            }
        })?;
        let keys = page
            .keys
            .into_iter()
            .map(|k| ListKey {
                name: k.name,
                expiration: k.expiration,
                metadata: k.metadata,
            })
            .collect();
        // KV may hand out a cursor with the last page; only an incomplete listing has a next page.
        let cursor = if page.list_complete {
            None
        } else {
            page.cursor.filter(|c| !c.is_empty())
        };
        Ok(ListPage { keys, cursor })
    }
}
