//! The platform's clock for the core: `Date.now()` of the JS runtime.

use session_core::clock::Clock;

/// Wall-clock time from the Workers runtime. (On Workers, `Date.now()` only
/// advances across I/O, which is all expiry needs.)
#[derive(Clone, Copy, Debug, Default)]
pub struct JsClock;

impl Clock for JsClock {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
}
