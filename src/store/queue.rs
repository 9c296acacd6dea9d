//! The `EVENTS` Queue producer behind the core's [`EventQueue`]: one
//! `sendBatch` per batch, each event a JSON message.

use js_sys::Reflect;
use session_core::events::{Event, EventQueue};
use session_core::StoreError;
use wasm_bindgen::prelude::*;

/// Name of the Queue binding events go to (unbound: events are off).
pub const BINDING: &str = "EVENTS";

#[wasm_bindgen(inline_js = r#"
export function sendEvents(queue, text) {
  return queue.sendBatch(JSON.parse(text).map((body) => ({ body, contentType: 'json' })));
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = sendEvents)]
    fn send_events(queue: &JsValue, text: &str) -> Result<js_sys::Promise, JsValue>;
}

/// The bound queue.
#[derive(Clone)]
pub struct WorkersQueue {
    queue: JsValue,
}

impl WorkersQueue {
    /// The `EVENTS` binding, when there is one.
    pub fn from_env(env: &worker::Env) -> Option<Self> {
        Reflect::get(env.as_ref(), &JsValue::from_str(BINDING))
            .ok()
            .filter(|b| b.is_object())
            .map(|queue| Self { queue })
    }
}

fn unavailable(e: &JsValue) -> StoreError {
    let why = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| "unknown error".into());
    StoreError::Unavailable(format!("events queue: {why}"))
}

impl EventQueue for WorkersQueue {
    async fn send_batch(&self, events: &[Event]) -> Result<(), StoreError> {
        let text =
            serde_json::to_string(events).map_err(|_| StoreError::Rejected("events".into()))?;
        let promise = send_events(&self.queue, &text).map_err(|e| unavailable(&e))?;
        crate::promise::settled(&promise)
            .await
            .map(drop)
            .map_err(|e| unavailable(&e))
    }
}
