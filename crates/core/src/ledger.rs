//! What one isolate remembers between its requests: which sessions it has
//! claimed a sliding write for, and when it last wrote or deleted each one.
//!
//! Workers KV has no compare-and-swap, so two requests of one session that
//! overlap cannot coordinate through KV. Within one isolate they can: JS runs
//! one piece of code at a time, so a check and an update of this ledger with
//! no `await` between them are atomic. The service uses it to
//! - let only one of many overlapping requests of a session make the sliding
//!   write ([`Ledger::claim_slide`]): a short lease while the request is at
//!   the origin, held for half the idle TTL once the write is made, given
//!   back when it fails, so a lost request never stops sliding for long;
//! - refuse, right before a put, a read-modify-write whose record was written
//!   or deleted by this isolate since it was read ([`Ledger::mark`]): such a
//!   write applies its change to the record this isolate wrote last
//!   ([`Ledger::last_write`]), or gives up when it deleted it, instead of
//!   undoing the other write (a revocation, an admin's change of roles).
//!
//! (Requests of an isolate cannot wait for each other: the runtime cancels a
//! request that waits on something only another request can resolve, so
//! there is no lock here, only checks made between two awaits.)
//!
//! Both maps are bounded ([`MAX_ENTRIES`]). Forgetting is always safe: a
//! forgotten claim lets one more write happen, and a forgotten write mark
//! makes every write begun before it read again ([`Ledger::mark`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::session::Session;

use crate::token::SessionId;

/// Most sessions each map of a ledger remembers.
pub const MAX_ENTRIES: usize = 4096;
/// Longest lease of a sliding claim whose write has not been made yet, in
/// ms: about the longest a request waits for its origin.
pub const SLIDE_LEASE_MS: i64 = 30_000;

type Key = crate::token::IdKey;

/// The write mark of a session, taken by a read-modify-write before its
/// read: the ledger's count of writes at the session's last write or delete
/// (or at the last one it forgot), and whether a write of it was in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteMark {
    count: u64,
    in_flight: bool,
}

impl WriteMark {
    /// Whether a read made after `self` was taken, checked at `now` (the
    /// session's mark then), may miss a write of this isolate: one was in
    /// flight when the read began, or began since.
    pub fn read_may_be_stale(self, now: WriteMark) -> bool {
        self.in_flight || now.count != self.count
    }

    /// Whether, between `self` (taken right after noting one's own write)
    /// and `now` (taken once it is finished), no other write or delete of
    /// the session was noted and none is in flight.
    pub fn only_own_write(self, now: WriteMark) -> bool {
        now.count == self.count && !now.in_flight
    }
}

/// What this isolate did last to a session: wrote this record, or deleted it.
#[derive(Debug, Clone)]
pub enum LastWrite {
    Written(Rc<Session>),
    Deleted,
}

/// One session's entry of the write map.
#[derive(Debug)]
struct WriteEntry {
    /// The write count at its last write or delete.
    count: u64,
    /// What that was; `None` once a write failed (nobody knows what KV holds).
    last: Option<LastWrite>,
    /// Writes and deletes of it begun and not finished.
    in_flight: u32,
}

/// A write or delete noted with [`Ledger::note_write`]: give it to
/// [`Ledger::finish_write`] once its store calls are over.
#[derive(Debug)]
#[must_use]
pub struct WriteTicket {
    key: Key,
}

/// Per-isolate memory of sliding claims and writes. Share one per isolate
/// (`Rc<Ledger>`); a fresh one remembers nothing, which is safe.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Session → until when (ms) its sliding write is claimed.
    slides: RefCell<HashMap<Key, i64>>,
    /// Session → its last write or delete, and the writes in flight.
    writes: RefCell<HashMap<Key, WriteEntry>>,
    /// Writes and deletes noted so far.
    write_count: Cell<u64>,
    /// The highest write count among marks forgotten to stay bounded.
    forgotten: Cell<u64>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Claims the sliding write of `id` until `until_ms`: true for the first
    /// caller, false while an earlier claim holds.
    pub fn claim_slide(&self, id: &SessionId, now_ms: i64, until_ms: i64) -> bool {
        let mut slides = self.slides.borrow_mut();
        if slides.get(&id.key()).is_some_and(|&until| until > now_ms) {
            return false;
        }
        if slides.len() >= MAX_ENTRIES && !slides.contains_key(&id.key()) {
            slides.retain(|_, &mut until| until > now_ms);
            if slides.len() >= MAX_ENTRIES {
                // Forgetting a claim only allows one more write: safe.
                let soonest = slides.iter().min_by_key(|(_, &u)| u).map(|(k, _)| *k);
                if let Some(soonest) = soonest {
                    slides.remove(&soonest);
                }
            }
        }
        slides.insert(id.key(), until_ms);
        true
    }

    /// Moves the claim of `id` to `until_ms` (its write was made: hold it
    /// for the rest of the window).
    pub fn hold_slide(&self, id: &SessionId, until_ms: i64) {
        if let Some(until) = self.slides.borrow_mut().get_mut(&id.key()) {
            *until = until_ms;
        }
    }

    /// Gives a claim back (its write failed or will never run), so that the
    /// next request may claim it.
    pub fn release_slide(&self, id: &SessionId) {
        self.slides.borrow_mut().remove(&id.key());
    }

    /// The write mark of `id` now (see [`WriteMark`]).
    pub fn mark(&self, id: &SessionId) -> WriteMark {
        let writes = self.writes.borrow();
        let entry = writes.get(&id.key());
        // A session whose entry was forgotten may have been written at any
        // count up to `forgotten`: answering that keeps the check safe.
        WriteMark {
            count: entry.map_or(0, |e| e.count).max(self.forgotten.get()),
            in_flight: entry.is_some_and(|e| e.in_flight > 0),
        }
    }

    /// What this isolate wrote last for `id`: `None` when it does not know
    /// (never wrote it, forgot, or the last write failed).
    pub fn last_write(&self, id: &SessionId) -> Option<LastWrite> {
        self.writes
            .borrow()
            .get(&id.key())
            .and_then(|e| e.last.clone())
    }

    /// Notes a write or delete of `id`, before its first `await`: every
    /// read-modify-write of `id` that took its mark earlier, or reads while
    /// it is in flight, changes `last` instead of what it read.
    pub fn note_write(&self, id: &SessionId, last: LastWrite) -> WriteTicket {
        let count = self.write_count.get() + 1;
        self.write_count.set(count);
        let mut writes = self.writes.borrow_mut();
        if writes.len() >= MAX_ENTRIES && !writes.contains_key(&id.key()) {
            // Forget the oldest entry with nothing in flight (there always is
            // one in practice; else the oldest).
            let oldest = writes
                .iter()
                .min_by_key(|(_, e)| (e.in_flight > 0, e.count))
                .map(|(k, e)| (*k, e.count));
            if let Some((key, at)) = oldest {
                writes.remove(&key);
                self.forgotten.set(self.forgotten.get().max(at));
            }
        }
        let entry = writes.entry(id.key()).or_insert(WriteEntry {
            count,
            last: None,
            in_flight: 0,
        });
        entry.count = count;
        entry.last = Some(last);
        entry.in_flight += 1;
        WriteTicket { key: id.key() }
    }

    /// Ends a write noted with [`Ledger::note_write`]; a failed one leaves
    /// what KV holds unknown.
    pub fn finish_write(&self, ticket: WriteTicket, succeeded: bool) {
        if let Some(entry) = self.writes.borrow_mut().get_mut(&ticket.key) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if !succeeded {
                entry.last = None;
            }
        }
    }

    /// Number of remembered (claims, write marks).
    pub fn len(&self) -> (usize, usize) {
        (self.slides.borrow().len(), self.writes.borrow().len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeededRandom;

    fn id(seed: u64) -> SessionId {
        SessionId::generate(
            crate::token::OwnerTag::for_user("", "u"),
            &SeededRandom::new(seed),
        )
        .unwrap()
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
        assert!(ledger.claim_slide(&a, 1000, 2000), "the lease has passed");
        ledger.hold_slide(&a, 5000);
        assert!(!ledger.claim_slide(&a, 4999, 6000), "held after the write");
        ledger.release_slide(&a);
        assert!(ledger.claim_slide(&a, 1001, 3000), "released");
    }

    #[test]
    fn a_write_moves_the_mark_of_that_session_only() {
        let ledger = Ledger::new();
        let (a, b) = (id(1), id(2));
        let (ma, mb) = (ledger.mark(&a), ledger.mark(&b));
        let ticket = ledger.note_write(&a, LastWrite::Deleted);
        assert!(ma.read_may_be_stale(ledger.mark(&a)));
        assert!(!mb.read_may_be_stale(ledger.mark(&b)));
        // A mark taken while the write is in flight: a read may miss it.
        assert!(ledger.mark(&a).read_may_be_stale(ledger.mark(&a)));
        ledger.finish_write(ticket, true);
        let ma = ledger.mark(&a);
        assert!(!ma.read_may_be_stale(ledger.mark(&a)), "done: reads see it");
        assert!(matches!(ledger.last_write(&a), Some(LastWrite::Deleted)));
        let ticket = ledger.note_write(&b, LastWrite::Deleted);
        assert!(!ma.read_may_be_stale(ledger.mark(&a)));
        ledger.finish_write(ticket, false);
        assert!(
            ledger.last_write(&b).is_none(),
            "a failed write leaves KV unknown"
        );
    }

    #[test]
    fn forgetting_a_mark_is_safe() {
        // Fill the map with writes of other sessions: the mark of `a`, taken
        // before its write was forgotten, must not read as unchanged.
        let ledger = Ledger::new();
        let a = id(0);
        let before = ledger.mark(&a);
        ledger.finish_write(ledger.note_write(&a, LastWrite::Deleted), true);
        for seed in 1..=(MAX_ENTRIES as u64) {
            ledger.finish_write(ledger.note_write(&id(seed), LastWrite::Deleted), true);
        }
        assert_eq!(ledger.len().1, MAX_ENTRIES);
        assert!(
            before.read_may_be_stale(ledger.mark(&a)),
            "a forgotten write still counts as a write"
        );
        assert!(ledger.last_write(&a).is_none(), "what it was is forgotten");
        // And a mark taken after the forgetting holds until the next write.
        let now = ledger.mark(&a);
        assert!(!now.read_may_be_stale(ledger.mark(&a)));
        let _in_flight = ledger.note_write(&a, LastWrite::Deleted);
        assert!(now.read_may_be_stale(ledger.mark(&a)));
    }

    #[test]
    fn claims_are_bounded() {
        let ledger = Ledger::new();
        for seed in 0..(MAX_ENTRIES as u64 + 500) {
            assert!(ledger.claim_slide(&id(seed), 0, 10 + seed as i64));
        }
        assert_eq!(ledger.len().0, MAX_ENTRIES);
        assert!(!ledger.claim_slide(&id(MAX_ENTRIES as u64 + 499), 0, 1));
        assert!(
            ledger.claim_slide(&id(0), 0, 1),
            "forgotten, so claimable again"
        );
    }
}
