//! A Durable Object's own storage behind the core's [`ObjectStorage`]: its
//! key-value API (SQLite-backed), values stored as strings.

use js_sys::Map;
use session_core::store::{ObjectStorage, StoreError};
use wasm_bindgen::JsValue;
use worker::{ListOptions, Storage};

/// The storage of one object. Every failure is [`StoreError::Unavailable`].
pub struct DurableStorage {
    storage: Storage,
}

impl DurableStorage {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }
}

fn unavailable(e: worker::Error) -> StoreError {
    StoreError::Unavailable(format!("object storage: {e}"))
}

impl ObjectStorage for DurableStorage {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.storage.get::<String>(key).await.map_err(unavailable)
    }

    async fn put(&self, key: &str, value: String) -> Result<(), StoreError> {
        self.storage
            .put_raw(key, JsValue::from_str(&value))
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.storage
            .delete(key)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        // `start` is inclusive: ask for one more and drop `start_after` itself.
        let extra = usize::from(start_after.is_some());
        let mut options = ListOptions::new().prefix(prefix).limit(limit + extra);
        if let Some(start) = start_after {
            options = options.start(start);
        }
        let map: Map = self
            .storage
            .list_with_options(options)
            .await
            .map_err(unavailable)?;
        let mut entries = Vec::with_capacity(map.size() as usize);
        map.for_each(&mut |value, key| {
            if let (Some(key), Some(value)) = (key.as_string(), value.as_string()) {
                if Some(key.as_str()) != start_after {
                    entries.push((key, value));
                }
            }
        });
        entries.truncate(limit);
        Ok(entries)
    }
}
