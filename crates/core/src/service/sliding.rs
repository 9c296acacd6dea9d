//! Sliding expiration: when less than half the idle TTL is left, a request
//! extends the session, with one write made after the response.
//!
//! The write is claimed by one request per session and isolate
//! ([`SessionService::claim_slide`], through the [`crate::ledger`]) and made
//! by [`SessionService::slide`], a read-modify-write like every write of an
//! existing session: it extends the record as it stands then (a change made
//! meanwhile is kept) and is skipped when the session is gone, replaced,
//! expired or already extended.

use super::{SessionError, SessionService};
use crate::clock::Clock;
use crate::ledger::SLIDE_LEASE_MS;
use crate::random::Random;
use crate::session::Session;
use crate::store::KvStore;

/// What [`SessionService::slide`] did.
#[derive(Debug, Clone)]
pub enum Slide {
    /// Written: the record as it stood, with `expiresAt` and `lastSeenAt` moved.
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

impl<S: KvStore, C: Clock, R: Random> SessionService<S, C, R> {
    /// Sliding expiration, pure: `Some(session to save)` when less than half
    /// the idle TTL is left and sliding would move `expiresAt` (so at most one
    /// write per half idle TTL, none once capped by `absoluteExpiresAt`).
    pub fn touch_due(&self, session: &Session) -> Option<Session> {
        let now = self.clock.now_ms();
        if !session.is_live(now)
            || session.lifetime.expires_at.saturating_sub(now) >= half_idle_ms(session)
        {
            return None;
        }
        let next = extended(session, now);
        (next.lifetime.expires_at > session.lifetime.expires_at).then_some(next)
    }

    /// The sliding write of `session` (just verified), when it is due and no
    /// other request of this isolate holds its claim: `Some(session with
    /// expiresAt moved)`, to hand to [`SessionService::slide`] after the
    /// response. The claim is a lease of at most [`SLIDE_LEASE_MS`] (a
    /// request that never makes its write blocks others only that long);
    /// once the write is made it is held for half the idle TTL. Touches no
    /// store.
    pub fn claim_slide(&self, session: &Session) -> Option<Session> {
        let next = self.touch_due(session)?;
        let now = self.clock.now_ms();
        let lease = SLIDE_LEASE_MS.min(half_idle_ms(session) / 2);
        self.ledger
            .claim_slide(&session.id, now, now.saturating_add(lease))
            .then_some(next)
    }

    /// Gives back the claim of a sliding write that will not be made (the
    /// origin could not be reached, a revocation failed).
    pub fn release_slide(&self, claimed: &Session) {
        self.ledger.release_slide(&claimed.id);
    }

    /// The sliding write claimed by [`SessionService::claim_slide`]: reads the
    /// record again (1 read) and, unless it is gone, replaced, expired or
    /// already extended as far, writes it as it stands with `expiresAt` and
    /// `lastSeenAt` moved (2 writes). A change made meanwhile (a label, an
    /// admin's `meta` patch) is kept. A write made holds the claim for half
    /// the idle TTL; a failed one gives it back.
    pub async fn slide(&self, claimed: &Session) -> Result<Slide, SessionError> {
        let change = |current: &Session, now| {
            let next = extended(current, now);
            Ok((next.lifetime.expires_at > current.lifetime.expires_at).then_some(next))
        };
        let result = match self.rewrite(&claimed.id, Some(claimed), change).await {
            Ok(written) => Ok(written.map_or(Slide::Skipped, |s| Slide::Written(Box::new(s)))),
            Err(SessionError::NotFound | SessionError::Expired) => Ok(Slide::Skipped),
            Err(e) => Err(e),
        };
        self.settle_slide(claimed, &result);
        result
    }

    /// After the sliding write claimed for `claimed` was tried: a write made
    /// (or found unneeded) holds the claim for half the idle TTL, a failed
    /// one gives it back.
    pub(crate) fn settle_slide(&self, claimed: &Session, result: &Result<Slide, SessionError>) {
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

/// `session` seen at `now`, `expiresAt` moved to `now + idle TTL` but never
/// past `absoluteExpiresAt`.
pub(super) fn extended(session: &Session, now: i64) -> Session {
    let mut next = session.clone();
    next.lifetime = session.lifetime.extended(now, session.idle_ttl);
    next
}
