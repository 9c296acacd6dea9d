//! The one store type the session service runs over in this Worker: Workers
//! KV in the Worker, an owner's store in the `UserSessions` object. One
//! type means one copy of the service's code in the wasm, not two.

use std::rc::Rc;

use session_core::owner::OwnerStore;
use session_core::store::{KvEntry, KvStore, ListOptions, ListPage, ObjectKv, PutOptions};
use session_core::StoreError;

use super::{DurableStorage, WorkersKv};
use crate::platform::JsClock;

/// An owner's store: its own storage, KV for the index.
pub type OwnerStorage = OwnerStore<ObjectKv<DurableStorage, JsClock>, WorkersKv, JsClock>;

/// See the module documentation.
pub enum EdgeStore {
    Kv(WorkersKv),
    Owner(Rc<OwnerStorage>),
}

impl KvStore for EdgeStore {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        match self {
            EdgeStore::Kv(s) => s.get(key).await,
            EdgeStore::Owner(s) => s.get(key).await,
        }
    }

    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
        match self {
            EdgeStore::Kv(s) => s.put(key, value, options).await,
            EdgeStore::Owner(s) => s.put(key, value, options).await,
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self {
            EdgeStore::Kv(s) => s.delete(key).await,
            EdgeStore::Owner(s) => s.delete(key).await,
        }
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        match self {
            EdgeStore::Kv(s) => s.list(options).await,
            EdgeStore::Owner(s) => s.list(options).await,
        }
    }
}
