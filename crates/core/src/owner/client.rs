//! The Worker's side of `strong` mode: each operation sent to the owner it
//! names ([`super::route`]), over an [`OwnerTransport`].
//!
//! ```ignore
//! let client = OwnerClient::new(settings, kv_service, clock, transport);
//! let session = client.run(Op::Verify { token }, &ctx).await?.session()?;   // one owner call
//! ```
//!
//! What needs no owner runs `here`, the `eventual` service: the global
//! listing, over KV's index (kept by the owners), and what names no owner (a
//! forged token, a malformed id), refused there with no storage call. A bad
//! patch is refused before sending ([`Op::precheck`]).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use super::owner::OwnerSettings;
use super::route::{route, Route};
use super::wire;
use crate::clock::Clock;
use crate::events::Context;
use crate::ops::{Op, Reply, Sessions};
use crate::service::SessionError;
use crate::store::StoreError;

/// A boxed future of the transport (wasm is single-threaded: not `Send`).
pub type TransportFuture<'a> = Pin<Box<dyn Future<Output = Result<String, StoreError>> + 'a>>;

/// Delivers one operation (JSON text) to the owner named `owner` and
/// returns its reply (JSON text). An owner that cannot be reached or fails
/// is `StoreError::Unavailable`: callers fail closed.
pub trait OwnerTransport {
    fn call<'a>(&'a self, owner: &'a str, body: String) -> TransportFuture<'a>;
}

/// See the module documentation.
pub struct OwnerClient<H, C> {
    settings: OwnerSettings,
    here: H,
    clock: C,
    transport: Rc<dyn OwnerTransport>,
}

impl<H: Sessions, C: Clock> OwnerClient<H, C> {
    pub fn new(
        settings: OwnerSettings,
        here: H,
        clock: C,
        transport: Rc<dyn OwnerTransport>,
    ) -> Self {
        Self {
            settings,
            here,
            clock,
            transport,
        }
    }
}

impl<H: Sessions, C: Clock> Sessions for OwnerClient<H, C> {
    async fn run(&self, op: Op, ctx: &Context) -> Result<Reply, SessionError> {
        match route(&op, &self.settings) {
            Route::Here => self.here.run(op, ctx).await,
            Route::Owner(tag) => {
                op.precheck(self.clock.now_ms())?;
                let name = self.settings.layout.owner_name(tag);
                let body = wire::encode_call(&op, ctx)?;
                let reply = self.transport.call(&name, body).await?;
                wire::decode_reply(&reply)
            }
        }
    }
}
