//! The input of a new session, as the admin API's body and the origin's
//! `X-Session-Issue` header both give it: `{"userId", "label"?, "meta"?,
//! "idleTtl"?, "absoluteTtl"?}`. Types are checked here; bounds by the
//! service when it creates the session (both name the field).

use serde_json::{Map, Value};

use super::{ClientInfo, ValidationError};
use crate::text::QUOTE_CHARS;

/// The fields a new session's JSON may have.
pub const NEW_SESSION_FIELDS: [&str; 5] = ["userId", "label", "meta", "idleTtl", "absoluteTtl"];

/// What `create` needs. `meta` is any JSON (checked to be an object; `None`
/// is `{}`). A missing TTL takes the policy's default (see
/// [`crate::policy::Policy::ttls_for`]).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSession {
    pub user_id: String,
    pub label: Option<String>,
    pub meta: Option<Value>,
    pub idle_ttl: Option<u64>,
    pub absolute_ttl: Option<u64>,
    pub client: ClientInfo,
}

impl NewSession {
    /// A session of `user_id` with every other field defaulted.
    pub fn for_user(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            ..Self::default()
        }
    }

    /// Reads the JSON object of a new session made for `client`. `null`
    /// counts as absent for every field but `userId`. The error names the
    /// field (`body` when `json` is not an object, an unknown field by its
    /// own name, cut to 64 characters) and never holds a value.
    pub fn from_json(json: Value, client: ClientInfo) -> Result<NewSession, ValidationError> {
        let Value::Object(mut fields) = json else {
            return Err(ValidationError::new("body", "must be a JSON object"));
        };
        if let Some(unknown) = fields
            .keys()
            .find(|k| !NEW_SESSION_FIELDS.contains(&k.as_str()))
        {
            let name: String = unknown.chars().take(QUOTE_CHARS).collect();
            let allowed = NEW_SESSION_FIELDS.join(", ");
            return Err(ValidationError::new(
                name,
                format!("is not a known field (allowed: {allowed})"),
            ));
        }
        let user_id = match fields.remove("userId") {
            Some(Value::String(user_id)) => user_id,
            _ => {
                return Err(ValidationError::new(
                    "userId",
                    "is required and must be a string",
                ))
            }
        };
        let label = match fields.remove("label") {
            None | Some(Value::Null) => None,
            Some(Value::String(label)) => Some(label),
            Some(_) => return Err(ValidationError::new("label", "must be a string or null")),
        };
        let meta = match fields.remove("meta") {
            None | Some(Value::Null) => None,
            Some(meta @ Value::Object(_)) => Some(meta),
            Some(_) => return Err(ValidationError::new("meta", "must be a JSON object")),
        };
        Ok(NewSession {
            user_id,
            label,
            meta,
            idle_ttl: ttl(&mut fields, "idleTtl")?,
            absolute_ttl: ttl(&mut fields, "absoluteTtl")?,
            client,
        })
    }
}

/// A TTL field: absent, `null`, or a whole number of seconds. JSON has one
/// number type, so `60`, `60.0` and `6e1` are alike; `60.5`, `-1` and `"60"`
/// are refused (the range is the policy's to check).
fn ttl(
    fields: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Option<u64>, ValidationError> {
    let whole = |n: &serde_json::Number| {
        n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            // Saturates above u64::MAX, which the range check then refuses.
            (f >= 0.0 && f.fract() == 0.0).then_some(f as u64)
        })
    };
    match fields.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if whole(&n).is_some() => Ok(whole(&n)),
        Some(_) => Err(ValidationError::new(
            field,
            "must be a whole number of seconds",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(json: Value) -> Result<NewSession, ValidationError> {
        NewSession::from_json(json, ClientInfo::default())
    }

    #[test]
    fn reads_every_field() {
        let client = ClientInfo::new(Some("UA"), Some("fr"));
        let full = NewSession::from_json(
            json!({"userId":"u1","label":"l","meta":{"a":1},"idleTtl":60,"absoluteTtl":120}),
            client.clone(),
        )
        .unwrap();
        assert_eq!(full.user_id, "u1");
        assert_eq!(full.label.as_deref(), Some("l"));
        assert_eq!(full.meta, Some(json!({"a": 1})));
        assert_eq!((full.idle_ttl, full.absolute_ttl), (Some(60), Some(120)));
        assert_eq!(full.client, client);
        let min = parse(json!({"userId":"u","label":null,"meta":null,"idleTtl":null})).unwrap();
        assert_eq!((min.label, min.meta, min.idle_ttl), (None, None, None));
    }

    #[test]
    fn errors_name_the_field_and_never_the_value() {
        for (json, field) in [
            (json!([]), "body"),
            (json!("x"), "body"),
            (json!({}), "userId"),
            (json!({"userId": 7}), "userId"),
            (json!({"userId": null}), "userId"),
            (json!({"userId":"u","extra":1}), "extra"),
            (json!({"userId":"u","label":1}), "label"),
            (json!({"userId":"u","meta":[]}), "meta"),
            (json!({"userId":"u","meta":"x"}), "meta"),
            (json!({"userId":"u","idleTtl":-1}), "idleTtl"),
            (json!({"userId":"u","idleTtl":60.5}), "idleTtl"),
            (json!({"userId":"u","idleTtl":-60.0}), "idleTtl"),
            (json!({"userId":"u","absoluteTtl":"60"}), "absoluteTtl"),
        ] {
            let e = parse(json.clone()).unwrap_err();
            assert_eq!(e.field, field, "{json}");
        }
        let e = parse(json!({"userId":"u","idleTtl":"es1.secret"})).unwrap_err();
        assert!(!e.to_string().contains("es1"), "{e}");
        let long = "k".repeat(100);
        let e = parse(json!({ "userId": "u", long.clone(): 1 })).unwrap_err();
        assert_eq!(e.field.len(), 64);
    }

    #[test]
    fn a_ttl_is_a_whole_number_however_json_writes_it() {
        for text in ["60", "60.0", "6e1", "600e-1"] {
            let json: Value =
                serde_json::from_str(&format!(r#"{{"userId":"u","idleTtl":{text}}}"#)).unwrap();
            assert_eq!(parse(json).unwrap().idle_ttl, Some(60), "{text}");
        }
        for text in ["60.5", "-60", "-0.5", "1e-7"] {
            let json: Value =
                serde_json::from_str(&format!(r#"{{"userId":"u","idleTtl":{text}}}"#)).unwrap();
            assert_eq!(parse(json).unwrap_err().field, "idleTtl", "{text}");
        }
        // Past u64: saturated, for the policy's range check to refuse.
        let huge = parse(json!({"userId": "u", "absoluteTtl": 1e300})).unwrap();
        assert_eq!(huge.absolute_ttl, Some(u64::MAX));
    }

    /// JSON has one number type: `3152.0` and `3.6e3` are the whole numbers
    /// 3152 and 3600 (JSON Schema's `integer` accepts them, and so does a
    /// client that validates against openapi.json). Found by schemathesis:
    /// `{"idleTtl": 3152.0}` answered 400 `idleTtl: must be a whole number`.
    #[test]
    fn a_ttl_written_with_a_zero_fraction_or_an_exponent_is_whole() {
        let raw = r#"{"userId":"u","idleTtl":3152.0,"absoluteTtl":3.6e3}"#;
        let new = parse(serde_json::from_str(raw).unwrap()).unwrap();
        assert_eq!((new.idle_ttl, new.absolute_ttl), (Some(3152), Some(3600)));
        // Past u64 it saturates, so the bounds check refuses it as too long.
        let huge = parse(json!({"userId":"u","idleTtl":1e300})).unwrap();
        assert_eq!(huge.idle_ttl, Some(u64::MAX));
        // -0 is 0: below the minimum, refused by the bounds check.
        let zero =
            parse(serde_json::from_str(r#"{"userId":"u","idleTtl":-0.0}"#).unwrap()).unwrap();
        assert_eq!(zero.idle_ttl, Some(0));
    }
}
