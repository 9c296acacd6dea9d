//! Time as an input, so expiry can be tested without waiting.

use std::rc::Rc;

/// A source of the current time, in milliseconds since the Unix epoch.
pub trait Clock {
    fn now_ms(&self) -> i64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }
}

impl<C: Clock + ?Sized> Clock for Rc<C> {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }
}
