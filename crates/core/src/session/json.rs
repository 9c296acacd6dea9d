//! The contract's JSON of a session and of its summary (contract §3): the
//! fields of [`Session`] and [`Summary`] with times as RFC 3339 text.

use chrono::{DateTime, SecondsFormat};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::{ClientInfo, Lifetime, Session, Summary};

/// A time (ms since the epoch) that serializes as RFC 3339 UTC with
/// milliseconds, e.g. `2023-11-14T22:13:20.123Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(pub i64);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&rfc3339(self.0))
    }
}

/// Renders milliseconds since the epoch as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

/// The contract's object: a summary's fields, plus `meta` for a session.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionJson<'a> {
    id: &'a str,
    user_id: &'a str,
    label: &'a Option<String>,
    client: &'a ClientInfo,
    #[serde(flatten)]
    lifetime: Lifetime<Rfc3339>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<Map<String, Value>>,
}

/// What a session and its summary both show.
trait Shown {
    fn shown(&self) -> SessionJson<'_>;
}

macro_rules! shown {
    ($ty:ty) => {
        impl Shown for $ty {
            fn shown(&self) -> SessionJson<'_> {
                SessionJson {
                    id: self.id.as_str(),
                    user_id: &self.user_id,
                    label: &self.label,
                    client: &self.client,
                    lifetime: self.lifetime.map(Rfc3339),
                    current: None,
                    meta: None,
                }
            }
        }
    };
}

shown!(Session);
shown!(Summary);

fn to_value(json: SessionJson<'_>) -> Value {
    serde_json::to_value(json).unwrap_or(Value::Null)
}

impl Session {
    /// The contract's Session JSON.
    pub fn to_json(&self) -> Value {
        to_value(SessionJson {
            meta: Some(self.meta.to_map()),
            ..self.shown()
        })
    }
}

impl Summary {
    /// The contract's summary JSON (`current` only when set).
    pub fn to_json(&self) -> Value {
        to_value(SessionJson {
            current: self.current,
            ..self.shown()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;
    use serde_json::json;

    #[test]
    fn contract_json_shapes() {
        let s = sample(Some("laptop"), Some("UA/1"));
        let v = s.to_json();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            [
                "absoluteExpiresAt",
                "authenticatedAt",
                "client",
                "createdAt",
                "expiresAt",
                "id",
                "label",
                "lastSeenAt",
                "meta",
                "userId"
            ]
        );
        assert_eq!(v["createdAt"], "2023-11-14T22:13:20.123Z");
        assert_eq!(v["authenticatedAt"], "2023-11-14T22:13:20.123Z");
        assert_eq!(
            s.summary(None).to_json()["authenticatedAt"],
            v["authenticatedAt"]
        );
        assert_eq!(v["expiresAt"], "2023-11-14T22:23:20.123Z");
        assert_eq!(v["client"], json!({"userAgent": "UA/1", "country": "FR"}));
        assert_eq!(v["meta"]["n"], 1);
        assert!(!v.to_string().contains("secret") && !v.to_string().contains("Hash"));

        let summary = s.summary(Some(true)).to_json();
        assert_eq!(summary["current"], true);
        assert!(summary.get("meta").is_none());
        assert_eq!(summary["userId"], "user-1");
        assert!(s.summary(None).to_json().get("current").is_none());
        let unlabeled = sample(None, None).to_json();
        assert_eq!(unlabeled["label"], Value::Null);
        assert_eq!(unlabeled["client"]["userAgent"], Value::Null);
    }

    #[test]
    fn times_out_of_range_render_as_the_epoch() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(i64::MAX), "1970-01-01T00:00:00.000Z");
    }
}
