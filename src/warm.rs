//! The start-up warm-up: one guarded request served at module start, with
//! stand-ins for everything outside the isolate, so that the code of the
//! guard's hot path is compiled before the first real request arrives.
//!
//! V8 compiles a wasm function on its first call. Without a warm-up the
//! first guarded request of every isolate pays for compiling every function
//! it touches (most of its CPU; see bench/README.md). Workers start an
//! isolate while the TLS handshake of the request that needs it is still
//! under way, so work moved to start-up is mostly hidden from the client.
//!
//! The warm-up runs the very code a request runs ([`crate::serve`], the same
//! types), with its own settings (a key made up for it, never the
//! deployment's: env is not available at start-up), its own ledger, an
//! in-memory KV namespace and an origin that answers at once. It never
//! touches the isolate's [`crate::settings`] or ledger, makes no I/O (not
//! allowed at start-up, nor are random values or a body stream), and
//! nothing it does outlives it.

use std::rc::Rc;

use session_core::Ledger;
use session_http::config::Config;
use wasm_bindgen::prelude::*;
use worker::{Context, Env};

use crate::{serve, Served};

#[wasm_bindgen(inline_js = r#"
const WARMED = Symbol.for('edge-session.warm-up');

export function claimWarmUp() {
  if (globalThis[WARMED]) return false;
  globalThis[WARMED] = true;
  return true;
}

export function warmEnv(key, record) {
  const map = new Map([[key, record]]);
  const SESSIONS = {
    getWithMetadata: (key) => Promise.resolve({ value: map.get(key) ?? null, metadata: null }),
    put: (key, value) => (map.set(key, value), Promise.resolve()),
    delete: (key) => (map.delete(key), Promise.resolve()),
    list: () => Promise.resolve({ keys: [], list_complete: true }),
  };
  return { SESSIONS };
}

export function warmContext() {
  return { waitUntil() {}, passThroughOnException() {} };
}

export function warmOrigin() {
  // A body would be a stream, which start-up may not create.
  return (url, init) =>
    Promise.resolve(
      new Response(null, {
        headers: { 'x-warm-up': 'origin', 'x-warm-up-session': init.headers.get('x-session-id') ?? '' },
      }),
    );
}

export function warmRequest(url, cookie) {
  return new Request(url, {
    headers: { cookie, accept: 'text/html,application/xhtml+xml', 'user-agent': 'edge-session warm-up' },
  });
}
"#)]
extern "C" {
    /// `true` the first time it is called in this JS global, `false` after:
    /// a reinstantiated module (after a crash) or an RPC call of the
    /// exported `start` runs `start` again, and the warm-up must not.
    #[wasm_bindgen(js_name = claimWarmUp)]
    fn claim_warm_up() -> bool;
    /// An env with only `SESSIONS`: a KV namespace over a `Map` holding
    /// `record` at `key`.
    #[wasm_bindgen(js_name = warmEnv, catch)]
    fn warm_env(key: &str, record: &str) -> Result<JsValue, JsValue>;
    /// A context whose `waitUntil` drops what it is given.
    #[wasm_bindgen(js_name = warmContext, catch)]
    fn warm_context() -> Result<JsValue, JsValue>;
    /// An origin answering 200, no body, `X-Warm-Up: origin` and the
    /// `X-Session-Id` it was sent as `X-Warm-Up-Session`, to anything.
    #[wasm_bindgen(js_name = warmOrigin, catch)]
    fn warm_origin() -> Result<js_sys::Function, JsValue>;
    /// A browser's GET of `url` carrying `cookie`.
    #[wasm_bindgen(js_name = warmRequest, catch)]
    fn warm_request(url: &str, cookie: &str) -> Result<web_sys::Request, JsValue>;
}

/// The warm-up's own configuration: a key of its own, an origin that is
/// never reached, every other var at its default.
const WARM_VARS: [(&str, &str); 2] = [
    (
        "TOKEN_KEYS",
        "warm:d2FybS11cCBrZXkgb2YgdGhlIGVkZ2Ugc2Vzc2lvbnM=",
    ),
    ("ORIGIN_URL", "https://origin.invalid"),
];

/// Starts the warm-up, once per JS global; it runs on the start-up's
/// microtasks. Whatever goes wrong in it (every runtime call of it is
/// caught) only leaves the first request cold; were it to crash the
/// instance, the reinstantiated one does not run it again.
pub fn warm_up() {
    if !claim_warm_up() {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        let _ = serve_warm_request().await;
    });
}

/// Serves the warm-up's request; the answer is the one the client would get
/// (the stand-in origin's, when the guard let it through). `None` only if
/// the stand-ins could not be made.
pub async fn serve_warm_request() -> Option<web_sys::Response> {
    let settings = Rc::new(Config::from_vars(|name| {
        WARM_VARS
            .iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| (*value).to_owned())
    }));
    let config = settings.as_ref().as_ref().ok()?;
    let id = config
        .key_ring
        .as_ref()
        .ok()?
        .verify_token(WARM_TOKEN)
        .ok()?
        .id;
    let env: Env = warm_env(&config.layout.session_key(&id), WARM_RECORD)
        .ok()?
        .unchecked_into();
    let cookie = format!("theme=warm; {}={WARM_TOKEN}", config.cookie_name);
    let req = warm_request("https://warm.invalid/warm-up?x=1", &cookie).ok()?;
    let ctx = Context::new(warm_context().ok()?.unchecked_into());
    let served = Served {
        settings: Rc::clone(&settings),
        ledger: Rc::new(Ledger::default()),
        origin: Some(warm_origin().ok()?),
    };
    serve(&req, &env, &ctx, &served).await.ok()
}

/// The warm-up's session: its token under [`WARM_VARS`]' key and its
/// record (stored under the id the token names), made once by `SessionService::create` (user `warm-up`, meta
/// `{"roles":["warm-up"]}`, with both expiries moved to 2100) and written
/// down here, so that no code to mint sessions (nor a second copy of the
/// service for a seeded random source) is compiled in for the warm-up.
/// They mean nothing under any other key. The wasm test of this module
/// checks that the guard accepts them.
const WARM_TOKEN: &str = "es1.warm.WVGsEFYC4ttne-iR4ztTonYQj4Q5bcLXLOJ1_bDg7zc.\
cL7Q_jszK3sEaLdC5wnMr7Fpvke2692ZOwMOmtWvvIk.VzITJNh0poqm0uc14eIbfklBve1WaoU3lXTNbFGRrK4";
const WARM_RECORD: &str = r#"{"v":1,"id":"WVGsEFYC4ttne-iR4ztTonYQj4Q5bcLXLOJ1_bDg7zc","userId":"warm-up","label":null,"meta":{"roles":["warm-up"]},"client":{"userAgent":null,"country":null},"createdAt":1796000000000,"lastSeenAt":1796000000000,"expiresAt":4102444800000,"absoluteExpiresAt":4102444800000,"idleTtl":604800,"absoluteTtl":2592000,"secretHash":"S2YizkW9EOE2SIuUIosoDJ-s0ACgEnAnO1n03MqeYw8"}"#;
