//! A clock that only moves when told to.

use std::cell::Cell;
use std::rc::Rc;

use crate::clock::Clock;

/// A clock that only moves when told to. Clones share the same time.
#[derive(Clone, Debug)]
pub struct ManualClock(Rc<Cell<i64>>);

impl ManualClock {
    pub fn new(now_ms: i64) -> Self {
        Self(Rc::new(Cell::new(now_ms)))
    }

    pub fn set_ms(&self, now_ms: i64) {
        self.0.set(now_ms);
    }

    pub fn advance_secs(&self, secs: i64) {
        self.0.set(self.0.get() + secs * 1000);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let clock = ManualClock::new(1_000);
        let other = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance_secs(61);
        assert_eq!(other.now_ms(), 62_000);
        other.set_ms(5);
        assert_eq!(clock.now_ms(), 5);
    }
}
