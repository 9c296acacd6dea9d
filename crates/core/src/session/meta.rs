//! A session's `meta`: a JSON object held as its compact JSON text, from
//! the store to the identity header, and parsed only where a value of it
//! is read (roles, patches, checks).
//!
//! ```
//! # use session_core::session::Meta;
//! let meta = Meta::from_value(serde_json::json!({"roles": ["admin", 7], "plan": 1.50})).unwrap();
//! assert_eq!(meta.as_json(), r#"{"plan":1.5,"roles":["admin",7]}"#);
//! assert_eq!(meta.roles(), ["admin"]);
//! assert!(meta.has_role("admin") && !meta.has_role("7"));
//! ```
//!
//! A guarded request reads a stored record and forwards its `meta` as it
//! was written: no map is built and no number is printed again. Input
//! (the admin API, `X-Session-Issue`, patches) and the API's JSON go through
//! [`serde_json::Value`] and the bounds of [`super::limits`].

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::limits::{check_meta_map, ValidationError};

/// A JSON object, compact, within the bounds of [`check_meta_map`] when it
/// came from input.
#[derive(Clone)]
pub struct Meta(Box<RawValue>);

impl Meta {
    /// `{}`.
    pub fn empty() -> Meta {
        Meta(RawValue::from_string("{}".to_owned()).expect("{} is JSON"))
    }

    /// Input's `meta`: a JSON object within the bounds, else which rule it breaks.
    pub fn from_value(value: Value) -> Result<Meta, ValidationError> {
        let Value::Object(map) = value else {
            return Err(ValidationError::new("meta", "must be a JSON object"));
        };
        Meta::from_map(&map)
    }

    /// A map within the bounds, as its compact JSON.
    pub fn from_map(map: &Map<String, Value>) -> Result<Meta, ValidationError> {
        let json = check_meta_map(map)?;
        Ok(Meta(
            RawValue::from_string(json).unwrap_or_else(|_| Meta::empty().0),
        ))
    }

    /// `meta` as read from a stored record: a JSON object, as written, when
    /// [`Meta::to_map`] can read it; `None` refuses the record, as a record
    /// whose `meta` did not parse always was. Checked by walking it, without
    /// building it: the origin must never get a `meta` the Worker itself
    /// reads differently (a lone surrogate, a number out of range, nesting
    /// past serde_json's limit: accepted by other parsers, refused here).
    pub(crate) fn from_stored(raw: &RawValue) -> Option<Meta> {
        let readable =
            raw.get().starts_with('{') && serde_json::from_str::<Readable>(raw.get()).is_ok();
        readable.then(|| Meta(raw.to_owned()))
    }

    /// The JSON, to be written as it is.
    pub(crate) fn as_raw(&self) -> &RawValue {
        &self.0
    }

    /// The compact JSON text.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }

    /// The object, parsed.
    pub fn to_map(&self) -> Map<String, Value> {
        serde_json::from_str(self.as_json()).unwrap_or_default()
    }

    /// The object, parsed, as a [`Value`].
    pub fn to_value(&self) -> Value {
        Value::Object(self.to_map())
    }

    /// Whether the object has no member.
    pub fn is_empty(&self) -> bool {
        self.to_map().is_empty()
    }

    /// The strings of `meta.roles` when it is an array (other elements
    /// ignored), else none.
    pub fn roles(&self) -> Vec<String> {
        match self.to_map().remove("roles") {
            Some(Value::Array(roles)) => roles
                .into_iter()
                .filter_map(|r| match r {
                    Value::String(r) => Some(r),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// True when `meta.roles` is an array holding the string `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().iter().any(|r| r == role)
    }

    /// The bounds of [`check_meta_map`], checked again.
    pub fn check(&self) -> Result<(), ValidationError> {
        check_meta_map(&self.to_map()).map(drop)
    }
}

/// Any JSON value serde_json can read into a [`Value`], read and dropped as
/// it goes: strings decoded (a lone surrogate fails), numbers parsed (out of
/// range fails), nesting bounded by the parser. Keys are strings, as in a map.
struct Readable;

impl<'de> Deserialize<'de> for Readable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Readable)
    }
}

impl<'de> Visitor<'de> for Readable {
    type Value = Readable;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_str<E>(self, _: &str) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_unit<E>(self) -> Result<Readable, E> {
        Ok(Readable)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Readable, A::Error> {
        while seq.next_element::<Readable>()?.is_some() {}
        Ok(Readable)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Readable, A::Error> {
        while map.next_key::<Key>()?.is_some() {
            map.next_value::<Readable>()?;
        }
        Ok(Readable)
    }
}

/// A map's key: a string, decoded.
struct Key;

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Readable).map(|_| Key)
    }
}

impl Default for Meta {
    fn default() -> Self {
        Meta::empty()
    }
}

/// Two metas are equal when their JSON texts are (both compact, and a
/// map's keys come out sorted).
impl PartialEq for Meta {
    fn eq(&self, other: &Self) -> bool {
        self.as_json() == other.as_json()
    }
}

impl Eq for Meta {}

impl fmt::Debug for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_is_checked_and_made_compact() {
        let meta = Meta::from_value(json!({"b": [1, 2.0, "x"], "a": {"n": null}})).unwrap();
        assert_eq!(meta.as_json(), r#"{"a":{"n":null},"b":[1,2.0,"x"]}"#);
        assert_eq!(
            meta.to_value(),
            json!({"a": {"n": null}, "b": [1, 2.0, "x"]})
        );
        assert_eq!(Meta::from_value(json!([1])).unwrap_err().field, "meta");
        assert_eq!(Meta::from_value(json!("x")).unwrap_err().field, "meta");
        let big = json!({"k": "x".repeat(4096)});
        assert_eq!(Meta::from_value(big).unwrap_err().field, "meta");
        assert!(Meta::default().is_empty());
        assert_eq!(Meta::default().as_json(), "{}");
    }

    #[test]
    fn roles_are_the_strings_of_an_array() {
        let roles = |v: Value| Meta::from_value(v).unwrap().roles();
        assert_eq!(
            roles(json!({"roles": ["a", 1, "b", null, ["c"]]})),
            ["a", "b"]
        );
        assert!(roles(json!({"roles": "admin"})).is_empty());
        assert!(roles(json!({"roles": {"admin": true}})).is_empty());
        assert!(roles(json!({"other": ["admin"]})).is_empty());
        assert!(roles(json!({})).is_empty());
        let meta = Meta::from_value(json!({"x": {"roles": ["admin"]}, "roles": ["b\"c"]})).unwrap();
        assert!(meta.has_role("b\"c") && !meta.has_role("admin"));
    }

    #[test]
    fn stored_text_is_kept_as_written() {
        let raw = RawValue::from_string(r#"{"n":1.50,"e":1e3}"#.to_owned()).unwrap();
        let meta = Meta::from_stored(&raw).unwrap();
        assert_eq!(meta.as_json(), r#"{"n":1.50,"e":1e3}"#);
        assert_eq!(meta.as_raw().get(), r#"{"n":1.50,"e":1e3}"#);
        // The API's JSON goes through a value.
        assert_eq!(meta.to_value().to_string(), r#"{"e":1000.0,"n":1.5}"#);
        let array = RawValue::from_string("[1]".to_owned()).unwrap();
        assert!(Meta::from_stored(&array).is_none());
    }

    #[test]
    fn a_stored_meta_the_worker_cannot_read_is_refused() {
        // Each is valid enough to be captured raw, and each would reach the
        // origin while the Worker read it as `{}` (no roles).
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        for text in [
            r#"{"roles":["admin"],"x":"\udc00"}"#,
            r#"{"\ud800":1}"#,
            r#"{"n":1e400}"#,
            deep.as_str(),
        ] {
            let raw = RawValue::from_string(text.to_owned()).unwrap();
            assert!(Meta::from_stored(&raw).is_none(), "{text}");
            assert!(
                serde_json::from_str::<Map<String, Value>>(text).is_err(),
                "{text}"
            );
        }
        // What a map reads, a stored meta keeps (a repeated key: the last
        // wins for the Worker, as for JavaScript's, Go's and Python's parsers).
        for text in [
            r#"{"a":"\ud83d\ude00","n":-0,"b":[{}]}"#,
            r#"{"r":["u"],"r":["a"]}"#,
        ] {
            let raw = RawValue::from_string(text.to_owned()).unwrap();
            let meta = Meta::from_stored(&raw).unwrap();
            assert_eq!(meta.as_json(), text);
            assert_eq!(
                Value::Object(meta.to_map()),
                serde_json::from_str::<Value>(text).unwrap()
            );
        }
    }
}
