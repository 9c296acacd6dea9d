//! What one isolate remembers between its requests: which sessions it has
//! claimed a sliding write for, and which it has revoked lately.
//!
//! Workers KV has no compare-and-swap, so two requests of one session that
//! overlap cannot coordinate through KV. Within one isolate they can: JS runs
//! one piece of code at a time, so a check and an update of this ledger with
//! no `await` between them are atomic. The service uses it to
//! - let only one of many overlapping requests of a session make the sliding
//!   write (at most one per half idle TTL per session and isolate);
//! - refuse, right before writing, any write of a session this isolate
//!   revoked meanwhile (a sliding write, a refresh or a label change that was
//!   in flight when the user logged out cannot write the session back).
//!
//! Both maps are bounded ([`MAX_ENTRIES`]); entries expire on their own.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::token::SessionId;

/// Most sessions each map of a ledger remembers.
pub const MAX_ENTRIES: usize = 4096;
/// How long a revocation is remembered, in ms: far longer than any KV call
/// in flight when the revocation happened can take.
pub const REVOKED_MEMORY_MS: i64 = 10 * 60 * 1000;

type Key = [u8; 16];

/// Per-isolate memory of sliding claims and revocations. Share one per
/// isolate (`Rc<Ledger>`); a fresh one forgets everything, which is safe.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Session → until when (ms) its sliding write is claimed.
    slides: RefCell<HashMap<Key, i64>>,
    /// Session → until when (ms) its revocation is remembered.
    revoked: RefCell<HashMap<Key, i64>>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Claims the sliding write of `id` until `until_ms`: true for the first
    /// caller, false while an earlier claim holds.
    pub fn claim_slide(&self, id: &SessionId, now_ms: i64, until_ms: i64) -> bool {
        let mut slides = self.slides.borrow_mut();
        if slides
            .get(id.as_bytes())
            .is_some_and(|&until| until > now_ms)
        {
            return false;
        }
        insert_bounded(&mut slides, *id.as_bytes(), until_ms, now_ms);
        true
    }

    /// Gives a claim back (its write failed), so a later request may retry.
    pub fn release_slide(&self, id: &SessionId) {
        self.slides.borrow_mut().remove(id.as_bytes());
    }

    /// Records that this isolate revoked `id`.
    pub fn note_revoked(&self, id: &SessionId, now_ms: i64) {
        let mut revoked = self.revoked.borrow_mut();
        insert_bounded(
            &mut revoked,
            *id.as_bytes(),
            now_ms.saturating_add(REVOKED_MEMORY_MS),
            now_ms,
        );
    }

    /// Whether this isolate revoked `id` within [`REVOKED_MEMORY_MS`].
    pub fn was_revoked(&self, id: &SessionId, now_ms: i64) -> bool {
        self.revoked
            .borrow()
            .get(id.as_bytes())
            .is_some_and(|&until| until > now_ms)
    }

    /// Number of remembered (claims, revocations), expired ones included.
    pub fn len(&self) -> (usize, usize) {
        (self.slides.borrow().len(), self.revoked.borrow().len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

/// Inserts, first dropping expired entries when the map is full, then the
/// entry that expires soonest: the map never holds more than [`MAX_ENTRIES`].
fn insert_bounded(map: &mut HashMap<Key, i64>, key: Key, until: i64, now: i64) {
    if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
        map.retain(|_, &mut u| u > now);
        if map.len() >= MAX_ENTRIES {
            if let Some(soonest) = map.iter().min_by_key(|(_, &u)| u).map(|(k, _)| *k) {
                map.remove(&soonest);
            }
        }
    }
    map.insert(key, until);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn id(seed: u64) -> SessionId {
        SessionId::generate(&SeededRandom::new(seed)).unwrap()
    }

    #[test]
    fn one_claim_per_window() {
        let ledger = Ledger::new();
        let a = id(1);
        assert!(ledger.claim_slide(&a, 0, 1000));
        assert!(!ledger.claim_slide(&a, 999, 2000));
        assert!(
            ledger.claim_slide(&id(2), 999, 2000),
            "other sessions are independent"
        );
        assert!(ledger.claim_slide(&a, 1000, 2000), "the window has passed");
        ledger.release_slide(&a);
        assert!(ledger.claim_slide(&a, 1001, 3000), "released");
    }

    #[test]
    fn revocations_are_remembered_for_a_while() {
        let ledger = Ledger::new();
        let a = id(1);
        assert!(!ledger.was_revoked(&a, 0));
        ledger.note_revoked(&a, 0);
        assert!(ledger.was_revoked(&a, REVOKED_MEMORY_MS - 1));
        assert!(!ledger.was_revoked(&a, REVOKED_MEMORY_MS));
        assert!(!ledger.was_revoked(&id(2), 1));
    }

    #[test]
    fn bounded_and_evicts_expired_then_soonest() {
        let ledger = Ledger::new();
        for seed in 0..(MAX_ENTRIES as u64 + 500) {
            ledger.note_revoked(&id(seed), seed as i64);
            assert!(ledger.claim_slide(&id(seed), 0, 10 + seed as i64));
        }
        assert_eq!(ledger.len(), (MAX_ENTRIES, MAX_ENTRIES));
        // The newest entries are kept, the soonest-expiring ones went first.
        let newest = id(MAX_ENTRIES as u64 + 499);
        assert!(ledger.was_revoked(&newest, 0));
        assert!(!ledger.claim_slide(&newest, 0, 1));
        assert!(
            ledger.claim_slide(&id(0), 0, 1),
            "evicted, so claimable again"
        );
    }
}
