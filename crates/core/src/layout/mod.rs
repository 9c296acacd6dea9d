//! What KV holds: the key names ([`KeyLayout`], here), the session record
//! stored under a session key ([`record`]), the summary kept in the metadata
//! of an index key ([`index`]), and how long KV keeps each key
//! ([`kv_ttl_secs`]). No other module builds or parses key names or reads
//! and writes these formats.
//!
//! With `p` the optional `KEY_PREFIX`:
//! - `{p}s:{id}`: the session record (JSON value), one per session;
//! - `{p}u:{user}:{id}`: the user index entry, one per (user, session), empty
//!   value, the session's summary in its metadata. `{user}` is the userId's
//!   UTF-8 bytes in base64url without padding, whose alphabet has no `:`, so
//!   `{p}u:{user}:` is a prefix of exactly one user's entries (user `a` never
//!   lists user `a:b`'s sessions) and an admin listing of `{p}u:` gets every
//!   user's entries with the userId decodable from the name;
//! - `{p}m:cleanup`: the cron cleanup's resume cursor.
//!
//! In `strong` mode a user's sessions are owned by the Durable Object named
//! `{p}o:{owner}` ([`KeyLayout::owner_name`], `{owner}` the user's
//! [`OwnerTag`]), which keeps them in its own tables and the `u:` entries of
//! KV up to date for the global listing (see [`crate::owner`]).
//!
//! `{id}` is the session id (43 chars). The longest key is the index key of
//! a 256-byte userId: 64 + 2 + 342 + 1 + 43 = 452 bytes, under KV's 512.
//!
//! Apps sharing a namespace should use prefixes where none is a prefix of
//! another's keys (e.g. `app1/` and `app2/`); keys this layout cannot parse
//! are skipped when listing.

pub mod index;
pub mod record;

use crate::session::{validate_user_id, Lifetime, ValidationError};
use crate::store::MIN_EXPIRATION_TTL;
use crate::token::{OwnerTag, SessionId};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Longest `KEY_PREFIX`, in bytes.
pub const MAX_PREFIX_BYTES: usize = 64;

/// Seconds a session's KV keys outlive its expiry, so that a token of an
/// expired session still finds its record and answers `session_expired`
/// rather than `invalid_token`. Expiry itself is always checked in code.
pub const EXPIRED_RECORD_GRACE_SECS: u64 = 86_400;
/// [`EXPIRED_RECORD_GRACE_SECS`] in ms.
pub const EXPIRED_RECORD_GRACE_MS: i64 = EXPIRED_RECORD_GRACE_SECS as i64 * 1000;

/// `expirationTtl` of a session's KV keys: whole seconds (rounded up) until
/// it stops being live, plus [`EXPIRED_RECORD_GRACE_SECS`]; at least KV's 60.
pub fn kv_ttl_secs(lifetime: &Lifetime, now_ms: i64) -> u64 {
    let ms = u64::try_from(lifetime.end().saturating_sub(now_ms)).unwrap_or(0);
    ms.div_ceil(1000)
        .saturating_add(EXPIRED_RECORD_GRACE_SECS)
        .max(MIN_EXPIRATION_TTL)
}

/// Until when (ms) a session is kept, expired or not: its end plus
/// [`EXPIRED_RECORD_GRACE_SECS`] (what [`kv_ttl_secs`] gives KV).
pub fn kept_until_ms(lifetime: &Lifetime) -> i64 {
    lifetime.end().saturating_add(EXPIRED_RECORD_GRACE_MS)
}

/// `expirationTtl` of a KV key to be gone at `until_ms`: whole seconds,
/// rounded up, at least KV's 60.
pub fn ttl_secs_until(until_ms: i64, now_ms: i64) -> u64 {
    let ms = u64::try_from(until_ms.saturating_sub(now_ms)).unwrap_or(0);
    ms.div_ceil(1000).max(MIN_EXPIRATION_TTL)
}

/// Builds and parses every KV key name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyLayout {
    prefix: String,
}

impl KeyLayout {
    /// Validates `KEY_PREFIX`: at most 64 visible ASCII characters (`!` to
    /// `~`, no space). The error is a reason suitable for a configuration
    /// message (it never repeats the prefix).
    pub fn new(prefix: &str) -> Result<Self, String> {
        if prefix.len() > MAX_PREFIX_BYTES || !prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "must be at most {MAX_PREFIX_BYTES} visible ASCII characters without spaces"
            ));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Key of the session record.
    pub fn session_key(&self, id: &SessionId) -> String {
        format!("{}s:{id}", self.prefix)
    }

    /// Key of the index entry of session `id` of `user_id`.
    pub fn index_key(&self, user_id: &str, id: &SessionId) -> String {
        format!("{}{id}", self.user_index_prefix(user_id))
    }

    /// List prefix of one user's index entries.
    pub fn user_index_prefix(&self, user_id: &str) -> String {
        format!("{}u:{}:", self.prefix, URL_SAFE_NO_PAD.encode(user_id))
    }

    /// List prefix of every user's index entries.
    pub fn all_index_prefix(&self) -> String {
        format!("{}u:", self.prefix)
    }

    /// The owner of `user_id`'s sessions (`strong` mode).
    pub fn owner(&self, user_id: &str) -> OwnerTag {
        OwnerTag::for_user(&self.prefix, user_id)
    }

    /// The name of the Durable Object that is `owner`.
    pub fn owner_name(&self, owner: OwnerTag) -> String {
        format!("{}o:{}", self.prefix, owner.to_text())
    }

    /// The owner a Durable Object name of this layout names.
    pub fn parse_owner_name(&self, name: &str) -> Option<OwnerTag> {
        OwnerTag::from_text(name.strip_prefix(&self.prefix)?.strip_prefix("o:")?)
    }

    /// The session id of a session key name of this layout.
    pub fn parse_session_key(&self, name: &str) -> Option<SessionId> {
        SessionId::parse(name.strip_prefix(&self.prefix)?.strip_prefix("s:")?)
    }

    /// Key holding the cleanup job's resume cursor.
    pub fn cleanup_cursor_key(&self) -> String {
        format!("{}m:cleanup", self.prefix)
    }

    /// The (userId, session id) of an index key name; `None` when the name
    /// is not a well-formed index key of this layout.
    pub fn parse_index_key(&self, name: &str) -> Option<(String, SessionId)> {
        let rest = name.strip_prefix(&self.prefix)?.strip_prefix("u:")?;
        let (user, id) = rest.split_once(':')?;
        let id = SessionId::parse(id)?;
        let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
        validate_user_id(&user).ok()?;
        Some((user, id))
    }

    /// Checks a userId and returns its list prefix.
    pub fn checked_user_index_prefix(&self, user_id: &str) -> Result<String, ValidationError> {
        validate_user_id(user_id)?;
        Ok(self.user_index_prefix(user_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MAX_KEY_BYTES;
    use crate::testing::SeededRandom;

    fn id(seed: u64) -> SessionId {
        SessionId::generate(
            crate::token::OwnerTag::for_user("", "u"),
            &SeededRandom::new(seed),
        )
        .unwrap()
    }

    #[test]
    fn prefix_rules() {
        assert!(KeyLayout::new("").is_ok());
        assert!(KeyLayout::new("app1/~!").is_ok());
        assert!(KeyLayout::new(&"p".repeat(64)).is_ok());
        assert!(KeyLayout::new(&"p".repeat(65)).unwrap_err().contains("64"));
        assert!(KeyLayout::new("a\nb").unwrap_err().contains("visible"));
        // The one rule of KEY_PREFIX, which the configuration applies too.
        assert!(KeyLayout::new("app 1")
            .unwrap_err()
            .contains("without spaces"));
        assert!(KeyLayout::new("a\u{7f}").is_err());
        assert!(KeyLayout::new("é").is_err());
    }

    #[test]
    fn kv_ttl_follows_the_end_plus_grace() {
        let t = Lifetime::starting(1_000_000, 600, 3600);
        let g = EXPIRED_RECORD_GRACE_SECS;
        assert_eq!(kv_ttl_secs(&t, 1_000_000), 600 + g);
        assert_eq!(kv_ttl_secs(&t, 1_000_999), 600 + g, "rounded up");
        assert_eq!(kv_ttl_secs(&t, 1_001_000), 599 + g);
        assert_eq!(
            kv_ttl_secs(&t, 1_000_000 + 601_000),
            g,
            "expired: the grace only"
        );
        let capped = Lifetime {
            absolute_expires_at: 1_300_000,
            ..t
        };
        assert_eq!(kv_ttl_secs(&capped, 1_000_000), 300 + g);
    }

    #[test]
    fn keys_round_trip_and_fit_kv() {
        let layout = KeyLayout::new(&"p".repeat(64)).unwrap();
        let sid = id(1);
        let longest_user = "\u{10348}".repeat(64);
        assert_eq!(longest_user.len(), 256);
        for user in ["a", "a:b", "a/b%2F", "ü:/%", longest_user.as_str(), "\0"] {
            let key = layout.index_key(user, &sid);
            assert!(key.len() <= MAX_KEY_BYTES, "{} bytes", key.len());
            assert!(key.starts_with(&layout.user_index_prefix(user)));
            assert!(key.starts_with(&layout.all_index_prefix()));
            assert_eq!(
                layout.parse_index_key(&key),
                Some((user.to_string(), sid.clone()))
            );
        }
        assert_eq!(layout.index_key(&longest_user, &sid).len(), 452);
        assert_eq!(
            layout.session_key(&sid),
            format!("{}s:{sid}", "p".repeat(64))
        );
    }

    #[test]
    fn no_user_prefix_covers_another_users_keys() {
        let layout = KeyLayout::default();
        let users = [
            "a", "a:b", "a:", "ab", "a/b", "a%3Ab", "b", "YQ", "a\u{0}", "é", "e\u{301}",
        ];
        for u in users {
            for v in users {
                if u != v {
                    let key = layout.index_key(v, &id(2));
                    assert!(
                        !key.starts_with(&layout.user_index_prefix(u)),
                        "{u:?} covers {v:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn foreign_names_do_not_parse() {
        let layout = KeyLayout::new("app/").unwrap();
        let sid = id(3);
        for name in [
            layout.session_key(&sid),
            layout.cleanup_cursor_key(),
            format!("app/u:YQ:{}x", sid),
            format!("app/u:Y!:{sid}"),
            format!("app/u::{sid}"),
            format!("other/u:YQ:{sid}"),
            format!("app/u:{}:{sid}", URL_SAFE_NO_PAD.encode([0xff, 0xfe])),
            format!("app/u:{}:{sid}", URL_SAFE_NO_PAD.encode("x".repeat(257))),
        ] {
            assert_eq!(layout.parse_index_key(&name), None, "{name}");
        }
        assert!(layout.parse_index_key(&format!("app/u:YQ:{sid}")).is_some());
    }
}
