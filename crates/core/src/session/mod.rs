//! The session: what one is, when it lives, and what may be written to it.
//!
//! - [`Session`]: one session, with its [`Lifetime`] (the four timestamps,
//!   declared once) and its [`ClientInfo`];
//! - [`Summary`]: what listings show of a session (all but `meta`);
//! - [`limits`]: the bounds of each field and their checks;
//! - [`Meta`]: `meta`, held as the compact JSON text it is stored as;
//! - [`NewSession`]: the input of a new session, parsed from the admin API's
//!   body and the origin's `X-Session-Issue` alike;
//! - [`json`]: the contract's JSON of both.
//!
//! How KV stores sessions is [`crate::layout`]'s business. Times are
//! milliseconds since the Unix epoch.

pub mod json;
pub mod limits;
mod meta;
mod new;

pub use limits::{
    check_meta_map, validate_label, validate_user_id, ValidationError, MAX_LABEL_CHARS,
    MAX_META_BYTES, MAX_META_DEPTH, MAX_USER_AGENT_BYTES, MAX_USER_ID_BYTES,
};
pub use meta::Meta;
pub use new::{NewSession, NEW_SESSION_FIELDS};

use serde::{Deserialize, Serialize};

use crate::policy::{check_ttls, TTL_FIELDS};
use crate::text::truncate_bytes;
use crate::token::{SecretHash, SessionId};

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

/// When a session was created, last seen, and when it ends. `T` is the
/// representation of a time: milliseconds since the epoch (`i64`) in Rust
/// and in KV, RFC 3339 text in the contract JSON ([`json::Rfc3339`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifetime<T = i64> {
    pub created_at: T,
    /// When the user last proved who they are: the creation (admin API or
    /// handoff). Sliding, refresh and patches never move it.
    pub authenticated_at: T,
    /// Last creation, refresh or sliding write (not every request: that
    /// would cost a write per request).
    pub last_seen_at: T,
    /// Idle expiry; moved by refresh and sliding.
    pub expires_at: T,
    /// Hard cap; never moves.
    pub absolute_expires_at: T,
}

impl<T> Lifetime<T> {
    /// The same times in another representation.
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Lifetime<U> {
        Lifetime {
            created_at: f(self.created_at),
            authenticated_at: f(self.authenticated_at),
            last_seen_at: f(self.last_seen_at),
            expires_at: f(self.expires_at),
            absolute_expires_at: f(self.absolute_expires_at),
        }
    }
}

impl Lifetime {
    /// A lifetime starting at `now` with these TTLs (seconds).
    pub fn starting(now: i64, idle_ttl: u64, absolute_ttl: u64) -> Self {
        Self {
            created_at: now,
            authenticated_at: now,
            last_seen_at: now,
            expires_at: add_secs(now, idle_ttl),
            absolute_expires_at: add_secs(now, absolute_ttl),
        }
    }

    /// The end: the earlier of the two expiries.
    pub fn end(&self) -> i64 {
        self.expires_at.min(self.absolute_expires_at)
    }

    /// Live: before both `expiresAt` and `absoluteExpiresAt`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        now_ms < self.end()
    }

    /// Whole seconds until the end (0 when it has passed): a cookie's `Max-Age`.
    pub fn seconds_to_expiry(&self, now_ms: i64) -> u64 {
        u64::try_from(self.end().saturating_sub(now_ms).max(0) / 1000).unwrap_or(0)
    }

    /// Seen at `now`, `expiresAt` moved to `now + idle_ttl` but never past
    /// `absoluteExpiresAt` (refresh and sliding); `authenticatedAt` never moves.
    pub fn slid(&self, now: i64, idle_ttl: u64) -> Self {
        Self {
            last_seen_at: now,
            expires_at: add_secs(now, idle_ttl).min(self.absolute_expires_at),
            ..*self
        }
    }
}

/// Adds `secs` seconds to a millisecond timestamp without overflowing.
pub(crate) fn add_secs(ms: i64, secs: u64) -> i64 {
    ms.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000))
}

/// One session. Built only by the service; fields are public for reading.
#[derive(Debug, Clone)]
pub struct Session {
    /// Public id, never the token.
    pub id: SessionId,
    pub user_id: String,
    pub label: Option<String>,
    pub meta: Meta,
    pub client: ClientInfo,
    pub lifetime: Lifetime,
    /// Seconds.
    pub idle_ttl: u64,
    /// Seconds.
    pub absolute_ttl: u64,
    pub(crate) secret_hash: SecretHash,
}

impl Session {
    /// Live: before both `expiresAt` and `absoluteExpiresAt`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.lifetime.is_live(now_ms)
    }

    /// Whole seconds until the session stops being live: the cookie's `Max-Age`.
    pub fn seconds_to_expiry(&self, now_ms: i64) -> u64 {
        self.lifetime.seconds_to_expiry(now_ms)
    }

    /// True when `meta.roles` is an array holding the string `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.meta.has_role(role)
    }

    /// This session's summary; `current` is set in self-service listings.
    pub fn summary(&self, current: Option<bool>) -> Summary {
        Summary {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            label: self.label.clone(),
            client: self.client.clone(),
            lifetime: self.lifetime,
            current,
        }
    }

    /// Re-checks the rules a stored session must satisfy.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_user_id(&self.user_id)?;
        validate_label(self.label.as_deref())?;
        self.meta.check()?;
        check_ttls(self.idle_ttl, self.absolute_ttl, TTL_FIELDS)
    }

    /// Whether `other` is this very session (same id and secret), as read
    /// again from the store.
    pub(crate) fn is_same_as(&self, other: &Session) -> bool {
        self.id == other.id
            && self.user_id == other.user_id
            && self.secret_hash.matches(&other.secret_hash)
    }
}

/// What listings return: every field of a session but `meta`, plus
/// `current` in self-service listings. Its serde form (camelCase, times in
/// ms) is what an owner sends back in `strong` mode, not the contract JSON
/// (see [`json`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub id: SessionId,
    pub user_id: String,
    pub label: Option<String>,
    pub client: ClientInfo,
    pub lifetime: Lifetime,
    /// `Some` in self-service listings, `None` (field left out) in admin ones.
    pub current: Option<bool>,
}

impl Summary {
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.lifetime.is_live(now_ms)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::SeededRandom;
    use crate::token::Secret;
    use serde_json::json;

    pub(crate) fn sample(label: Option<&str>, ua: Option<&str>) -> Session {
        let random = SeededRandom::new(1);
        let id =
            SessionId::generate(crate::token::OwnerTag::for_user("", "user-1"), &random).unwrap();
        let hash = Secret::generate(&random).unwrap().hash(&id);
        Session {
            id,
            user_id: "user-1".into(),
            label: label.map(str::to_owned),
            meta: Meta::from_value(json!({"roles": ["admin", 7], "n": 1})).unwrap(),
            client: ClientInfo::new(ua, Some("fr")),
            lifetime: Lifetime {
                created_at: 1_700_000_000_123,
                authenticated_at: 1_700_000_000_123,
                last_seen_at: 1_700_000_000_123,
                expires_at: 1_700_000_600_123,
                absolute_expires_at: 1_700_003_600_123,
            },
            idle_ttl: 600,
            absolute_ttl: 3600,
            secret_hash: hash,
        }
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
    fn expiry_helpers() {
        let s = sample(None, None);
        let t = s.lifetime;
        assert!(s.is_live(t.expires_at - 1));
        assert!(!s.is_live(t.expires_at));
        assert_eq!(s.seconds_to_expiry(t.expires_at - 1500), 1);
        assert_eq!(s.seconds_to_expiry(t.expires_at + 5), 0);
        let mut capped = s.clone();
        capped.lifetime.absolute_expires_at = t.expires_at - 300_000;
        assert!(!capped.is_live(capped.lifetime.absolute_expires_at));
        let later = t.slid(t.created_at + 1000, 600);
        assert_eq!(later.expires_at, t.created_at + 601_000);
        assert_eq!(later.last_seen_at, t.created_at + 1000);
        assert_eq!(
            capped.lifetime.slid(t.expires_at, 600).expires_at,
            capped.lifetime.absolute_expires_at
        );
    }

    #[test]
    fn roles() {
        let s = sample(None, None);
        assert!(s.has_role("admin"));
        assert!(!s.has_role("7") && !s.has_role("root"));
        let mut t = s.clone();
        t.meta = Meta::from_value(json!({"roles": "admin"})).unwrap();
        assert!(!t.has_role("admin"));
    }

    #[test]
    fn debug_hides_secret_hash() {
        let s = sample(None, None);
        assert!(!format!("{s:?}").contains(&s.secret_hash.to_text()));
    }
}
