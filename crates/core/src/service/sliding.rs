//! Sliding expiration: when less than half the idle TTL is left, a request
//! extends the session, with one write made after the response.
//!
//! ```ignore
//! if let Some(slid) = claims.claim(&session) {           // at most one request per window
//!     // ... answer the request, then, after the response:
//!     let result = sessions.run(Op::Slide { session: slid.clone() }, &ctx).await;
//!     claims.settle(&slid, &result);
//! }
//! ```
//!
//! The write is claimed by one request per session and isolate
//! ([`SlideClaims`], through the isolate's [`Ledger`]) and made by
//! [`SessionService::slide`], a write of the session as it stands then (a
//! change made meanwhile is kept), skipped when the session is gone,
//! replaced, expired or already extended.

use std::rc::Rc;

use super::{SessionError, SessionService};
use crate::clock::Clock;
use crate::events::Context;
use crate::ledger::{Ledger, SLIDE_LEASE_MS};
use crate::ops::Reply;
use crate::random::Random;
use crate::repo::Repo;
use crate::session::Session;

/// What [`SessionService::slide`] did.
#[derive(Debug, Clone)]
pub enum Slide {
    /// Written: the session as it stood, with `expiresAt` and `lastSeenAt` moved.
    Written(Box<Session>),
    /// Nothing written: the session is gone, revoked, expired, or already
    /// extended at least as far.
    Skipped,
}

/// Half the idle TTL of `session`, in ms: the sliding window.
fn half_idle_ms(session: &Session) -> i64 {
    i64::try_from(session.idle_ttl)
        .unwrap_or(i64::MAX)
        .saturating_mul(500)
}

/// `session` seen at `now`, `expiresAt` moved to `now + idle TTL` but never
/// past `absoluteExpiresAt`.
pub(crate) fn slid(session: &Session, now: i64) -> Session {
    let mut next = session.clone();
    next.lifetime = session.lifetime.slid(now, session.idle_ttl);
    next
}

/// `Some(session slid at now)` when less than half the idle TTL is left and
/// sliding would move `expiresAt` (so at most one write per half idle TTL,
/// none once capped by `absoluteExpiresAt`).
pub fn slide_due(session: &Session, now: i64) -> Option<Session> {
    if !session.is_live(now)
        || session.lifetime.expires_at.saturating_sub(now) >= half_idle_ms(session)
    {
        return None;
    }
    let next = slid(session, now);
    (next.lifetime.expires_at > session.lifetime.expires_at).then_some(next)
}

/// The sliding claims of one isolate: which request makes each session's
/// sliding write. Touches no storage.
pub struct SlideClaims<C> {
    ledger: Rc<Ledger>,
    clock: C,
}

impl<C: Clock> SlideClaims<C> {
    pub fn new(ledger: Rc<Ledger>, clock: C) -> Self {
        Self { ledger, clock }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The sliding write of `session` (just verified), when it is due and
    /// no other request of this isolate holds its claim: `Some(session
    /// slid)`, to write with `Op::Slide` after the response. The claim is a
    /// lease of at most [`SLIDE_LEASE_MS`] (a request that never makes its
    /// write blocks others only that long); once the write is made it is
    /// held for half the idle TTL.
    pub fn claim(&self, session: &Session) -> Option<Session> {
        let now = self.clock.now_ms();
        let next = slide_due(session, now)?;
        let lease = SLIDE_LEASE_MS.min(half_idle_ms(session) / 2);
        self.ledger
            .claim_slide(&session.id, now, now.saturating_add(lease))
            .then_some(next)
    }

    /// Gives back the claim of a sliding write that will not be made (the
    /// origin could not be reached, a revocation failed).
    pub fn release(&self, claimed: &Session) {
        self.ledger.release_slide(&claimed.id);
    }

    /// After the sliding write claimed for `claimed` was tried: a write made
    /// (or found unneeded) holds the claim for half the idle TTL, a failed
    /// one gives it back.
    pub fn settle(&self, claimed: &Session, result: &Result<Reply, SessionError>) {
        match result {
            Ok(_) => {
                let now = self.clock.now_ms();
                self.ledger
                    .hold_slide(&claimed.id, now.saturating_add(half_idle_ms(claimed)));
            }
            Err(_) => self.ledger.release_slide(&claimed.id),
        }
    }
}

impl<R: Repo, C: Clock, N: Random> SessionService<R, C, N> {
    /// The sliding write of `claimed` (see [`SlideClaims::claim`]): unless
    /// the session is gone, replaced, expired or already extended as far,
    /// writes it as it stands with `expiresAt` and `lastSeenAt` moved. A
    /// change made meanwhile (a label, an admin's `meta` patch) is kept.
    pub(crate) async fn slide(
        &self,
        claimed: &Session,
        ctx: &Context,
    ) -> Result<Slide, SessionError> {
        let change = |current: &Session, now| {
            let next = slid(current, now);
            Ok((next.lifetime.expires_at > current.lifetime.expires_at).then_some(next))
        };
        match self.rewrite(&claimed.id, Some(claimed), change, ctx).await {
            Ok(written) => Ok(written.map_or(Slide::Skipped, |s| Slide::Written(Box::new(s)))),
            Err(SessionError::NotFound | SessionError::Expired) => Ok(Slide::Skipped),
            Err(e) => Err(e),
        }
    }
}
