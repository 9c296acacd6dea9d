//! Session operations over a [`KvStore`]: create, verify, read, patch,
//! refresh and slide, destroy, list, and the cron cleanup.
//!
//! KV costs, which the contract fixes and the tests count:
//! - `create`: 2 writes (session key first, then index key), no read;
//! - `verify`: 0 calls for a malformed, forged or unknown-key token, else exactly 1 read;
//! - `claim_slide` is pure; `slide` (the sliding write): 1 read + 2 writes;
//!   `refresh`, `update_session`: 2 writes;
//! - `list_user`: one list call per 1000 sessions, no reads; `list_all`: one list call;
//! - `destroy_session`: 2 deletes; `destroy`/`destroy_owned`: 1 read + 2 deletes;
//! - `destroy_user`: list calls + 2 deletes per session, no reads.
//!
//! No operation read-modify-writes a key shared by several sessions: each
//! session has its own record key and its own index key (see [`crate::layout`]).
//!
//! Writes of an existing session and revocations (see [`crate::ledger`]):
//! - the sliding write ([`sliding`]) is claimed by one request per session
//!   and isolate, and reads the record again right before writing;
//! - every write of an existing session is refused when this isolate revoked
//!   it meanwhile.
//!
//! What KV (no compare-and-swap, eventually consistent) still allows: a
//! revocation made in *another* isolate or location between a write's read
//! and its put (one KV round trip for the sliding write, refresh and label
//! change) is undone by that put; in another location, for as long as KV
//! shows it the old record (up to about 60 s). The `strong` mode has neither.

mod cleanup;
mod error;
mod listing;
mod patch;
mod sliding;

pub use cleanup::{CleanupReport, CLEANUP_CURSOR_TTL, CLEANUP_GRACE_MS};
pub use error::SessionError;
pub use listing::MAX_CURSOR_LEN;
pub use patch::Writer;
pub use sliding::Slide;

use std::rc::Rc;

use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::layout::{index, kv_ttl_secs, record, KeyLayout};
use crate::ledger::Ledger;
use crate::policy::Policy;
use crate::random::Random;
use crate::session::{
    validate_label, validate_meta, validate_user_id, Lifetime, NewSession, Session,
};
use crate::store::{KvStore, PutOptions};
use crate::token::{KeyRing, Secret, SessionId, Token};

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

    /// Replaces the default TTLs.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
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
        let (idle_ttl, absolute_ttl) = self.policy.ttls_for(new.idle_ttl, new.absolute_ttl)?;

        let id = SessionId::generate(&self.random)?;
        let secret = Secret::generate(&self.random)?;
        let token = self.key_ring.issue(&id, &secret);
        let now = self.clock.now_ms();
        let mut session = Session {
            secret_hash: secret.hash(&id),
            id,
            user_id: new.user_id,
            label: new.label,
            meta,
            client: new.client,
            lifetime: Lifetime::starting(now, idle_ttl, absolute_ttl),
            idle_ttl,
            absolute_ttl,
        };
        index::fit_user_agent(&mut session);
        self.write(&session, now).await?;
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
            record::decode(&entry.value, &presented.id).ok_or_else(SessionError::unreadable)?;
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
    async fn read(&self, id: &str) -> Result<Option<Session>, SessionError> {
        let Some(id) = SessionId::parse(id) else {
            return Ok(None);
        };
        let Some(entry) = self.store.get(&self.layout.session_key(&id)).await? else {
            return Ok(None);
        };
        record::decode(&entry.value, &id)
            .map(Some)
            .ok_or_else(SessionError::unreadable)
    }

    /// The live session `id` (1 read; none for a malformed id), else `NotFound`.
    pub async fn get(&self, id: &str) -> Result<Session, SessionError> {
        match self.read(id).await? {
            Some(session) if session.is_live(self.clock.now_ms()) => Ok(session),
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
        let mut updated = patch::apply_patch(session, patch, writer)?;
        index::fit_user_agent(&mut updated);
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
        let refreshed = sliding::extended(session, now);
        self.save(&refreshed).await?;
        Ok(refreshed)
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
        if self.ledger.was_revoked(&session.id, now) {
            return Err(SessionError::NotFound);
        }
        self.write(session, now).await
    }

    async fn write(&self, session: &Session, now: i64) -> Result<(), SessionError> {
        let ttl = Some(kv_ttl_secs(&session.lifetime, now));
        // Session key first, index key last: every session write ends with
        // its index entry, so a "revoke all" listing that ran in between
        // cannot leave a working session out of the index. If the index write
        // fails, `create` returns an error and its token is never handed out.
        let options = |metadata| PutOptions {
            expiration_ttl: ttl,
            metadata,
        };
        self.store
            .put(
                &self.layout.session_key(&session.id),
                &record::encode(session),
                options(None),
            )
            .await?;
        self.store
            .put(
                &self.layout.index_key(&session.user_id, &session.id),
                "",
                options(Some(index::encode(session))),
            )
            .await?;
        Ok(())
    }

    /// Deletes both keys of a session already read (logout): 2 deletes.
    pub async fn destroy_session(&self, session: &Session) -> Result<(), SessionError> {
        self.delete_keys(&session.user_id, &session.id).await
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
        let Some(session) = record::decode(&entry.value, &sid) else {
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
}
