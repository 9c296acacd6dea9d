//! The Workers Rate Limiting bindings behind [`Limiters`]: one
//! `binding.limit({key})` call per count. Which binding counts what, under
//! which key, and what the answer is, is `session_http::ratelimit`'s.

use session_http::ratelimit::{LimitFuture, Limiters, Outcome};
use worker::Env;

/// The env's rate limiting bindings, looked up by name on each call.
pub struct WorkerLimiters {
    env: Env,
}

impl WorkerLimiters {
    pub fn new(env: Env) -> Self {
        Self { env }
    }
}

/// Whether `env` has a rate limiting binding named `name`.
pub fn is_bound(env: &Env, name: &str) -> bool {
    env.rate_limiter(name).is_ok()
}

impl Limiters for WorkerLimiters {
    fn limit<'a>(&'a self, binding: &'a str, key: String) -> LimitFuture<'a> {
        Box::pin(async move {
            let Ok(limiter) = self.env.rate_limiter(binding) else {
                return Outcome::Unbound;
            };
            match limiter.limit(key).await {
                Ok(outcome) if outcome.success => Outcome::Allowed,
                Ok(_) => Outcome::Limited,
                Err(_) => Outcome::Failed,
            }
        })
    }
}
