//! The session record: validation, its stored forms, and its contract JSON.
//!
//! A session is stored twice:
//! - in full, as the JSON value of its session key ([`Session::to_record_json`]):
//!   `{"v":1,"id","userId","label","meta","client":{"userAgent","country"},
//!   "createdAt","lastSeenAt","expiresAt","absoluteExpiresAt"` (ms since the epoch)
//!   `,"idleTtl","absoluteTtl"` (seconds) `,"secretHash"}`;
//! - as a summary in the KV metadata of its index key ([`Session::index_metadata`]):
//!   `{"v":1,"l":label|null,"ca","ls","ea","aa"` (ms) `,"c"?,"ua"?}`. The userId is
//!   in the key name, `meta` is left out, and the user agent is cut so that the
//!   metadata always fits KV's 1024 bytes (a 128-char label of control
//!   characters alone escapes to 770 bytes).
//!
//! Times are milliseconds since the Unix epoch in Rust and in KV, RFC 3339
//! strings (UTC, milliseconds) in the contract JSON.

use crate::store::MAX_METADATA_BYTES;
use crate::text::truncate_bytes;
use crate::token::{SecretHash, SessionId};
use chrono::{DateTime, SecondsFormat};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
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
/// Shortest TTL, in seconds (KV's minimum `expirationTtl`).
pub const MIN_TTL: u64 = 60;
/// Longest TTL, in seconds (365 days).
pub const MAX_TTL: u64 = 31_536_000;
/// Longest stored user agent, in bytes.
pub const MAX_USER_AGENT_BYTES: usize = 512;
/// Version of the stored record and index metadata formats.
pub const RECORD_VERSION: u32 = 1;
/// Seconds a session's KV keys outlive its expiry, so that a token of an
/// expired session still finds its record and answers `session_expired`
/// rather than `invalid_token`. Expiry itself is always checked in code.
pub const EXPIRED_RECORD_GRACE_SECS: u64 = 86_400;

/// An input rule was broken: `field` is the contract's field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
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

/// meta: a JSON object of at most 4096 bytes serialized, nested at most 100 levels.
pub fn validate_meta(meta: Value) -> Result<Map<String, Value>, ValidationError> {
    let Value::Object(map) = meta else {
        return Err(ValidationError::new("meta", "must be a JSON object"));
    };
    check_meta_map(&map)?;
    Ok(map)
}

fn check_meta_map(map: &Map<String, Value>) -> Result<(), ValidationError> {
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
    let size = serde_json::to_string(map)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    if size > MAX_META_BYTES {
        return Err(ValidationError::new(
            "meta",
            format!("must be at most {MAX_META_BYTES} bytes serialized, got {size}"),
        ));
    }
    Ok(())
}

/// TTLs: 60 <= idleTtl <= absoluteTtl <= 31536000 seconds.
pub fn validate_ttls(idle_ttl: u64, absolute_ttl: u64) -> Result<(), ValidationError> {
    for (field, value) in [("idleTtl", idle_ttl), ("absoluteTtl", absolute_ttl)] {
        if !(MIN_TTL..=MAX_TTL).contains(&value) {
            return Err(ValidationError::new(
                field,
                format!("must be between {MIN_TTL} and {MAX_TTL} seconds"),
            ));
        }
    }
    if idle_ttl > absolute_ttl {
        return Err(ValidationError::new(
            "idleTtl",
            "must not exceed absoluteTtl",
        ));
    }
    Ok(())
}

/// Where a session was created from. Normalized on construction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    /// At most 512 bytes, cut at a character boundary.
    pub user_agent: Option<String>,
    /// Two upper-case ASCII letters.
    pub country: Option<String>,
}

impl ClientInfo {
    /// Cuts the user agent to 512 bytes (at a char boundary; empty becomes
    /// `None`) and keeps the country only when it is two ASCII letters
    /// (upper-cased), dropping anything else (`XX`-style codes included, such
    /// as Cloudflare's `T1` for Tor, which are not letters).
    pub fn new(user_agent: Option<&str>, country: Option<&str>) -> Self {
        let user_agent = user_agent
            .map(|ua| truncate_bytes(ua, MAX_USER_AGENT_BYTES).to_owned())
            .filter(|ua| !ua.is_empty());
        let country = country
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase());
        Self {
            user_agent,
            country,
        }
    }
}

/// Renders milliseconds since the epoch as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

/// One session. Built only by the service; fields are public for reading.
#[derive(Debug, Clone)]
pub struct Session {
    /// Public id (22 base64url chars), never the token.
    pub id: String,
    pub user_id: String,
    pub label: Option<String>,
    pub meta: Map<String, Value>,
    pub client: ClientInfo,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Last creation, refresh or sliding write (not every request: that would
    /// cost a write per request).
    pub last_seen_at: i64,
    /// Idle expiry; moved by refresh and sliding.
    pub expires_at: i64,
    /// Hard cap; never moves.
    pub absolute_expires_at: i64,
    /// Seconds.
    pub idle_ttl: u64,
    /// Seconds.
    pub absolute_ttl: u64,
    pub(crate) secret_hash: SecretHash,
}

/// Adds `secs` seconds to a millisecond timestamp without overflowing.
pub(crate) fn add_secs(ms: i64, secs: u64) -> i64 {
    ms.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000))
}

/// Whether a session with these expiries is live at `now_ms`.
fn live_at(expires_at: i64, absolute_expires_at: i64, now_ms: i64) -> bool {
    now_ms < expires_at && now_ms < absolute_expires_at
}

impl Session {
    /// Live: before both `expiresAt` and `absoluteExpiresAt`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        live_at(self.expires_at, self.absolute_expires_at, now_ms)
    }

    /// Whole seconds until the session stops being live (0 when it is not):
    /// the cookie's `Max-Age`.
    pub fn seconds_to_expiry(&self, now_ms: i64) -> u64 {
        let end = self.expires_at.min(self.absolute_expires_at);
        u64::try_from(end.saturating_sub(now_ms).max(0) / 1000).unwrap_or(0)
    }

    /// `expirationTtl` of the session's KV keys: whole seconds (rounded up)
    /// until it stops being live, plus [`EXPIRED_RECORD_GRACE_SECS`]; at least KV's 60.
    pub fn kv_ttl_secs(&self, now_ms: i64) -> u64 {
        let end = self.expires_at.min(self.absolute_expires_at);
        let ms = u64::try_from(end.saturating_sub(now_ms)).unwrap_or(0);
        ms.div_ceil(1000)
            .saturating_add(EXPIRED_RECORD_GRACE_SECS)
            .max(MIN_TTL)
    }

    /// True when `meta.roles` is an array holding the string `role`.
    pub fn has_role(&self, role: &str) -> bool {
        matches!(self.meta.get("roles"), Some(Value::Array(roles))
            if roles.iter().any(|r| r.as_str() == Some(role)))
    }

    /// The contract's Session JSON.
    pub fn to_json(&self) -> Value {
        // The contract's session is its summary plus `meta`.
        let mut json = self.summary(None).to_json();
        if let Value::Object(fields) = &mut json {
            fields.insert("meta".into(), Value::Object(self.meta.clone()));
        }
        json
    }

    /// This session's summary; `current` is set in self-service listings.
    pub fn summary(&self, current: Option<bool>) -> Summary {
        Summary {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            label: self.label.clone(),
            client: self.client.clone(),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
            absolute_expires_at: self.absolute_expires_at,
            current,
        }
    }

    /// Re-checks the rules a stored session must satisfy.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_user_id(&self.user_id)?;
        validate_label(self.label.as_deref())?;
        check_meta_map(&self.meta)?;
        validate_ttls(self.idle_ttl, self.absolute_ttl)
    }

    /// The JSON value stored under the session key.
    pub fn to_record_json(&self) -> String {
        let record = StoredRecord {
            v: RECORD_VERSION,
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            label: self.label.clone(),
            meta: self.meta.clone(),
            client: self.client.clone(),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
            absolute_expires_at: self.absolute_expires_at,
            idle_ttl: self.idle_ttl,
            absolute_ttl: self.absolute_ttl,
            secret_hash: self.secret_hash.to_text(),
        };
        serde_json::to_string(&record).unwrap_or_default()
    }

    /// Reads a stored record; `None` when it is not a valid record of session `id`.
    pub fn from_record_json(json: &str, id: &SessionId) -> Option<Session> {
        let r: StoredRecord = serde_json::from_str(json).ok()?;
        if r.v != RECORD_VERSION || r.id != id.as_str() {
            return None;
        }
        Some(Session {
            id: r.id,
            user_id: r.user_id,
            label: r.label,
            meta: r.meta,
            client: r.client,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            absolute_expires_at: r.absolute_expires_at,
            idle_ttl: r.idle_ttl,
            absolute_ttl: r.absolute_ttl,
            secret_hash: SecretHash::from_text(&r.secret_hash)?,
        })
    }

    /// Cuts the user agent to what the index summary can hold beside this
    /// label (KV metadata is at most 1024 bytes), so that listings show the
    /// same client as the session itself. Call before writing a new label.
    pub fn fit_user_agent_to_summary(&mut self) {
        let kept = self
            .index_metadata()
            .get("ua")
            .and_then(Value::as_str)
            .map(str::to_owned);
        self.client.user_agent = kept;
    }

    /// The summary stored as metadata of the index key, always at most
    /// [`MAX_METADATA_BYTES`] serialized: the user agent is cut to what fits.
    pub fn index_metadata(&self) -> Value {
        let mut meta = IndexMeta {
            v: RECORD_VERSION,
            l: self.label.clone(),
            ca: self.created_at,
            ls: self.last_seen_at,
            ea: self.expires_at,
            aa: self.absolute_expires_at,
            c: self.client.country.clone(),
            ua: None,
        };
        let size = |m: &IndexMeta| {
            serde_json::to_string(m)
                .map(|s| s.len())
                .unwrap_or(usize::MAX)
        };
        if let Some(ua) = &self.client.user_agent {
            // `,"ua":""` is 8 bytes; the rest is what the escaped text may take.
            let budget = MAX_METADATA_BYTES.saturating_sub(size(&meta).saturating_add(8));
            let mut used = 0;
            let cut: String = ua
                .chars()
                .take_while(|&c| {
                    used += json_escaped_len(c);
                    used <= budget
                })
                .collect();
            if !cut.is_empty() {
                meta.ua = Some(cut);
            }
            if size(&meta) > MAX_METADATA_BYTES {
                meta.ua = None;
            }
        }
        serde_json::to_value(&meta).unwrap_or(Value::Null)
    }
}

/// Bytes `c` takes inside a JSON string as serde_json writes it.
fn json_escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// What listings return: every field of a session but `meta`, plus
/// `current` in self-service listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: String,
    pub user_id: String,
    pub label: Option<String>,
    pub client: ClientInfo,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub absolute_expires_at: i64,
    /// `Some` in self-service listings, `None` (field left out) in admin ones.
    pub current: Option<bool>,
}

impl Summary {
    /// Reads the index metadata of session `id` of `user_id`; `None` when it
    /// is not valid index metadata.
    pub fn from_index_metadata(user_id: &str, id: &SessionId, metadata: &Value) -> Option<Summary> {
        let m = IndexMeta::deserialize(metadata).ok()?;
        if m.v != RECORD_VERSION {
            return None;
        }
        Some(Summary {
            id: id.as_str().to_owned(),
            user_id: user_id.to_owned(),
            label: m.l,
            client: ClientInfo {
                user_agent: m.ua,
                country: m.c,
            },
            created_at: m.ca,
            last_seen_at: m.ls,
            expires_at: m.ea,
            absolute_expires_at: m.aa,
            current: None,
        })
    }

    pub fn is_live(&self, now_ms: i64) -> bool {
        live_at(self.expires_at, self.absolute_expires_at, now_ms)
    }

    /// The contract's summary JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Summary", 9)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("userId", &self.user_id)?;
        s.serialize_field("label", &self.label)?;
        s.serialize_field("client", &self.client)?;
        s.serialize_field("createdAt", &rfc3339(self.created_at))?;
        s.serialize_field("lastSeenAt", &rfc3339(self.last_seen_at))?;
        s.serialize_field("expiresAt", &rfc3339(self.expires_at))?;
        s.serialize_field("absoluteExpiresAt", &rfc3339(self.absolute_expires_at))?;
        if let Some(current) = self.current {
            s.serialize_field("current", &current)?;
        } else {
            s.skip_field("current")?;
        }
        s.end()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredRecord {
    v: u32,
    id: String,
    user_id: String,
    label: Option<String>,
    meta: Map<String, Value>,
    client: ClientInfo,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    absolute_expires_at: i64,
    idle_ttl: u64,
    absolute_ttl: u64,
    secret_hash: String,
}

/// Compact summary kept in index-key metadata (see the module documentation).
#[derive(Serialize, Deserialize)]
struct IndexMeta {
    v: u32,
    l: Option<String>,
    ca: i64,
    ls: i64,
    ea: i64,
    aa: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ua: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use crate::token::Secret;
    use serde_json::json;

    pub(crate) fn sample(label: Option<&str>, ua: Option<&str>) -> Session {
        let random = SeededRandom::new(1);
        let id = SessionId::generate(&random).unwrap();
        let hash = Secret::generate(&random).unwrap().hash(&id);
        Session {
            id: id.as_str().to_owned(),
            user_id: "user-1".into(),
            label: label.map(str::to_owned),
            meta: json!({"roles": ["admin", 7], "n": 1})
                .as_object()
                .unwrap()
                .clone(),
            client: ClientInfo::new(ua, Some("fr")),
            created_at: 1_700_000_000_123,
            last_seen_at: 1_700_000_000_123,
            expires_at: 1_700_000_600_123,
            absolute_expires_at: 1_700_003_600_123,
            idle_ttl: 600,
            absolute_ttl: 3600,
            secret_hash: hash,
        }
    }

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
        assert!(validate_meta(exactly(4096)).is_ok());
        let e = validate_meta(exactly(4097)).unwrap_err();
        assert_eq!(e.field, "meta");
        assert!(e.reason.contains("4096"));
        for not_object in [json!([]), json!(null), json!("x"), json!(1), json!(true)] {
            assert_eq!(validate_meta(not_object).unwrap_err().field, "meta");
        }
        assert!(validate_meta(json!({})).is_ok());
        let nest = |levels: usize| {
            let mut v = json!({});
            for _ in 1..levels {
                v = json!({ "a": v });
            }
            v
        };
        assert!(validate_meta(nest(MAX_META_DEPTH)).is_ok());
        assert_eq!(
            validate_meta(nest(MAX_META_DEPTH + 1)).unwrap_err().field,
            "meta"
        );
        let mut arrays = json!([]);
        for _ in 0..MAX_META_DEPTH {
            arrays = json!([arrays]);
        }
        assert!(validate_meta(json!({ "a": arrays })).is_err());
    }

    #[test]
    fn ttl_bounds() {
        assert!(validate_ttls(60, 60).is_ok());
        assert!(validate_ttls(31_536_000, 31_536_000).is_ok());
        assert_eq!(validate_ttls(59, 600).unwrap_err().field, "idleTtl");
        assert_eq!(validate_ttls(60, 59).unwrap_err().field, "absoluteTtl");
        assert_eq!(
            validate_ttls(60, 31_536_001).unwrap_err().field,
            "absoluteTtl"
        );
        assert_eq!(
            validate_ttls(31_536_001, 31_536_001).unwrap_err().field,
            "idleTtl"
        );
        assert_eq!(validate_ttls(601, 600).unwrap_err().field, "idleTtl");
    }

    #[test]
    fn client_info_normalization() {
        let long = format!("{}é", "a".repeat(511));
        let c = ClientInfo::new(Some(&long), Some("fr"));
        assert_eq!(c.user_agent.as_deref(), Some("a".repeat(511).as_str()));
        assert_eq!(c.country.as_deref(), Some("FR"));
        let exact = "b".repeat(512);
        assert_eq!(ClientInfo::new(Some(&exact), None).user_agent, Some(exact));
        for bad in ["F", "FRA", "T1", "é", "", "F "] {
            assert_eq!(ClientInfo::new(None, Some(bad)).country, None, "{bad}");
        }
        assert_eq!(ClientInfo::new(Some(""), None).user_agent, None);
    }

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
    fn record_round_trip_and_refusals() {
        let s = sample(Some("x"), Some("ua"));
        let id = SessionId::parse(&s.id).unwrap();
        let json = s.to_record_json();
        let back = Session::from_record_json(&json, &id).unwrap();
        assert_eq!(back.to_json(), s.to_json());
        assert!(back.secret_hash.matches(&s.secret_hash));
        assert_eq!((back.idle_ttl, back.absolute_ttl), (600, 3600));
        let other = SessionId::generate(&SeededRandom::new(99)).unwrap();
        assert!(Session::from_record_json(&json, &other).is_none());
        assert!(Session::from_record_json(&json.replace("\"v\":1", "\"v\":2"), &id).is_none());
        assert!(Session::from_record_json("{", &id).is_none());
        assert!(Session::from_record_json("null", &id).is_none());
    }

    #[test]
    fn index_metadata_round_trips() {
        let s = sample(Some("phone"), Some("Mozilla/5.0"));
        let id = SessionId::parse(&s.id).unwrap();
        let meta = s.index_metadata();
        assert!(meta.get("userId").is_none() && meta.get("meta").is_none());
        let summary = Summary::from_index_metadata("user-1", &id, &meta).unwrap();
        assert_eq!(summary, s.summary(None));
        assert!(Summary::from_index_metadata("u", &id, &json!({"v": 1})).is_none());
        assert!(Summary::from_index_metadata("u", &id, &json!("x")).is_none());
    }

    #[test]
    fn index_metadata_fits_kv_in_the_worst_case() {
        // 128 control chars each escaped as \u00XX, a 512-byte user agent of
        // quotes (each escaped to 2 bytes), extreme timestamps.
        let label = "\u{1}".repeat(128);
        let ua = "\"".repeat(512);
        let mut s = sample(Some(&label), Some(&ua));
        s.created_at = i64::MIN;
        s.last_seen_at = i64::MIN;
        s.expires_at = i64::MIN;
        s.absolute_expires_at = i64::MIN;
        let meta = s.index_metadata();
        let size = serde_json::to_string(&meta).unwrap().len();
        assert!(size <= MAX_METADATA_BYTES, "{size}");
        assert!(
            size >= MAX_METADATA_BYTES - 1,
            "the budget is used fully: {size}"
        );
        let kept = meta["ua"].as_str().unwrap();
        assert!(!kept.is_empty() && ua.starts_with(kept));
        assert_eq!(meta["l"], label.as_str());

        // Other escape kinds and 4-byte chars: still fits, cut at a char boundary.
        for ua in [
            "\u{2}".repeat(100),
            "\u{10348}".repeat(128),
            "\n".repeat(512),
        ] {
            let s = sample(Some(&label), Some(&ua));
            let meta = s.index_metadata();
            assert!(serde_json::to_string(&meta).unwrap().len() <= MAX_METADATA_BYTES);
            assert!(ua.starts_with(meta["ua"].as_str().unwrap()));
        }

        // An ordinary user agent is kept whole.
        let s = sample(Some("laptop"), Some(&"a".repeat(512)));
        assert_eq!(s.index_metadata()["ua"].as_str().unwrap().len(), 512);
    }

    #[test]
    fn expiry_helpers() {
        let s = sample(None, None);
        assert!(s.is_live(s.expires_at - 1));
        assert!(!s.is_live(s.expires_at));
        assert_eq!(s.seconds_to_expiry(s.expires_at - 1500), 1);
        assert_eq!(s.seconds_to_expiry(s.expires_at + 5), 0);
        let g = EXPIRED_RECORD_GRACE_SECS;
        assert_eq!(s.kv_ttl_secs(s.expires_at - 600_000), 600 + g);
        assert_eq!(s.kv_ttl_secs(s.expires_at - 599_001), 600 + g);
        assert_eq!(s.kv_ttl_secs(s.expires_at - 599_000), 599 + g);
        assert_eq!(s.kv_ttl_secs(s.expires_at + 1_000), g);
        let mut capped = s.clone();
        capped.absolute_expires_at = capped.expires_at - 300_000;
        assert_eq!(capped.kv_ttl_secs(s.expires_at - 600_000), 300 + g);
        assert!(!capped.is_live(capped.absolute_expires_at));
    }

    #[test]
    fn roles() {
        let s = sample(None, None);
        assert!(s.has_role("admin"));
        assert!(!s.has_role("7") && !s.has_role("root"));
        let mut t = s.clone();
        t.meta.insert("roles".into(), json!("admin"));
        assert!(!t.has_role("admin"));
    }

    #[test]
    fn debug_hides_secret_hash() {
        let s = sample(None, None);
        assert!(!format!("{s:?}").contains(&s.secret_hash.to_text()));
    }
}
