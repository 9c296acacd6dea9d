//! Awaiting a JS promise on the hot path. `wasm_bindgen_futures::JsFuture`
//! makes two closures per await (each a JS function made, registered for
//! finalization, and torn down after), about a tenth of a guarded request's
//! glue time. Here one callback, made once per isolate, settles every
//! promise: its outcome lands in a slot of a table, and the waiting future
//! is woken as with `JsFuture`.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function settle(promise, slot, resume) {
  promise.then((value) => resume(slot, value, true), (error) => resume(slot, error, false));
}
"#)]
extern "C" {
    /// Calls `resume(slot, value, true)` when `promise` fulfils, `resume(slot,
    /// error, false)` when it rejects.
    #[wasm_bindgen(catch)]
    fn settle(promise: &Promise, slot: u32, resume: &Function) -> Result<(), JsValue>;
}

enum Slot {
    Free,
    /// Not settled yet; the waker of the future's last poll.
    Waiting(Option<Waker>),
    Settled(Result<JsValue, JsValue>),
    /// Its future was dropped before the promise settled.
    Abandoned,
}

#[derive(Default)]
struct Slots {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl Slots {
    fn take(&mut self) -> u32 {
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = Slot::Waiting(None);
            return i;
        }
        self.slots.push(Slot::Waiting(None));
        (self.slots.len() - 1) as u32
    }

    fn release(&mut self, i: u32) {
        self.slots[i as usize] = Slot::Free;
        self.free.push(i);
    }
}

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::default();
    static RESUME: Closure<dyn FnMut(u32, JsValue, bool)> = Closure::new(resume);
}

fn resume(slot: u32, value: JsValue, ok: bool) {
    let waker = SLOTS.with(|slots| {
        let mut slots = slots.borrow_mut();
        let entry = slots.slots.get_mut(slot as usize)?;
        match std::mem::replace(entry, Slot::Free) {
            Slot::Waiting(waker) => {
                *entry = Slot::Settled(if ok { Ok(value) } else { Err(value) });
                waker
            }
            Slot::Abandoned => {
                slots.release(slot);
                None
            }
            // A promise settles once: nothing else can be here.
            other => {
                *entry = other;
                None
            }
        }
    });
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// A promise's outcome, as a future: `Ok` with its value, `Err` with the
/// reason it rejected.
pub struct Settled {
    /// Its slot, [`DONE`] once the outcome is taken (the slot may then be
    /// another promise's).
    slot: u32,
}

const DONE: u32 = u32::MAX;

/// Awaits `promise` (see the module docs).
pub fn settled(promise: &Promise) -> Settled {
    let slot = SLOTS.with(|slots| slots.borrow_mut().take());
    let attached = RESUME.with(|resume| settle(promise, slot, resume.as_ref().unchecked_ref()));
    if let Err(error) = attached {
        // `then` threw (a hostile thenable): the await fails at once.
        SLOTS.with(|slots| slots.borrow_mut().slots[slot as usize] = Slot::Settled(Err(error)));
    }
    Settled { slot }
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let slot = this.slot;
        SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            let Some(entry) = slots.slots.get_mut(slot as usize) else {
                // Polled again after it was ready: it never is again.
                return Poll::Pending;
            };
            match std::mem::replace(entry, Slot::Free) {
                Slot::Settled(outcome) => {
                    slots.release(slot);
                    this.slot = DONE;
                    Poll::Ready(outcome)
                }
                Slot::Waiting(_) => {
                    *entry = Slot::Waiting(Some(cx.waker().clone()));
                    Poll::Pending
                }
                other => {
                    *entry = other;
                    Poll::Pending
                }
            }
        })
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        if self.slot == DONE {
            return;
        }
        SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            match slots.slots.get(self.slot as usize) {
                Some(Slot::Waiting(_)) => slots.slots[self.slot as usize] = Slot::Abandoned,
                Some(Slot::Settled(_)) => slots.release(self.slot),
                _ => {}
            }
        });
    }
}
