//! The session service: every rule of a session, over any [`Repo`].
//!
//! ```ignore
//! let service = SessionService::new(repo, clock, random, key_ring, "app1/");
//! let (token, session) = service.create(NewSession::for_user("alice")).await?;
//! let same = service.verify(token.expose()).await?;
//! let reply = service.run(Op::ListUser { user_id: "alice".into(), current: None }).await?;
//! ```
//!
//! It validates input, decides expiry, sliding and the cap, applies patches,
//! and checks a token's secret; the repository only stores. Each operation
//! is a method here and a variant of [`Op`], dispatched by
//! [`SessionService::run`] (what the HTTP layer and the owner call).
//!
//! Every change goes through one of three write paths (a new session
//! ([`SessionService::create`]), a rewrite, a removal), each of which hands
//! the change's event to the repository ([`crate::events`]): an operation
//! cannot change a session without it.
//!
//! Every write of an existing session goes through [`Repo::update`]: the
//! change (a label, an admin's patch, a new expiry) is applied to the
//! session as stored when written, never to the copy a request read at its
//! start, so a revocation or a change made meanwhile is kept.
//!
//! Storage costs per operation are the repository's (see [`crate::kv`] and
//! [`crate::owner`]); a malformed or forged token costs no storage call.

mod error;
mod listing;
pub(crate) mod patch;
mod sliding;

pub use error::SessionError;
pub use listing::MAX_CURSOR_LEN;
pub use patch::Writer;
pub use sliding::{slide_due, Slide, SlideClaims};

use std::rc::Rc;

use serde_json::Value;

use crate::clock::Clock;
use crate::events::{Context, Event, EventType, Reason};
use crate::layout::index;
use crate::ops::{Op, Reply, Sessions};
use crate::policy::Policy;
use crate::random::Random;
use crate::repo::Repo;
use crate::session::{validate_label, validate_user_id, Lifetime, Meta, NewSession, Session};
use crate::token::{KeyRing, OwnerTag, Secret, SessionId, Token};

/// See the module documentation.
pub struct SessionService<R, C, N> {
    repo: R,
    clock: C,
    random: N,
    // Shared with the configuration: a service is built per request, and
    // copying the prepared HMAC states each time would cost for nothing.
    key_ring: Rc<KeyRing>,
    /// `KEY_PREFIX`: a session id's owner tag depends on it.
    key_prefix: Rc<str>,
    policy: Policy,
}

impl<R: Repo, C: Clock, N: Random> SessionService<R, C, N> {
    /// A service with the default [`Policy`]; see [`SessionService::with_policy`].
    pub fn new(
        repo: R,
        clock: C,
        random: N,
        key_ring: impl Into<Rc<KeyRing>>,
        key_prefix: impl Into<Rc<str>>,
    ) -> Self {
        Self {
            repo,
            clock,
            random,
            key_ring: key_ring.into(),
            key_prefix: key_prefix.into(),
            policy: Policy::default(),
        }
    }

    /// Replaces the default TTLs and cap.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn repo(&self) -> &R {
        &self.repo
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    pub fn key_ring(&self) -> &KeyRing {
        &self.key_ring
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Runs one operation (see [`Op`]) for the request `ctx` describes.
    pub async fn run(&self, op: Op, ctx: &Context) -> Result<Reply, SessionError> {
        Ok(match op {
            Op::Create { new } => {
                let (token, session) = self.create(new, ctx).await?;
                Reply::Created { token, session }
            }
            Op::Verify { token } => Reply::Session(self.verify(&token).await?),
            Op::Get { id } => Reply::Session(self.get(&id).await?),
            Op::Update { id, patch } => Reply::Session(self.update(&id, &patch, ctx).await?),
            Op::UpdateSession {
                session,
                patch,
                writer,
            } => Reply::Session(self.update_session(&session, &patch, writer, ctx).await?),
            Op::Refresh { session } => Reply::Session(self.refresh(&session, ctx).await?),
            Op::Slide { session } => Reply::Slide(self.slide(&session, ctx).await?),
            Op::DestroySession { session } => {
                self.destroy_session(&session, ctx).await?;
                Reply::Done(true)
            }
            Op::Destroy { id, user_id } => {
                Reply::Done(self.destroy(&id, user_id.as_deref(), ctx).await?)
            }
            Op::ListUser { user_id, current } => {
                Reply::Summaries(self.list_user(&user_id, current.as_deref()).await?)
            }
            Op::DestroyUser { user_id, except } => {
                Reply::Count(self.destroy_user(&user_id, except.as_deref(), ctx).await?)
            }
            Op::ListAll { limit, cursor } => {
                let (summaries, cursor) = self.list_all(limit, cursor.as_deref()).await?;
                Reply::Page { summaries, cursor }
            }
        })
    }

    /// Creates a session: the repository's insert (with
    /// `MAX_SESSIONS_PER_USER` set, also the user's listing and a removal
    /// per session it revokes). Returns its token (shown once) and the
    /// session.
    pub(crate) async fn create(
        &self,
        new: NewSession,
        ctx: &Context,
    ) -> Result<(Token, Session), SessionError> {
        validate_user_id(&new.user_id)?;
        validate_label(new.label.as_deref())?;
        let meta = match new.meta {
            Some(meta) => Meta::from_value(meta)?,
            None => Meta::empty(),
        };
        let (idle_ttl, absolute_ttl) = self.policy.ttls_for(new.idle_ttl, new.absolute_ttl)?;

        let owner = OwnerTag::for_user(&self.key_prefix, &new.user_id);
        let id = SessionId::generate(owner, &self.random)?;
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
        self.repo.insert(&session).await?;
        if let Some(cap) = self.policy.max_sessions_per_user {
            if let Err(e) = self.enforce_session_cap(&session, cap, ctx).await {
                // Its token is never handed out: it goes (best effort), or a
                // retry would count it against the cap.
                let _ = self.repo.remove(&session.user_id, &session.id).await;
                return Err(e);
            }
        }
        let reason = Event::created_reason(ctx);
        self.record(
            EventType::Created,
            Some(reason),
            &session.user_id,
            &session.id,
            ctx,
        )?;
        Ok((token, session))
    }

    /// Hands the event of a change of `session` to the repository (when it
    /// keeps events).
    fn record(
        &self,
        kind: EventType,
        reason: Option<Reason>,
        user_id: &str,
        id: &SessionId,
        ctx: &Context,
    ) -> Result<(), SessionError> {
        if !self.repo.records_events() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let (user, id) = (Some(user_id), Some(id.as_str()));
        let event = Event::new(kind, reason, user, id, ctx, now, &self.random)?;
        self.repo.record(event)
    }

    /// The one way a session is removed: by the repository, then its
    /// `session.revoked` event when it was still `live`.
    async fn remove(
        &self,
        user_id: &str,
        id: &SessionId,
        live: bool,
        reason: Reason,
        ctx: &Context,
    ) -> Result<(), SessionError> {
        self.repo.remove(user_id, id).await?;
        if live {
            self.record(EventType::Revoked, Some(reason), user_id, id, ctx)?;
        }
        Ok(())
    }

    /// Verifies a presented token: no storage call unless its shape and tag
    /// verify, then one load. The stored secret hash is compared in
    /// constant time before expiry is looked at.
    pub async fn verify(&self, token: &str) -> Result<Session, SessionError> {
        let presented = self
            .key_ring
            .verify_token(token)
            .map_err(|_| SessionError::InvalidToken)?;
        let session = self
            .repo
            .load(&presented.id)
            .await?
            .ok_or(SessionError::InvalidToken)?;
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

    /// The live session `id` (one load; none for a malformed id), else `NotFound`.
    pub async fn get(&self, id: &str) -> Result<Session, SessionError> {
        let id = SessionId::parse(id).ok_or(SessionError::NotFound)?;
        match self.repo.load(&id).await? {
            Some(session) if session.is_live(self.clock.now_ms()) => Ok(session),
            _ => Err(SessionError::NotFound),
        }
    }

    /// Applies an admin merge patch to the live session `id` (`NotFound`
    /// when there is none). See [`SessionService::update_session`].
    pub(crate) async fn update(
        &self,
        id: &str,
        patch: &Value,
        ctx: &Context,
    ) -> Result<Session, SessionError> {
        let id = SessionId::parse(id).ok_or(SessionError::NotFound)?;
        let change = |current: &Session, _| patch::apply(current, patch, Writer::Admin).map(Some);
        match self.rewrite(&id, None, change, ctx).await {
            Ok(Some(updated)) => Ok(updated),
            Ok(None) | Err(SessionError::Expired) => Err(SessionError::NotFound),
            Err(e) => Err(e),
        }
    }

    /// Applies an RFC 7396 merge patch to `{label, meta}` of `session` (e.g.
    /// as `verify` read it), as it stands when written; expirations
    /// unchanged. The patch must be an object with no keys but `label` and
    /// `meta` (field `body` otherwise); a [`Writer::Holder`] patch naming
    /// `meta` is [`SessionError::Forbidden`], before any storage call.
    /// `label: null` clears the label, `meta: {"a": null}` deletes `a`,
    /// `meta: null` empties meta. `NotFound` when the session is gone.
    pub(crate) async fn update_session(
        &self,
        session: &Session,
        patch: &Value,
        writer: Writer,
        ctx: &Context,
    ) -> Result<Session, SessionError> {
        // A bad patch is refused without a storage call.
        patch::apply(session, patch, writer)?;
        let change = |current: &Session, _| patch::apply(current, patch, writer).map(Some);
        self.rewrite(&session.id, Some(session), change, ctx)
            .await?
            .ok_or(SessionError::NotFound)
    }

    /// Moves `expiresAt` to now + idle TTL (never past `absoluteExpiresAt`)
    /// and `lastSeenAt` to now, as the session stands when written.
    /// `Expired` or `NotFound` when it no longer lives.
    pub(crate) async fn refresh(
        &self,
        session: &Session,
        ctx: &Context,
    ) -> Result<Session, SessionError> {
        if !session.is_live(self.clock.now_ms()) {
            return Err(SessionError::Expired);
        }
        let change = |current: &Session, now| Ok(Some(sliding::slid(current, now)));
        self.rewrite(&session.id, Some(session), change, ctx)
            .await?
            .ok_or(SessionError::NotFound)
    }

    /// The one way an existing session is written: [`Repo::update`] with
    /// the rules of a stored session around `change`. With `expected`, the
    /// stored session must still be that very session (same secret):
    /// `NotFound` when it is gone or replaced, `Expired` when it has
    /// expired (before or by the change). `Ok(None)` when `change` wants
    /// nothing written. A write made is a `session.updated` event.
    async fn rewrite(
        &self,
        id: &SessionId,
        expected: Option<&Session>,
        change: impl Fn(&Session, i64) -> Result<Option<Session>, SessionError>,
        ctx: &Context,
    ) -> Result<Option<Session>, SessionError> {
        let checked = |current: &Session| {
            if expected.is_some_and(|expected| !current.is_same_as(expected)) {
                return Err(SessionError::NotFound);
            }
            let now = self.clock.now_ms();
            if !current.is_live(now) {
                return Err(SessionError::Expired);
            }
            let Some(mut next) = change(current, now)? else {
                return Ok(None);
            };
            if !next.is_live(now) {
                return Err(SessionError::Expired);
            }
            next.validate()?;
            index::fit_user_agent(&mut next);
            Ok(Some(next))
        };
        let written = self.repo.update(id, &checked).await?;
        if let Some(session) = &written {
            self.record(EventType::Updated, None, &session.user_id, id, ctx)?;
        }
        Ok(written)
    }

    /// Removes a session already read: a logout, or, with
    /// [`Context::replacing`], a session a sign-in replaces.
    pub(crate) async fn destroy_session(
        &self,
        session: &Session,
        ctx: &Context,
    ) -> Result<(), SessionError> {
        let reason = match ctx.replacing {
            true => Reason::Replaced,
            false => Reason::Logout,
        };
        let live = session.is_live(self.clock.now_ms());
        self.remove(&session.user_id, &session.id, live, reason, ctx)
            .await
    }

    /// Destroys session `id` (one load + a removal): only if it belongs to
    /// `user_id` when given (self-service), any user's otherwise (admin).
    /// True when it was live; false, and nothing removed, when it is
    /// another user's or not there.
    pub(crate) async fn destroy(
        &self,
        id: &str,
        user_id: Option<&str>,
        ctx: &Context,
    ) -> Result<bool, SessionError> {
        let Some(sid) = SessionId::parse(id) else {
            return Ok(false);
        };
        let session = match self.repo.load(&sid).await {
            Ok(Some(session)) => session,
            Ok(None) => return Ok(false),
            // Its user is unknown, so only an admin destroy removes it.
            Err(e) if e.is_unreadable() => {
                if user_id.is_none() {
                    self.repo.remove_unreadable(&sid).await?;
                }
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        if user_id.is_some_and(|user_id| user_id != session.user_id) {
            return Ok(false);
        }
        let live = session.is_live(self.clock.now_ms());
        let reason = match user_id {
            Some(_) => Reason::Logout,
            None => Reason::Admin,
        };
        self.remove(&session.user_id, &sid, live, reason, ctx)
            .await?;
        Ok(live)
    }
}

impl<R: Repo, C: Clock, N: Random> Sessions for SessionService<R, C, N> {
    async fn run(&self, op: Op, ctx: &Context) -> Result<Reply, SessionError> {
        SessionService::run(self, op, ctx).await
    }
}
