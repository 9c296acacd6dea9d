//! A SQLite-backed Durable Object's storage behind the core's [`Sql`]:
//! `storage.sql.exec` for a statement, `storage.transactionSync` around
//! several. Rows cross into wasm as one JSON text per statement.

use serde_json::Value;
use session_core::owner::{Row, Sql, SqlValue};
use session_core::StoreError;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function sqlExec(state, query, params) {
  return JSON.stringify(state.storage.sql.exec(query, ...params).raw().toArray());
}

export function sqlTransaction(state, body) {
  state.storage.transactionSync(() => {
    if (!body()) throw new Error('rolled back');
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = sqlExec)]
    fn sql_exec(state: &JsValue, query: &str, params: js_sys::Array) -> Result<String, JsValue>;

    #[wasm_bindgen(catch, js_name = sqlTransaction)]
    fn sql_transaction(state: &JsValue, body: &mut dyn FnMut() -> bool) -> Result<(), JsValue>;
}

/// The SQL storage of one object (its `DurableObjectState`).
pub struct DurableSql {
    state: JsValue,
}

impl DurableSql {
    pub fn new(state: &worker::State) -> Self {
        Self {
            state: state.as_raw().into(),
        }
    }
}

fn unavailable(e: &JsValue) -> StoreError {
    let why = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| "unknown error".into());
    StoreError::Unavailable(format!("object storage: {why}"))
}

fn value(v: Value) -> SqlValue {
    match v {
        Value::String(text) => SqlValue::Text(text),
        Value::Number(n) => SqlValue::Integer(
            n.as_i64()
                .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
        ),
        Value::Bool(b) => SqlValue::Integer(i64::from(b)),
        _ => SqlValue::Null,
    }
}

impl Sql for DurableSql {
    fn exec(&self, query: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let bound: js_sys::Array = params
            .iter()
            .map(|p| match p {
                SqlValue::Null => JsValue::NULL,
                SqlValue::Integer(n) => JsValue::from_f64(*n as f64),
                SqlValue::Text(t) => JsValue::from_str(t),
            })
            .collect();
        let text = sql_exec(&self.state, query, bound).map_err(|e| unavailable(&e))?;
        let rows: Vec<Vec<Value>> = serde_json::from_str(&text)
            .map_err(|_| StoreError::Unavailable("object storage: unreadable rows".into()))?;
        Ok(rows
            .into_iter()
            .map(|row| row.into_iter().map(value).collect())
            .collect())
    }

    fn transaction(
        &self,
        body: &mut dyn FnMut() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut failure = None;
        let mut run = || match body() {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        };
        let committed = sql_transaction(&self.state, &mut run);
        match (committed, failure) {
            (_, Some(e)) => Err(e),
            (Err(e), None) => Err(unavailable(&e)),
            (Ok(()), None) => Ok(()),
        }
    }
}
