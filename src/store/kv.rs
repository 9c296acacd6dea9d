//! The Workers KV adapter: the core's [`KvStore`] over the `SESSIONS` binding.
//!
//! It calls the binding's methods directly (`getWithMetadata`, `put`,
//! `delete`, `list`), and moves metadata and listings across the JS boundary
//! as JSON text, which both sides parse natively; the `worker` crate's KV
//! wrapper would look up the five methods on every request and go through
//! `serde-wasm-bindgen` (and float formatting) for the same result.
//!
//! Every failure of the binding maps to [`StoreError::Unavailable`], so the
//! core fails closed (503 `store_unavailable`) instead of guessing.

use js_sys::{Object, Promise, Reflect, JSON};
use serde::Deserialize;
use serde_json::Value;
use session_core::store::{
    KvEntry, KvStore, ListKey, ListOptions, ListPage, PutOptions, StoreError,
};
use wasm_bindgen::prelude::*;

/// Name of the KV binding that holds the sessions.
pub const BINDING: &str = "SESSIONS";

#[wasm_bindgen(inline_js = r#"
export function getEntry(kv, key) {
  return kv.getWithMetadata(key, 'text').then(({ value, metadata }) => {
    if (value === null || value === undefined) return null;
    return (metadata === null || metadata === undefined ? '' : JSON.stringify(metadata)) + '\n' + value;
  });
}
"#)]
extern "C" {
    /// `getWithMetadata(key, "text")` answered in one string: `null` when
    /// absent, else the metadata as JSON (empty when there is none), a line
    /// break (JSON text never holds one), and the value.
    #[wasm_bindgen(catch, js_name = getEntry)]
    fn get_entry(kv: &KvNamespace, key: &str) -> Result<Promise, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// A Workers KV namespace binding (or anything with its methods).
    #[derive(Clone)]
    type KvNamespace;

    #[wasm_bindgen(method, catch)]
    fn put(
        this: &KvNamespace,
        key: &str,
        value: &str,
        options: &Object,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn delete(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn list(this: &KvNamespace, options: &Object) -> Result<Promise, JsValue>;
}

/// Workers KV behind the core's storage trait. Cheap to clone. A missing
/// binding is not an error until the store is used: then every call fails as
/// unavailable, so public paths still work and session paths fail closed.
#[derive(Clone)]
pub struct WorkersKv {
    kv: Option<KvNamespace>,
}

impl WorkersKv {
    pub fn from_env(env: &worker::Env) -> Self {
        let kv = Reflect::get(env.as_ref(), &JsValue::from_str(BINDING))
            .ok()
            .filter(|b| b.is_object())
            .map(JsCast::unchecked_into);
        Self { kv }
    }

    fn kv(&self) -> Result<&KvNamespace, StoreError> {
        self.kv
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable(format!("the {BINDING} KV binding is missing")))
    }
}

/// What a KV error says, for the logs: the binding's errors name keys at
/// most, never values.
fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn unavailable(op: &str, error: &JsValue) -> StoreError {
    StoreError::Unavailable(format!("KV {op} failed: {}", describe(error)))
}

/// The binding answered something that is not what it documents.
fn unexpected(op: &str) -> StoreError {
    StoreError::Unavailable(format!("KV {op}: unexpected answer"))
}

/// Awaits a call of the binding.
async fn call(op: &str, promise: Result<Promise, JsValue>) -> Result<JsValue, StoreError> {
    let promise = promise.map_err(|e| unavailable(op, &e))?;
    crate::promise::settled(&promise)
        .await
        .map_err(|e| unavailable(op, &e))
}

/// A JS value as `serde_json` reads it, through `JSON.stringify`.
fn to_json<T: for<'de> Deserialize<'de>>(op: &str, value: &JsValue) -> Result<T, StoreError> {
    let text: String = JSON::stringify(value)
        .map_err(|e| unavailable(op, &e))?
        .into();
    serde_json::from_str(&text).map_err(|_| unexpected(op))
}

fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a property of a plain object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// `list`'s answer, as far as it is read.
#[derive(Deserialize)]
struct ListResult {
    keys: Vec<ListedKey>,
    #[serde(default)]
    list_complete: bool,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct ListedKey {
    name: String,
    #[serde(default)]
    expiration: Option<u64>,
    #[serde(default)]
    metadata: Option<Value>,
}

impl KvStore for WorkersKv {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        let answer = call("get", get_entry(self.kv()?, key)).await?;
        let Some(mut answer) = answer.as_string() else {
            return Ok(None);
        };
        let split = answer.find('\n').ok_or_else(|| unexpected("get"))?;
        let metadata = match &answer[..split] {
            "" => None,
            json => Some(serde_json::from_str::<Value>(json).map_err(|_| unexpected("get"))?),
        };
        answer.drain(..=split);
        Ok(Some(KvEntry {
            value: answer,
            metadata,
        }))
    }

    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
        let init = Object::new();
        if let Some(ttl) = options.expiration_ttl {
            set(&init, "expirationTtl", &JsValue::from_f64(ttl as f64));
        }
        if let Some(metadata) = options.metadata {
            let text = serde_json::to_string(&metadata).unwrap_or_else(|_| "null".into());
            let parsed = JSON::parse(&text).map_err(|e| unavailable("put", &e))?;
            set(&init, "metadata", &parsed);
        }
        call("put", self.kv()?.put(key, value, &init))
            .await
            .map(drop)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        call("delete", self.kv()?.delete(key)).await.map(drop)
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        let init = Object::new();
        set(&init, "prefix", &JsValue::from_str(&options.prefix));
        set(&init, "limit", &JsValue::from_f64(options.limit as f64));
        let with_cursor = options.cursor.is_some();
        if let Some(cursor) = &options.cursor {
            set(&init, "cursor", &JsValue::from_str(cursor));
        }
        let answer = match call("list", self.kv()?.list(&init)).await {
            Ok(answer) => answer,
            // KV refuses a cursor it did not hand out with an error naming the
            // cursor: that is the caller's mistake (400), not an outage (503).
            Err(StoreError::Unavailable(why))
                if with_cursor && why.to_ascii_lowercase().contains("cursor") =>
            {
                return Err(StoreError::Rejected("KV list refused the cursor".into()));
            }
            Err(e) => return Err(e),
        };
        let page: ListResult = to_json("list", &answer)?;
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
