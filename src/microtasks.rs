//! How this Worker's futures are scheduled. wasm-bindgen-futures runs every
//! woken task from a microtask, queued with `queueMicrotask` when the global
//! has one, else as a reaction to a resolved promise. In workerd
//! `queueMicrotask` costs about twenty times a promise reaction (it tracks
//! the async context of each callback), and a guarded request is woken three
//! times. The library decides once, when its queue is first used: it is
//! made here, at start-up, while `queueMicrotask` is hidden, so it takes the
//! promise path for the isolate's life. Both run the task in the same
//! microtask checkpoint; only the cost differs (bench/README.md).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function withoutQueueMicrotask(f) {
  const saved = globalThis.queueMicrotask;
  try {
    globalThis.queueMicrotask = undefined;
  } catch {
    // Not writable here: the queue keeps using it, nothing else changes.
  }
  try {
    f();
  } finally {
    try {
      globalThis.queueMicrotask = saved;
    } catch {}
  }
}
"#)]
extern "C" {
    /// Calls `f` with `globalThis.queueMicrotask` undefined, then puts it back.
    #[wasm_bindgen(js_name = withoutQueueMicrotask)]
    fn without_queue_microtask(f: &mut dyn FnMut());
}

/// Makes wasm-bindgen-futures schedule with promise reactions. Must be the
/// first spawn of the module (it makes the queue): the start function calls
/// it before anything else. Were the queue already made, its next wake-up
/// would find no `queueMicrotask` and the queue would stop, so this is not
/// callable from the wasm test runner (which spawns first);
/// tests/entry.test.mjs checks it in workerd.
pub fn schedule_with_promise_reactions() {
    without_queue_microtask(&mut || wasm_bindgen_futures::spawn_local(async {}));
}
