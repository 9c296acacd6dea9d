//! The bounds of a session's fields, each stated once, and their checks.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Longest userId, in bytes.
pub const MAX_USER_ID_BYTES: usize = 256;
/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 128;
/// Largest meta, serialized JSON, in bytes.
pub const MAX_META_BYTES: usize = 4096;
/// Deepest nesting of meta. The record (meta nested one level down) must stay
/// readable by serde_json, which refuses nesting beyond 127 levels.
pub const MAX_META_DEPTH: usize = 100;
/// Longest stored user agent, in bytes.
pub const MAX_USER_AGENT_BYTES: usize = 512;

/// An input rule was broken: `field` is the contract's field name (or an
/// unknown field's own name, cut short), `reason` what is wrong with it.
/// Neither ever holds a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ValidationError {
    pub field: Cow<'static, str>,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ValidationError {}

/// userId: 1..=256 bytes of any UTF-8.
pub fn validate_user_id(user_id: &str) -> Result<(), ValidationError> {
    if user_id.is_empty() {
        return Err(ValidationError::new("userId", "must not be empty"));
    }
    if user_id.len() > MAX_USER_ID_BYTES {
        return Err(ValidationError::new(
            "userId",
            format!("must be at most {MAX_USER_ID_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// label: null or at most 128 characters.
pub fn validate_label(label: Option<&str>) -> Result<(), ValidationError> {
    match label {
        Some(label) if label.chars().count() > MAX_LABEL_CHARS => Err(ValidationError::new(
            "label",
            format!("must be at most {MAX_LABEL_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// meta: a JSON object ([`super::Meta::from_value`]) of at most 4096 bytes
/// serialized, nested at most 100 levels. Answers its compact JSON, which
/// measuring the size wrote anyway.
pub fn check_meta_map(map: &Map<String, Value>) -> Result<String, ValidationError> {
    // Depth first (without recursion), so that serializing below is bounded.
    let mut stack: Vec<(&Value, usize)> = map.values().map(|v| (v, 2)).collect();
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(m) => Box::new(m.values()),
            Value::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        if depth > MAX_META_DEPTH {
            return Err(ValidationError::new(
                "meta",
                format!("must be nested at most {MAX_META_DEPTH} levels deep"),
            ));
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    let json = serde_json::to_string(map).ok();
    let size = json.as_ref().map_or(usize::MAX, String::len);
    if size > MAX_META_BYTES {
        return Err(ValidationError::new(
            "meta",
            format!("must be at most {MAX_META_BYTES} bytes serialized, got {size}"),
        ));
    }
    Ok(json.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Meta;
    use serde_json::json;

    #[test]
    fn user_id_bounds() {
        assert!(validate_user_id("a").is_ok());
        assert!(validate_user_id(&"x".repeat(256)).is_ok());
        assert!(validate_user_id(&"\u{10348}".repeat(64)).is_ok());
        let e = validate_user_id(&"x".repeat(257)).unwrap_err();
        assert_eq!(e.field, "userId");
        assert_eq!(validate_user_id("").unwrap_err().field, "userId");
        // 65 four-byte chars = 260 bytes, though only 65 chars.
        assert!(validate_user_id(&"\u{10348}".repeat(65)).is_err());
    }

    #[test]
    fn label_bounds_count_characters() {
        assert!(validate_label(None).is_ok());
        assert!(validate_label(Some("")).is_ok());
        assert!(validate_label(Some(&"é".repeat(128))).is_ok());
        let e = validate_label(Some(&"é".repeat(129))).unwrap_err();
        assert_eq!(e.field, "label");
        assert!(validate_label(Some(&"a".repeat(129))).is_err());
    }

    #[test]
    fn meta_rules() {
        let exactly = |n: usize| json!({ "k": "x".repeat(n - 8) }); // {"k":""} is 8 bytes
        assert_eq!(serde_json::to_string(&exactly(4096)).unwrap().len(), 4096);
        assert!(Meta::from_value(exactly(4096)).is_ok());
        let e = Meta::from_value(exactly(4097)).unwrap_err();
        assert_eq!(e.field, "meta");
        assert!(e.reason.contains("4096"));
        for not_object in [json!([]), json!(null), json!("x"), json!(1), json!(true)] {
            assert_eq!(Meta::from_value(not_object).unwrap_err().field, "meta");
        }
        assert!(Meta::from_value(json!({})).is_ok());
        let nest = |levels: usize| {
            let mut v = json!({});
            for _ in 1..levels {
                v = json!({ "a": v });
            }
            v
        };
        assert!(Meta::from_value(nest(MAX_META_DEPTH)).is_ok());
        assert_eq!(
            Meta::from_value(nest(MAX_META_DEPTH + 1))
                .unwrap_err()
                .field,
            "meta"
        );
        let mut arrays = json!([]);
        for _ in 0..MAX_META_DEPTH {
            arrays = json!([arrays]);
        }
        assert!(Meta::from_value(json!({ "a": arrays })).is_err());
    }
}
