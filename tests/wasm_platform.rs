//! wasm-bindgen tests of the code that touches JS types (run under Node by
//! wasm-bindgen-test-runner). Compiled on wasm32 only.
#![cfg(target_arch = "wasm32")]

use edge_session::platform::JsClock;
use session_core::clock::Clock;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn js_clock_reads_date_now() {
    let before = js_sys::Date::now() as i64;
    let now = JsClock.now_ms();
    let after = js_sys::Date::now() as i64;
    assert!(before <= now && now <= after, "{before} <= {now} <= {after}");
    // Sanity: after 2020-01-01, in milliseconds (not seconds).
    assert!(now > 1_577_836_800_000);
}
