//! The Workers Rate Limiting bindings behind [`Limiters`]: one
//! `binding.limit({key})` call per count, made in JS so that a count is one
//! crossing of the wasm boundary. Which binding counts what, under which
//! key, and what the answer is, is `session_http::ratelimit`'s.
//!
//! (`worker::Env::rate_limiter` does the same call through
//! serde-wasm-bindgen and a check of the binding's class name: about 3 KB of
//! wasm and two crossings more, for a call that needs neither.)

use session_http::ratelimit::{LimitFuture, Limiters, Outcome};
use wasm_bindgen::prelude::*;
use worker::Env;

use crate::promise::settled;

#[wasm_bindgen(inline_js = r#"
function binding(env, name) {
  const b = env[name];
  return b !== null && typeof b === 'object' && typeof b.limit === 'function' ? b : undefined;
}

export function isRateLimiter(env, name) {
  return binding(env, name) !== undefined;
}

// 0: not bound, 1: allowed, 2: over the limit, 3: the binding failed.
export function rateLimit(env, name, key) {
  const b = binding(env, name);
  if (b === undefined) return Promise.resolve(0);
  try {
    return Promise.resolve(b.limit({ key })).then(
      (r) => (r !== null && typeof r === 'object' && typeof r.success === 'boolean' ? (r.success ? 1 : 2) : 3),
      () => 3,
    );
  } catch {
    return Promise.resolve(3);
  }
}
"#)]
extern "C" {
    /// Whether `env[name]` is a rate limiting binding (has a `limit` method).
    #[wasm_bindgen(js_name = isRateLimiter)]
    fn is_rate_limiter(env: &JsValue, name: &str) -> bool;
    /// `env[name].limit({key})`, as a number (see the JS above); never rejects.
    #[wasm_bindgen(js_name = rateLimit)]
    fn rate_limit(env: &JsValue, name: &str, key: &str) -> js_sys::Promise;
}

/// Whether `env` has a rate limiting binding named `name`.
pub fn is_bound(env: &Env, name: &str) -> bool {
    is_rate_limiter(env, name)
}

/// The env's rate limiting bindings, looked up by name on each call.
pub struct WorkerLimiters {
    env: Env,
}

impl WorkerLimiters {
    pub fn new(env: Env) -> Self {
        Self { env }
    }
}

impl Limiters for WorkerLimiters {
    fn limit<'a>(&'a self, binding: &'a str, key: String) -> LimitFuture<'a> {
        let answer = settled(&rate_limit(&self.env, binding, &key));
        Box::pin(async move {
            match answer.await.ok().and_then(|v| v.as_f64()).map(|n| n as u8) {
                Some(0) => Outcome::Unbound,
                Some(1) => Outcome::Allowed,
                Some(2) => Outcome::Limited,
                _ => Outcome::Failed,
            }
        })
    }
}
