//! Session operations over a [`KvStore`]: create, verify, read, patch,
//! refresh and slide, destroy, list, and the cron cleanup.
//!
//! KV costs, which the contract fixes and the tests count:
//! - `create`: 2 writes (session key first, then index key), no read;
//! - `verify`: 0 calls for a malformed, forged or unknown-key token, else exactly 1 read;
//! - `claim_slide` is pure; `slide` (the sliding write), `refresh`,
//!   `update_session`, `update`: 1 read + 2 writes (each reads the record
//!   again right before writing it, see below);
//! - `list_user`: one list call per 1000 sessions, no reads; `list_all`: one list call;
//! - `destroy_session`: 2 deletes; `destroy`/`destroy_owned`: 1 read + 2 deletes;
//! - `destroy_user`: list calls + 2 deletes per session, no reads;
//! - when a call fails half way: `create` deletes what it wrote (2 deletes),
//!   a rewrite puts the record and its index entry back as it read them (2
//!   writes), so a session's index entry never lists a session nobody holds
//!   nor ends before or after it;
//! - a rewrite during whose put this isolate deleted the session deletes
//!   it again once the put has landed (2 deletes).
//!
//! No operation read-modify-writes a key shared by several sessions: each
//! session has its own record key and its own index key (see [`crate::layout`]).
//!
//! Every write of an existing session is a read-modify-write of the record
//! as it stands ([`SessionService::rewrite`]): the change (a label, an
//! admin's patch, a new expiry) is applied to what the store holds right
//! before the put, never to the copy a request read at its start, so a
//! revocation or a change made meanwhile is kept. Within one isolate the
//! [`crate::ledger`] makes this exact: a put whose session this isolate
//! wrote or deleted since the read reads again instead. The sliding write is
//! also claimed by one request per session and isolate ([`sliding`]).
//!
//! What KV (no compare-and-swap, eventually consistent) still allows: a
//! revocation or change made in *another* isolate or location in the one KV
//! round trip between such a write's read and its put is undone by that
//! put; and in another location, for as long as KV shows it the old record
//! (up to about 60 s). The `strong` mode has neither.

mod cleanup;
mod error;
mod listing;
pub(crate) mod patch;
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
use crate::ledger::{LastWrite, Ledger, WriteMark};
use crate::policy::Policy;
use crate::random::Random;
use crate::session::{
    validate_label, validate_meta, validate_user_id, Lifetime, NewSession, Session,
};
use crate::store::{KvStore, PutOptions, StoreError};
use crate::token::{KeyRing, Secret, SessionId, Token};

/// How many times a read-modify-write reads again when the ledger forgot
/// what this isolate wrote meanwhile, before it gives up (503).
const MAX_REWRITE_ATTEMPTS: usize = 3;

/// The session engine. See the module documentation for KV costs.
pub struct SessionService<S, C, R> {
    store: S,
    clock: C,
    random: R,
    // Shared with the configuration: a service is built per request, and
    // copying the prepared HMAC states each time would cost for nothing.
    key_ring: Rc<KeyRing>,
    layout: Rc<KeyLayout>,
    policy: Policy,
    ledger: Rc<Ledger>,
}

impl<S: KvStore, C: Clock, R: Random> SessionService<S, C, R> {
    /// A service with the default [`Policy`]; see [`SessionService::with_policy`].
    pub fn new(
        store: S,
        clock: C,
        random: R,
        key_ring: impl Into<Rc<KeyRing>>,
        layout: impl Into<Rc<KeyLayout>>,
    ) -> Self {
        Self {
            store,
            clock,
            random,
            key_ring: key_ring.into(),
            layout: layout.into(),
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

    /// Creates a session: 2 writes, no read (with `MAX_SESSIONS_PER_USER`
    /// set, also the user's listing and 2 deletes per session it revokes).
    /// Returns its token (shown once) and the session.
    pub async fn create(&self, new: NewSession) -> Result<(Token, Session), SessionError> {
        validate_user_id(&new.user_id)?;
        validate_label(new.label.as_deref())?;
        let meta = validate_meta(new.meta.unwrap_or_else(|| Value::Object(Map::new())))?;
        let (idle_ttl, absolute_ttl) = self.policy.ttls_for(new.idle_ttl, new.absolute_ttl)?;

        let id = SessionId::generate(self.layout.owner(&new.user_id), &self.random)?;
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
        let made = match self.write(&session, now).await {
            Ok(()) => match self.policy.max_sessions_per_user {
                Some(cap) => self.enforce_session_cap(&session, cap).await,
                None => Ok(()),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = made {
            // Its token is never handed out: what was written of it goes
            // (best effort), or the user's listing would show a session
            // nobody holds, and a retry would count it against the cap.
            let _ = self.delete_keys(&session.user_id, &session.id).await;
            return Err(e);
        }
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
    /// writes; `NotFound` when there is no live session `id`). See
    /// [`SessionService::update_session`].
    pub async fn update(&self, id: &str, patch: &Value) -> Result<Session, SessionError> {
        let id = SessionId::parse(id).ok_or(SessionError::NotFound)?;
        let change =
            |current: &Session, _| patch::apply_patch(current, patch, Writer::Admin).map(Some);
        match self.rewrite(&id, None, change).await {
            Ok(Some(updated)) => Ok(updated),
            Ok(None) | Err(SessionError::Expired) => Err(SessionError::NotFound),
            Err(e) => Err(e),
        }
    }

    /// Applies an RFC 7396 merge patch to `{label, meta}` of `session` (e.g.
    /// as `verify` read it), as its record stands when written: 1 read + 2
    /// writes, expirations unchanged. The patch must be an object with no keys
    /// but `label` and `meta` (field `body` otherwise); a [`Writer::Holder`]
    /// patch naming `meta` is [`SessionError::Forbidden`], before any store
    /// call. `label: null` clears the label, `meta: {"a": null}` deletes `a`,
    /// `meta: null` empties meta. `NotFound` when the session is gone.
    pub async fn update_session(
        &self,
        session: &Session,
        patch: &Value,
        writer: Writer,
    ) -> Result<Session, SessionError> {
        // Refuse a bad patch without touching the store.
        patch::apply_patch(session, patch, writer)?;
        let change = |current: &Session, _| patch::apply_patch(current, patch, writer).map(Some);
        self.rewrite(&session.id, Some(session), change)
            .await?
            .ok_or(SessionError::NotFound)
    }

    /// Moves `expiresAt` to now + idle TTL (never past `absoluteExpiresAt`)
    /// and `lastSeenAt` to now, as the record stands when written: 1 read +
    /// 2 writes. `Expired` or `NotFound` when it no longer lives.
    pub async fn refresh(&self, session: &Session) -> Result<Session, SessionError> {
        if !session.is_live(self.clock.now_ms()) {
            return Err(SessionError::Expired);
        }
        let change = |current: &Session, now| Ok(Some(sliding::extended(current, now)));
        self.rewrite(&session.id, Some(session), change)
            .await?
            .ok_or(SessionError::NotFound)
    }

    /// The one way an existing session is written: reads the record of `id`
    /// (1 read), applies `change` to it as it stands and writes the result
    /// (2 writes); `Ok(None)` when `change` wants nothing written. With
    /// `expected`, the record must still be that very session (same secret):
    /// `NotFound` when it is gone or replaced, `Expired` when it has expired.
    ///
    /// Within this isolate no write or delete of the session is undone: when
    /// the read may have missed one of this isolate's writes (one was in
    /// flight when it began, or began since: see
    /// [`crate::ledger::WriteMark`]), `change` is applied to the record this
    /// isolate wrote last instead, with no await in between, so overlapping
    /// writes of one session all land in turn without reading again; when it
    /// deleted the session, `NotFound`. Only when the ledger does not know
    /// does it read again (at most [`MAX_REWRITE_ATTEMPTS`] times, then a
    /// store error).
    async fn rewrite(
        &self,
        id: &SessionId,
        expected: Option<&Session>,
        change: impl Fn(&Session, i64) -> Result<Option<Session>, SessionError>,
    ) -> Result<Option<Session>, SessionError> {
        for _ in 0..MAX_REWRITE_ATTEMPTS {
            let mark = self.ledger.mark(id);
            let Some(entry) = self.store.get(&self.layout.session_key(id)).await? else {
                return Err(SessionError::NotFound);
            };
            let mut current =
                record::decode(&entry.value, id).ok_or_else(SessionError::unreadable)?;
            // From here to the note below there is no await: what the ledger
            // says cannot change in between.
            if mark.read_may_be_stale(self.ledger.mark(id)) {
                match self.ledger.last_write(id) {
                    Some(LastWrite::Written(newer)) => current = Session::clone(&newer),
                    Some(LastWrite::Deleted) => return Err(SessionError::NotFound),
                    None => continue,
                }
            }
            if expected.is_some_and(|expected| !current.is_same_as(expected)) {
                return Err(SessionError::NotFound);
            }
            let now = self.clock.now_ms();
            if !current.is_live(now) {
                return Err(SessionError::Expired);
            }
            let Some(mut next) = change(&current, now)? else {
                return Ok(None);
            };
            if !next.is_live(now) {
                return Err(SessionError::Expired);
            }
            next.validate()?;
            index::fit_user_agent(&mut next);
            let (written, ours) = self.noted_write(&next, now).await;
            if let Err(e) = written {
                // The record may be written and its index entry not (or the
                // entry written and its answer lost): put both back as they
                // were (best effort), or the entry would end before the
                // session does (the cleanup would drop it, "revoke all"
                // would miss the session) or after it (listed past its
                // expiry). Not when this isolate wrote or deleted the
                // session meanwhile. Noted like any write, so that a
                // rewrite of this isolate reading meanwhile builds on it.
                if ours.only_own_write(self.ledger.mark(id)) {
                    let (_, back) = self.noted_write(&current, now).await;
                    self.redo_overtaken_delete(id, &current.user_id, back).await;
                } else {
                    // A put that landed though its answer was lost is
                    // overtaken like any other.
                    self.redo_overtaken_delete(id, &next.user_id, ours).await;
                }
                return Err(e);
            }
            self.redo_overtaken_delete(id, &next.user_id, ours).await;
            return Ok(Some(next));
        }
        Err(SessionError::Store(StoreError::Unavailable(
            "the session kept changing while it was being written".into(),
        )))
    }

    /// After a put of `id` whose mark is `ours`: a delete of this isolate
    /// that began while the put was in flight may have reached KV first
    /// (calls to a remote KV overtake each other) and been undone by the
    /// put, so it is made again now that the put has landed.
    async fn redo_overtaken_delete(&self, id: &SessionId, user_id: &str, ours: WriteMark) {
        if !ours.only_own_write(self.ledger.mark(id))
            && matches!(self.ledger.last_write(id), Some(LastWrite::Deleted))
        {
            let _ = self.delete_keys(user_id, id).await;
        }
    }

    /// [`Self::write`] of an existing session, noted in the ledger like
    /// every write of this isolate; also answers the write's mark.
    async fn noted_write(
        &self,
        session: &Session,
        now: i64,
    ) -> (Result<(), SessionError>, WriteMark) {
        let id = &session.id;
        let ticket = self
            .ledger
            .note_write(id, LastWrite::Written(Rc::new(session.clone())));
        let ours = self.ledger.mark(id);
        let written = self.write(session, now).await;
        self.ledger.finish_write(ticket, written.is_ok());
        (written, ours)
    }

    async fn write(&self, session: &Session, now: i64) -> Result<(), SessionError> {
        // Session key first, index key last: every session write ends with
        // its index entry, so a "revoke all" listing that ran in between
        // cannot leave a working session out of the index. If the index write
        // fails, `create` deletes the session (its token is never handed
        // out) and a rewrite puts both keys back.
        let ttl = Some(kv_ttl_secs(&session.lifetime, now));
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
        // Noted before the first await: a write of this session already in
        // flight in this isolate checks the ledger right before its put.
        let ticket = self.ledger.note_write(id, LastWrite::Deleted);
        let deleted = self.delete_both(user_id, id).await;
        self.ledger.finish_write(ticket, deleted.is_ok());
        deleted
    }

    async fn delete_both(&self, user_id: &str, id: &SessionId) -> Result<(), SessionError> {
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
