//! KV's own rules that every in-process implementation of the trait
//! enforces the same way: key validity and opaque list cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::store::{StoreError, MAX_KEY_BYTES};

/// KV's own key rules: non-empty, at most 512 bytes, not `.` or `..`.
pub(super) fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() {
        return Err(StoreError::Rejected("key is empty".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::Rejected(format!(
            "key of {} bytes exceeds {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    if key == "." || key == ".." {
        return Err(StoreError::Rejected("key may not be . or ..".into()));
    }
    Ok(())
}

/// An opaque cursor: `tag` then base64url of `[prefix, last key]`, so that
/// using it with another prefix (or another store's) can be refused as KV does.
pub(super) fn encode_cursor(tag: &str, prefix: &str, last: &str) -> String {
    let json = Value::Array(vec![Value::from(prefix), Value::from(last)]).to_string();
    format!("{tag}{}", URL_SAFE_NO_PAD.encode(json))
}

/// The last key of a cursor made by [`encode_cursor`] with `tag` and `prefix`.
pub(super) fn decode_cursor(tag: &str, cursor: &str, prefix: &str) -> Result<String, StoreError> {
    let invalid = || StoreError::Rejected("invalid list cursor".into());
    let body = cursor.strip_prefix(tag).ok_or_else(invalid)?;
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid())?;
    let (of, last): (String, String) = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if of != prefix {
        return Err(StoreError::Rejected(
            "list cursor belongs to another prefix".into(),
        ));
    }
    if !last.starts_with(prefix) {
        return Err(invalid());
    }
    Ok(last)
}
