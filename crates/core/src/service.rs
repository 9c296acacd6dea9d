//! Session operations over a [`KvStore`]: create, verify, read, patch,
//! refresh and slide, destroy, list, and the cron cleanup.
//!
//! KV costs, which the contract fixes and the tests count:
//! - `create`: 2 writes (session key first, then index key), no read;
//! - `verify`: 0 calls for a malformed, forged or unknown-key token, else exactly 1 read;
//! - `touch_due` is pure; `save` (the sliding write), `refresh`, `update_session`: 2 writes;
//! - `list_user`: one list call per 1000 sessions, no reads; `list_all`: one list call;
//! - `destroy_session`: 2 deletes; `destroy`/`destroy_owned`: 1 read + 2 deletes;
//! - `destroy_user`: list calls + 2 deletes per session, no reads.
//!
//! No operation read-modify-writes a key shared by several sessions: each
//! session has its own record key and its own index key (see [`crate::keys`]).
//!
//! Writes of an existing session and revocations (see [`crate::ledger`]):
//! - the sliding write ([`SessionService::claim_slide`], then
//!   [`SessionService::slide`] after the response) is claimed by one request
//!   per session and isolate, and reads the record again right before writing:
//!   it extends the record as it stands then (a change made meanwhile is kept)
//!   and is skipped when the session is gone, expired or already extended;
//! - every write of an existing session is refused when this isolate revoked
//!   it meanwhile.
//!
//! What KV (no compare-and-swap, eventually consistent) still allows: a
//! revocation made in *another* isolate or location between a write's read
//! and its put (one KV round trip for the sliding write, refresh and label
//! change) is undone by that put; in another location, for as long as KV
//! shows it the old record (up to about 60 s). The `strong` mode has neither.

use crate::clock::Clock;
use crate::keys::KeyLayout;
use crate::ledger::Ledger;
use crate::random::{Random, RandomError};
use crate::session::{
    add_secs, validate_label, validate_meta, validate_ttls, validate_user_id, ClientInfo, Session,
    Summary, ValidationError, MAX_TTL, MIN_TTL,
};
use crate::store::{KvStore, ListOptions, ListPage, PutOptions, StoreError, MAX_LIST_LIMIT};
use crate::text::quote;
use crate::token::{KeyRing, Secret, SessionId, Token};
use serde_json::{Map, Value};
use std::rc::Rc;

/// Default idle TTL, seconds (7 days).
pub const DEFAULT_IDLE_TTL: u64 = 604_800;
/// Default absolute TTL, seconds (30 days).
pub const DEFAULT_ABSOLUTE_TTL: u64 = 2_592_000;
/// Longest listing cursor accepted from a client.
pub const MAX_CURSOR_LEN: usize = 1024;
/// Index entries younger than this are never removed by cleanup: their
/// session key may not be visible yet at the cron's location (KV is
/// eventually consistent between locations).
pub const CLEANUP_GRACE_MS: i64 = 10 * 60 * 1000;
/// `expirationTtl` of the cleanup cursor: a stale cursor is dropped.
pub const CLEANUP_CURSOR_TTL: u64 = 86_400;

/// Why an operation failed. Never carries token material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// Malformed or forged token, unknown key id, session gone or revoked,
    /// or secret mismatch (401 `invalid_token`).
    InvalidToken,
    /// Past `expiresAt` or `absoluteExpiresAt` (401 `session_expired`).
    Expired,
    /// No live session with that id (404).
    NotFound,
    /// An input broke a rule; `field` is the contract's field name (400).
    Invalid { field: &'static str, reason: String },
    /// The caller may not write `field` (403 `forbidden`): a session's holder
    /// never writes its `meta`.
    Forbidden { field: &'static str },
    /// The store failed or refused the call (503 `store_unavailable`).
    /// An unreadable stored record also lands here (as `Rejected`).
    Store(StoreError),
    /// The CSPRNG failed.
    Random,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::InvalidToken => f.write_str("invalid token"),
            SessionError::Expired => f.write_str("session expired"),
            SessionError::NotFound => f.write_str("session not found"),
            SessionError::Invalid { field, reason } => write!(f, "{field}: {reason}"),
            SessionError::Forbidden { field } => write!(f, "{field}: may not be written here"),
            SessionError::Store(e) => e.fmt(f),
            SessionError::Random => f.write_str("random source unavailable"),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        SessionError::Store(e)
    }
}

impl From<ValidationError> for SessionError {
    fn from(e: ValidationError) -> Self {
        SessionError::Invalid {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl From<RandomError> for SessionError {
    fn from(_: RandomError) -> Self {
        SessionError::Random
    }
}

fn unreadable() -> SessionError {
    SessionError::Store(StoreError::Rejected("unreadable session record".into()))
}

/// Default TTLs of sessions created without explicit ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Seconds (`SESSION_IDLE_TTL`).
    pub idle_ttl: u64,
    /// Seconds (`SESSION_ABSOLUTE_TTL`).
    pub absolute_ttl: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            idle_ttl: DEFAULT_IDLE_TTL,
            absolute_ttl: DEFAULT_ABSOLUTE_TTL,
        }
    }
}

impl Policy {
    /// Checks 60 <= idle <= absolute <= 31536000; the error names the variable
    /// (`SESSION_IDLE_TTL` or `SESSION_ABSOLUTE_TTL`).
    pub fn new(idle_ttl: u64, absolute_ttl: u64) -> Result<Self, ValidationError> {
        validate_ttls(idle_ttl, absolute_ttl).map_err(|e| ValidationError {
            field: if e.field == "idleTtl" {
                "SESSION_IDLE_TTL"
            } else {
                "SESSION_ABSOLUTE_TTL"
            },
            reason: e.reason.replace("absoluteTtl", "SESSION_ABSOLUTE_TTL"),
        })?;
        Ok(Self {
            idle_ttl,
            absolute_ttl,
        })
    }
}

/// What `create` needs. `meta` is any JSON (checked to be an object; `None`
/// is `{}`). A missing TTL takes the policy's default, adjusted to keep
/// idle <= absolute: a missing idle TTL is at most the given absolute one, a
/// missing absolute TTL at least the given idle one.
#[derive(Debug, Clone, Default)]
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
}

/// What one cleanup run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CleanupReport {
    /// Index entries looked at.
    pub scanned: usize,
    /// Index entries removed (session gone, expired, or unreadable).
    pub removed: usize,
    /// Session keys read to decide.
    pub reads: usize,
    /// True when this run reached the end of the index: the next run starts over.
    pub done: bool,
}

/// Who writes a merge patch: what a patch may touch follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The session's own holder (self-service): `label` only. `meta` holds
    /// the roles and claims the origin trusts, so a patch naming it is
    /// refused ([`SessionError::Forbidden`]).
    Holder,
    /// The admin API: `label` and `meta`.
    Admin,
}

/// What [`SessionService::slide`] did.
#[derive(Debug, Clone)]
pub enum Slide {
    /// Written: the record as it stood, with `expiresAt` and `lastSeenAt` moved.
    Written(Box<Session>),
    /// Nothing written: the session is gone, revoked, expired, or already
    /// extended at least as far.
    Skipped,
}

/// The session engine. See the module documentation for KV costs.
pub struct SessionService<S, C, R> {
    store: S,
    clock: C,
    random: R,
    key_ring: KeyRing,
    layout: KeyLayout,
    policy: Policy,
    ledger: Rc<Ledger>,
}

impl<S: KvStore, C: Clock, R: Random> SessionService<S, C, R> {
    /// A service with the default [`Policy`]; see [`SessionService::with_policy`].
    pub fn new(store: S, clock: C, random: R, key_ring: KeyRing, layout: KeyLayout) -> Self {
        Self {
            store,
            clock,
            random,
            key_ring,
            layout,
            policy: Policy::default(),
            ledger: Rc::default(),
        }
    }

    /// Shares the isolate's [`Ledger`] (one per isolate; each service
    /// otherwise has its own, which remembers nothing across requests).
    pub fn with_ledger(mut self, ledger: Rc<Ledger>) -> Self {
        self.ledger = ledger;
        self
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Replaces the default TTLs.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    pub fn key_ring(&self) -> &KeyRing {
        &self.key_ring
    }

    pub fn layout(&self) -> &KeyLayout {
        &self.layout
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Creates a session: 2 writes, no read. Returns its token (shown once)
    /// and the session.
    pub async fn create(&self, new: NewSession) -> Result<(Token, Session), SessionError> {
        validate_user_id(&new.user_id)?;
        validate_label(new.label.as_deref())?;
        let meta = validate_meta(new.meta.unwrap_or_else(|| Value::Object(Map::new())))?;
        let in_range = |v: u64| (MIN_TTL..=MAX_TTL).contains(&v);
        let range = format!("must be between {MIN_TTL} and {MAX_TTL} seconds");
        if new.idle_ttl.is_some_and(|v| !in_range(v)) {
            return Err(ValidationError::new("idleTtl", range).into());
        }
        if new.absolute_ttl.is_some_and(|v| !in_range(v)) {
            return Err(ValidationError::new("absoluteTtl", range).into());
        }
        let (idle_ttl, absolute_ttl) = match (new.idle_ttl, new.absolute_ttl) {
            (Some(idle), Some(absolute)) => (idle, absolute),
            (Some(idle), None) => (idle, self.policy.absolute_ttl.max(idle)),
            (None, Some(absolute)) => (self.policy.idle_ttl.min(absolute), absolute),
            (None, None) => (self.policy.idle_ttl, self.policy.absolute_ttl),
        };
        validate_ttls(idle_ttl, absolute_ttl)?;

        let id = SessionId::generate(&self.random)?;
        let secret = Secret::generate(&self.random)?;
        let token = self.key_ring.issue(&id, &secret);
        let now = self.clock.now_ms();
        let mut session = Session {
            id: id.as_str().to_owned(),
            user_id: new.user_id,
            label: new.label,
            meta,
            client: new.client,
            created_at: now,
            last_seen_at: now,
            expires_at: add_secs(now, idle_ttl),
            absolute_expires_at: add_secs(now, absolute_ttl),
            idle_ttl,
            absolute_ttl,
            secret_hash: secret.hash(&id),
        };
        session.fit_user_agent_to_summary();
        self.write(&session, &id, now).await?;
        Ok((token, session))
    }

    /// Verifies a presented token: no store call unless its shape and tag
    /// verify, then exactly one read. The stored secret hash is compared in
    /// constant time before expiry is looked at.
    pub async fn verify(&self, token: &str) -> Result<Session, SessionError> {
        let presented = self
            .key_ring
            .verify_token(token)
            .map_err(|_| SessionError::InvalidToken)?;
        let entry = self
            .store
            .get(&self.layout.session_key(&presented.id))
            .await?
            .ok_or(SessionError::InvalidToken)?;
        let session =
            Session::from_record_json(&entry.value, &presented.id).ok_or_else(unreadable)?;
        if !session
            .secret_hash
            .matches(&presented.secret.hash(&presented.id))
        {
            return Err(SessionError::InvalidToken);
        }
        if !session.is_live(self.clock.now_ms()) {
            return Err(SessionError::Expired);
        }
        Ok(session)
    }

    /// Reads a session record, expired or not: `None` when absent or the id is malformed.
    async fn read(&self, id: &str) -> Result<Option<(SessionId, Session)>, SessionError> {
        let Some(id) = SessionId::parse(id) else {
            return Ok(None);
        };
        let Some(entry) = self.store.get(&self.layout.session_key(&id)).await? else {
            return Ok(None);
        };
        let session = Session::from_record_json(&entry.value, &id).ok_or_else(unreadable)?;
        Ok(Some((id, session)))
    }

    /// The live session `id` (1 read; none for a malformed id), else `NotFound`.
    pub async fn get(&self, id: &str) -> Result<Session, SessionError> {
        match self.read(id).await? {
            Some((_, session)) if session.is_live(self.clock.now_ms()) => Ok(session),
            _ => Err(SessionError::NotFound),
        }
    }

    /// Applies an admin merge patch to the live session `id` (1 read + 2
    /// writes). See [`SessionService::update_session`].
    pub async fn update(&self, id: &str, patch: &Value) -> Result<Session, SessionError> {
        let session = self.get(id).await?;
        self.update_session(&session, patch, Writer::Admin).await
    }

    /// Applies an RFC 7396 merge patch to `{label, meta}` of a session already
    /// read (e.g. by `verify`), validates the result and writes it (2 writes,
    /// expirations unchanged). The patch must be an object with no keys but
    /// `label` and `meta` (field `body` otherwise); a [`Writer::Holder`] patch
    /// naming `meta` is [`SessionError::Forbidden`]. `label: null` clears the
    /// label, `meta: {"a": null}` deletes `a`, `meta: null` empties meta.
    pub async fn update_session(
        &self,
        session: &Session,
        patch: &Value,
        writer: Writer,
    ) -> Result<Session, SessionError> {
        let mut updated = apply_patch(session, patch, writer)?;
        updated.fit_user_agent_to_summary();
        self.save(&updated).await?;
        Ok(updated)
    }

    /// Moves `expiresAt` to now + idle TTL (never past `absoluteExpiresAt`)
    /// and `lastSeenAt` to now, and writes it (2 writes).
    pub async fn refresh(&self, session: &Session) -> Result<Session, SessionError> {
        let now = self.clock.now_ms();
        if !session.is_live(now) {
            return Err(SessionError::Expired);
        }
        let refreshed = slid(session, now);
        self.save(&refreshed).await?;
        Ok(refreshed)
    }

    /// Sliding expiration, pure: `Some(session to save)` when less than half
    /// the idle TTL is left and sliding would move `expiresAt` (so at most one
    /// write per half idle TTL, none once capped by `absoluteExpiresAt`).
    pub fn touch_due(&self, session: &Session) -> Option<Session> {
        let now = self.clock.now_ms();
        if !session.is_live(now) {
            return None;
        }
        let half_idle_ms = i64::try_from(session.idle_ttl)
            .unwrap_or(i64::MAX)
            .saturating_mul(500);
        if session.expires_at.saturating_sub(now) >= half_idle_ms {
            return None;
        }
        let next = slid(session, now);
        (next.expires_at > session.expires_at).then_some(next)
    }

    /// The sliding write of `session` (just verified), when it is due and no
    /// other request of this isolate has claimed it within the last half
    /// idle TTL: `Some(session with expiresAt moved)`, to hand to
    /// [`SessionService::slide`] after the response. Touches no store.
    pub fn claim_slide(&self, session: &Session) -> Option<Session> {
        let next = self.touch_due(session)?;
        let id = SessionId::parse(&session.id)?;
        let now = self.clock.now_ms();
        let half_idle_ms = i64::try_from(session.idle_ttl)
            .unwrap_or(i64::MAX)
            .saturating_mul(500);
        self.ledger
            .claim_slide(&id, now, now.saturating_add(half_idle_ms))
            .then_some(next)
    }

    /// The sliding write claimed by [`SessionService::claim_slide`]: reads the
    /// record again (1 read) and, unless it is gone, replaced, expired,
    /// revoked by this isolate or already extended as far, writes it as it
    /// stands with `expiresAt` and `lastSeenAt` moved (2 writes). A change
    /// made meanwhile (a label, an admin's `meta` patch) is kept. A failed
    /// write gives the claim back.
    pub async fn slide(&self, claimed: &Session) -> Result<Slide, SessionError> {
        let id = SessionId::parse(&claimed.id).ok_or(SessionError::NotFound)?;
        let result = self.slide_current(&id, claimed).await;
        if result.is_err() {
            self.ledger.release_slide(&id);
        }
        result
    }

    async fn slide_current(
        &self,
        id: &SessionId,
        claimed: &Session,
    ) -> Result<Slide, SessionError> {
        let Some(entry) = self.store.get(&self.layout.session_key(id)).await? else {
            return Ok(Slide::Skipped);
        };
        let Some(current) = Session::from_record_json(&entry.value, id) else {
            return Ok(Slide::Skipped);
        };
        let now = self.clock.now_ms();
        if !current.secret_hash.matches(&claimed.secret_hash)
            || current.user_id != claimed.user_id
            || !current.is_live(now)
        {
            return Ok(Slide::Skipped);
        }
        let next = slid(&current, now);
        if next.expires_at <= current.expires_at {
            return Ok(Slide::Skipped);
        }
        match self.save(&next).await {
            Ok(()) => Ok(Slide::Written(Box::new(next))),
            Err(SessionError::NotFound) => Ok(Slide::Skipped),
            Err(e) => Err(e),
        }
    }

    /// Writes a session (session key, then index key), each with the KV TTL
    /// following the session: 2 writes. `Expired` when it is no longer live;
    /// `NotFound`, and nothing written, when this isolate revoked it (see
    /// [`crate::ledger`]).
    pub async fn save(&self, session: &Session) -> Result<(), SessionError> {
        let now = self.clock.now_ms();
        if !session.is_live(now) {
            return Err(SessionError::Expired);
        }
        session.validate()?;
        let id = SessionId::parse(&session.id).ok_or(SessionError::NotFound)?;
        if self.ledger.was_revoked(&id, now) {
            return Err(SessionError::NotFound);
        }
        self.write(session, &id, now).await
    }

    async fn write(&self, session: &Session, id: &SessionId, now: i64) -> Result<(), SessionError> {
        let ttl = Some(session.kv_ttl_secs(now));
        // Session key first, index key last: every session write ends with
        // its index entry, so a "revoke all" listing that ran in between
        // cannot leave a working session out of the index. If the index write
        // fails, `create` returns an error and its token is never handed out.
        self.store
            .put(
                &self.layout.session_key(id),
                &session.to_record_json(),
                PutOptions {
                    expiration_ttl: ttl,
                    metadata: None,
                },
            )
            .await?;
        self.store
            .put(
                &self.layout.index_key(&session.user_id, id),
                "",
                PutOptions {
                    expiration_ttl: ttl,
                    metadata: Some(session.index_metadata()),
                },
            )
            .await?;
        Ok(())
    }

    /// Deletes both keys of a session already read (logout): 2 deletes.
    pub async fn destroy_session(&self, session: &Session) -> Result<(), SessionError> {
        let id = SessionId::parse(&session.id).ok_or(SessionError::NotFound)?;
        self.delete_keys(&session.user_id, &id).await
    }

    async fn delete_keys(&self, user_id: &str, id: &SessionId) -> Result<(), SessionError> {
        // Remembered before the first await: a write of this session already
        // in flight in this isolate checks the ledger right before its put.
        self.ledger.note_revoked(id, self.clock.now_ms());
        // Session key first: the session stops working even if the second call fails.
        self.store.delete(&self.layout.session_key(id)).await?;
        self.store
            .delete(&self.layout.index_key(user_id, id))
            .await?;
        Ok(())
    }

    /// Destroys session `id` (1 read + 2 deletes). True when it was live.
    pub async fn destroy(&self, id: &str) -> Result<bool, SessionError> {
        self.destroy_matching(id, None).await
    }

    /// Destroys session `id` only if it belongs to `user_id` (self-service):
    /// false, and nothing deleted, when it is another user's or not there.
    pub async fn destroy_owned(&self, user_id: &str, id: &str) -> Result<bool, SessionError> {
        self.destroy_matching(id, Some(user_id)).await
    }

    async fn destroy_matching(&self, id: &str, owner: Option<&str>) -> Result<bool, SessionError> {
        let Some(sid) = SessionId::parse(id) else {
            return Ok(false);
        };
        let key = self.layout.session_key(&sid);
        let Some(entry) = self.store.get(&key).await? else {
            return Ok(false);
        };
        let Some(session) = Session::from_record_json(&entry.value, &sid) else {
            // Unreadable: its owner is unknown, so only an admin destroy
            // removes it (cleanup removes its index entry, if any).
            if owner.is_none() {
                self.store.delete(&key).await?;
            }
            return Ok(false);
        };
        if owner.is_some_and(|owner| owner != session.user_id) {
            return Ok(false);
        }
        let live = session.is_live(self.clock.now_ms());
        self.delete_keys(&session.user_id, &sid).await?;
        Ok(live)
    }

    /// Lists every index entry of one user (all pages).
    async fn user_entries(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionId, Option<Summary>)>, SessionError> {
        let prefix = self.layout.checked_user_index_prefix(user_id)?;
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let ListPage { keys, cursor: next } = self
                .store
                .list(ListOptions {
                    prefix: prefix.clone(),
                    limit: MAX_LIST_LIMIT,
                    cursor,
                })
                .await?;
            for key in keys {
                let Some((owner, id)) = self.layout.parse_index_key(&key.name) else {
                    continue;
                };
                if owner != user_id {
                    continue;
                }
                let summary = key
                    .metadata
                    .as_ref()
                    .and_then(|m| Summary::from_index_metadata(user_id, &id, m));
                entries.push((id, summary));
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    /// Destroys every session of `user_id` but `except` (a session id): list
    /// calls + 2 deletes per session, no reads. Returns how many were still live.
    pub async fn destroy_user(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<usize, SessionError> {
        let entries = self.user_entries(user_id).await?;
        let now = self.clock.now_ms();
        let mut revoked = 0;
        for (id, summary) in entries {
            if except == Some(id.as_str()) {
                continue;
            }
            self.delete_keys(user_id, &id).await?;
            if summary.is_some_and(|s| s.is_live(now)) {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// Summaries of the live sessions of `user_id`, oldest first: one list
    /// call per 1000 sessions, no reads. With `current = Some(id)`, each
    /// summary says whether it is that session; with `None` it says nothing.
    pub async fn list_user(
        &self,
        user_id: &str,
        current: Option<&str>,
    ) -> Result<Vec<Summary>, SessionError> {
        let now = self.clock.now_ms();
        let mut summaries: Vec<Summary> = self
            .user_entries(user_id)
            .await?
            .into_iter()
            .filter_map(|(_, summary)| summary)
            .filter(|s| s.is_live(now))
            .map(|mut s| {
                s.current = current.map(|c| c == s.id);
                s
            })
            .collect();
        summaries.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(summaries)
    }

    /// One page of every user's live sessions (admin): one list call. A page
    /// may hold fewer than `limit` summaries (expired ones are left out) and
    /// still have a next cursor. `limit` is 1..=1000 (field `limit`); a cursor
    /// that is not one of this listing's is refused (field `cursor`).
    pub async fn list_all(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<Summary>, Option<String>), SessionError> {
        if !(1..=MAX_LIST_LIMIT).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_LIST_LIMIT}"),
            )
            .into());
        }
        let bad_cursor = || ValidationError::new("cursor", "is not a cursor of this listing");
        if cursor.is_some_and(|c| c.is_empty() || c.len() > MAX_CURSOR_LEN) {
            return Err(bad_cursor().into());
        }
        let options = ListOptions {
            prefix: self.layout.all_index_prefix(),
            limit,
            cursor: cursor.map(str::to_owned),
        };
        let page = match self.store.list(options).await {
            Ok(page) => page,
            Err(StoreError::Rejected(_)) if cursor.is_some() => return Err(bad_cursor().into()),
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now_ms();
        let summaries = page
            .keys
            .iter()
            .filter_map(|key| {
                let (user_id, id) = self.layout.parse_index_key(&key.name)?;
                Summary::from_index_metadata(&user_id, &id, key.metadata.as_ref()?)
            })
            .filter(|s| s.is_live(now))
            .collect();
        Ok((summaries, page.cursor))
    }

    /// One bounded step of the cron cleanup: reads its cursor, lists at most
    /// `budget` (1..=1000) index entries from there, and removes those whose
    /// session is gone. Entries whose metadata says expired are removed
    /// without a read; others get one read of their session key (so at most
    /// `budget` reads); entries younger than [`CLEANUP_GRACE_MS`] are kept.
    /// The next cursor is stored under the layout's cleanup key, so that
    /// successive runs cover the whole index and then start over.
    pub async fn cleanup(&self, budget: usize) -> Result<CleanupReport, SessionError> {
        let limit = budget.clamp(1, MAX_LIST_LIMIT);
        let cursor_key = self.layout.cleanup_cursor_key();
        let cursor = self
            .store
            .get(&cursor_key)
            .await?
            .map(|e| e.value)
            .filter(|c| !c.is_empty());
        let prefix = self.layout.all_index_prefix();
        let list = |cursor| ListOptions {
            prefix: prefix.clone(),
            limit,
            cursor,
        };
        let page = match self.store.list(list(cursor.clone())).await {
            Ok(page) => page,
            // A stale or foreign cursor: start over.
            Err(StoreError::Rejected(_)) if cursor.is_some() => self.store.list(list(None)).await?,
            Err(e) => return Err(e.into()),
        };

        let now = self.clock.now_ms();
        let mut report = CleanupReport::default();
        for key in &page.keys {
            let Some((user_id, id)) = self.layout.parse_index_key(&key.name) else {
                continue;
            };
            report.scanned += 1;
            let summary = key
                .metadata
                .as_ref()
                .and_then(|m| Summary::from_index_metadata(&user_id, &id, m));
            let remove = match summary {
                Some(s) if !s.is_live(now) => true,
                Some(s) if s.created_at > now.saturating_sub(CLEANUP_GRACE_MS) => false,
                _ => {
                    report.reads += 1;
                    match self.store.get(&self.layout.session_key(&id)).await? {
                        None => true,
                        Some(entry) => match Session::from_record_json(&entry.value, &id) {
                            Some(s) => s.user_id != user_id || !s.is_live(now),
                            None => true,
                        },
                    }
                }
            };
            if remove {
                self.store.delete(&key.name).await?;
                report.removed += 1;
            }
        }

        match page.cursor {
            Some(next) => {
                let options = PutOptions {
                    expiration_ttl: Some(CLEANUP_CURSOR_TTL),
                    metadata: None,
                };
                self.store.put(&cursor_key, &next, options).await?;
            }
            None => {
                report.done = true;
                if cursor.is_some() {
                    self.store.delete(&cursor_key).await?;
                }
            }
        }
        Ok(report)
    }
}

/// `session` with `expiresAt` = min(now + idle, absolute) and `lastSeenAt` = now.
fn slid(session: &Session, now: i64) -> Session {
    let mut next = session.clone();
    next.expires_at = add_secs(now, session.idle_ttl).min(session.absolute_expires_at);
    next.last_seen_at = now;
    next
}

/// Applies an RFC 7396 merge patch to the `{label, meta}` object of `session`.
fn apply_patch(session: &Session, patch: &Value, writer: Writer) -> Result<Session, SessionError> {
    let Value::Object(fields) = patch else {
        return Err(ValidationError::new("body", "must be a JSON object").into());
    };
    if let Some(unknown) = fields.keys().find(|k| *k != "label" && *k != "meta") {
        let allowed = match writer {
            Writer::Holder => "only label can be changed",
            Writer::Admin => "only label and meta can be changed",
        };
        let shown = quote(unknown);
        return Err(
            ValidationError::new("body", format!("unknown field {shown}: {allowed}")).into(),
        );
    }
    if writer == Writer::Holder && fields.contains_key("meta") {
        return Err(SessionError::Forbidden { field: "meta" });
    }
    let mut doc = Map::new();
    if let Some(label) = &session.label {
        doc.insert("label".into(), Value::String(label.clone()));
    }
    doc.insert("meta".into(), Value::Object(session.meta.clone()));
    let mut doc = Value::Object(doc);
    json_patch::merge(&mut doc, patch);

    let mut updated = session.clone();
    updated.label = match doc.get("label") {
        None | Some(Value::Null) => None,
        Some(Value::String(label)) => Some(label.clone()),
        Some(_) => return Err(ValidationError::new("label", "must be a string or null").into()),
    };
    validate_label(updated.label.as_deref())?;
    updated.meta = match doc.get_mut("meta").map(Value::take) {
        None => Map::new(),
        Some(meta) => validate_meta(meta)?,
    };
    Ok(updated)
}
