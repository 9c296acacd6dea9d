//! Fixtures shared by the http crate's tests and its bench (which includes
//! this file by path): a configuration from vars, request heads, and one
//! isolate over an in-memory KV.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

pub use session_core::testing::Ops;
use session_core::testing::{ManualClock, MemoryKv, SeededRandom};
use session_core::{Clock, EventLog, Ledger, Sessions, Slide};
use session_http::app::{App, ConfiguredSessions};
use session_http::config::{Config, ConfigError};
use session_http::guard::{AfterResponse, Forward, GuardDecision};
use session_http::http_url::HttpUrl;
use session_http::problem::Problem;
use session_http::ratelimit::{LimitFuture, Limiters, Outcome, RateLimits, Refusals};
use session_http::request::RequestHead;

/// A `TOKEN_KEYS` with one 32-byte key, `k1`.
pub const TOKEN_KEYS: &str = "k1:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=";
/// `ASSERTION_KEYS` entries (P-256 PKCS#8, made with Node's
/// `generateKeyPairSync('ec', {namedCurve: 'P-256'})`; test keys only).
pub const ASSERTION_K1: &str = session_http::assertion::EXAMPLE_KEYS;
pub const ASSERTION_K2: &str = "k2:MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgoxA1s4Lyn+9gnxgB5XOkU2eqsF409gEmeqDWAo3GjhWhRANCAATup+dP6EEls5qL9dMNASM+ZY6fdGtm0wAquJHLkobv/J0OCNb1RM69/vqTFa1HN6cADhyZSWjr91IIEQATFgDD";
/// An `ADMIN_KEY`.
pub const ADMIN_KEY: &str = "admin-key-for-tests-0123456789";

/// The forward of a guard decision; panics with the status and body of a
/// response.
#[track_caller]
pub fn forwarded(d: GuardDecision) -> Forward {
    match d {
        GuardDecision::Forward(f) => f,
        GuardDecision::Respond(r) => panic!(
            "expected Forward, got {} {}",
            r.status(),
            String::from_utf8_lossy(r.body())
        ),
    }
}

/// The response of a guard decision; panics on a forward.
#[track_caller]
pub fn responded(d: GuardDecision) -> http::Response<Vec<u8>> {
    match d {
        GuardDecision::Respond(r) => r,
        GuardDecision::Forward(f) => panic!("expected Respond, got {f:?}"),
    }
}

/// The configuration of `base` vars with `overrides` applied (an empty
/// override value unsets the var).
pub fn try_config(
    base: &[(&str, &str)],
    overrides: &[(&str, &str)],
) -> Result<Config, ConfigError> {
    let mut vars: HashMap<String, String> = base
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (k, v) in overrides {
        if v.is_empty() {
            vars.remove(*k);
        } else {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
    }
    Config::from_vars(|k| vars.get(k).cloned())
}

/// [`try_config`] that must succeed.
pub fn config(base: &[(&str, &str)], overrides: &[(&str, &str)]) -> Config {
    try_config(base, overrides).unwrap_or_else(|e| panic!("configuration: {e}"))
}

/// A request head for `method url` with `headers` (in order, repeats kept).
pub fn head(method: &str, url: &str, headers: &[(&str, &str)]) -> RequestHead {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    RequestHead::new(
        Method::from_bytes(method.as_bytes()).expect("method"),
        HttpUrl::parse(url).expect("url"),
        map,
        None,
    )
}

/// The app of a [`World`].
pub type TestApp<'s> = App<'s, ConfiguredSessions<MemoryKv, ManualClock, Rc<SeededRandom>>>;

/// One isolate in front of an in-memory KV: a configuration, the KV and the
/// clock it reads, seeded randomness, and the isolate's ledger, shared by
/// every request as in the Worker.
pub struct World {
    pub config: Config,
    pub kv: MemoryKv,
    pub clock: ManualClock,
    pub random: Rc<SeededRandom>,
    pub ledger: Rc<Ledger>,
    /// The events the requests of this isolate made, not yet sent.
    pub events: Rc<EventLog>,
}

impl World {
    /// A fresh KV at `now_ms`, randomness seeded with `seed`.
    pub fn of(config: Config, now_ms: i64, seed: u64) -> World {
        let clock = ManualClock::new(now_ms);
        World {
            config,
            kv: MemoryKv::new(clock.clone()),
            clock,
            random: Rc::new(SeededRandom::new(seed)),
            ledger: Rc::default(),
            events: Rc::default(),
        }
    }

    /// The app serving one request of this isolate.
    pub fn app(&self) -> TestApp<'_> {
        App::eventual(
            &self.config,
            self.kv.clone(),
            self.clock.clone(),
            self.random.clone(),
            self.ledger.clone(),
            Some(self.events.clone()),
        )
    }
}

/// Makes a request's write after its response, as the Worker does.
pub fn run_after<O: Sessions>(after: &AfterResponse, app: &App<'_, O>) -> Result<Slide, Problem> {
    pollster::block_on(after.run(app)).and_then(|reply| Ok(reply.slide()?))
}

/// Rate limiting bindings in memory, as Miniflare runs them: each bound one
/// counts per key in fixed windows of its period (by the clock), answers
/// `Limited` past its limit, and can be made to fail. Counts its calls.
#[derive(Clone)]
pub struct MemoryLimiters {
    clock: ManualClock,
    state: Rc<RefCell<LimiterState>>,
}

#[derive(Default)]
struct LimiterState {
    /// name → (limit, period in seconds, failing)
    bound: HashMap<String, (u64, i64, bool)>,
    /// (name, key, window) → count
    counts: HashMap<(String, String, i64), u64>,
    /// every call: (name, key)
    calls: Vec<(String, String)>,
}

impl MemoryLimiters {
    pub fn new(clock: ManualClock) -> Self {
        Self {
            clock,
            state: Rc::default(),
        }
    }

    /// Binds `name`: `limit` calls per key and `period` seconds.
    pub fn bind(self, name: &str, limit: u64, period: i64) -> Self {
        self.state
            .borrow_mut()
            .bound
            .insert(name.to_owned(), (limit, period, false));
        self
    }

    /// Makes `name` throw on every call (or stop).
    pub fn fail(&self, name: &str, failing: bool) {
        if let Some(b) = self.state.borrow_mut().bound.get_mut(name) {
            b.2 = failing;
        }
    }

    pub fn is_bound(&self, name: &str) -> bool {
        self.state.borrow().bound.contains_key(name)
    }

    /// The calls made so far to `name`: their keys, in order.
    pub fn calls(&self, name: &str) -> Vec<String> {
        let state = self.state.borrow();
        state
            .calls
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, k)| k.clone())
            .collect()
    }

    pub fn total_calls(&self) -> usize {
        self.state.borrow().calls.len()
    }

    /// The [`RateLimits`] of an app over these bindings, with the isolate's
    /// memory `refusals`.
    pub fn limits(&self, refusals: &Rc<Refusals>) -> RateLimits {
        RateLimits::new(Rc::new(self.clone()), Rc::clone(refusals))
    }
}

impl Limiters for MemoryLimiters {
    fn limit<'a>(&'a self, binding: &'a str, key: String) -> LimitFuture<'a> {
        let mut state = self.state.borrow_mut();
        state.calls.push((binding.to_owned(), key.clone()));
        let outcome = match state.bound.get(binding).copied() {
            None => Outcome::Unbound,
            Some((_, _, true)) => Outcome::Failed,
            Some((limit, period, false)) => {
                let window = self.clock.now_ms().div_euclid(period * 1000);
                let count = state
                    .counts
                    .entry((binding.to_owned(), key, window))
                    .or_default();
                if *count >= limit {
                    Outcome::Limited
                } else {
                    *count += 1;
                    Outcome::Allowed
                }
            }
        };
        Box::pin(std::future::ready(outcome))
    }
}
