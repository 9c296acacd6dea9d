//! Rate limits (contract §6 "Rate limits"): which Workers Rate Limiting
//! binding counts what, under which key, and what a request over a limit is
//! answered. Every decision is here; the Worker only calls the bindings
//! ([`Limiters`], `src/ratelimit.rs`). A binding that is not bound is off.
//!
//! ```ignore
//! let limits = RateLimits::new(Rc::new(bindings), refusals);
//! let attempt = limits.admin_gate(&head, now)?;        // before the admin key is compared
//! // ... the key did not match:
//! return Err(limits.admin_failed(attempt, now, unauthorized).await);
//! limits.creation(prefix, "alice", OnFailure::Closed).await?; // before a session is made
//! limits.rule("RL_API", client_key(&head)).await?;     // before a request is forwarded
//! ```
//!
//! # What counts
//! - [`ADMIN_BINDING`] (`RL_ADMIN`): failed admin-key attempts (a key
//!   presented that is not `ADMIN_KEY`) per client. The binding's `limit()`
//!   counts every call it answers, so it is called only once a key failed:
//!   a backend's good requests never count and never pay for the call. A
//!   client the binding refused (or whose failure could not be counted) is
//!   remembered by the isolate for [`RETRY_AFTER_SECS`] ([`Refusals`]) and
//!   refused *before* its key is compared, so a right guess after the limit
//!   gets nothing. Another isolate of the same location learns it at the
//!   client's next failure there.
//! - [`CREATE_BINDING`] (`RL_CREATE`): sessions created per user, through
//!   the admin API and the origin's handoff. In `strong` mode the owner also
//!   counts them exactly ([`session_core::owner::creations`]).
//! - A rule's `"limit": "RL_NAME"`: the rule's requests per session user, or
//!   per client on a public rule.
//!
//! Over a limit: 429 `rate_limited`, `Retry-After: 60` ([`RETRY_AFTER_SECS`]:
//! a binding's period is 10 or 60 s and the binding does not say which, nor
//! how far into it the count is; a minute later the window has surely
//! moved). A binding that fails (throws) lets the request through
//! ([`OnFailure::Open`]), except on the admin API, which fails closed with
//! 503 `store_unavailable` ([`OnFailure::Closed`]).
//!
//! # Keys
//! - A user: `u:` and the user's owner tag (a hash of `KEY_PREFIX` and the
//!   userId; no userId reaches the binding): [`user_key`].
//! - A client: `ip:` and its `CF-Connecting-IP`; an IPv6 address is cut to
//!   its /64, the block one subscriber gets (a host picks addresses in it at
//!   will, so counting them one by one would limit nothing); an IPv4-mapped
//!   IPv6 address counts as its IPv4 one: [`client_key`].
//! - No `CF-Connecting-IP` (or one that is not an address): `anon:` and a
//!   hash of `User-Agent` and `Accept-Language`. Cloudflare's edge sets
//!   `CF-Connecting-IP` on every request from the Internet, and a client can
//!   neither set nor remove it; a request without it came from your own code
//!   (a service binding, a Worker in front of this one) or a local server.
//!   One bucket for all such requests would let one caller lock every other
//!   out; headers that differ between people's browsers keep them apart.
//!   A caller could vary them to get more tries, but only one that reaches
//!   the Worker without the edge: pass `CF-Connecting-IP` on when you call
//!   it from another Worker.

use std::cell::RefCell;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;

use http::header::{ACCEPT_LANGUAGE, USER_AGENT};
use session_core::OwnerTag;
use sha2::{Digest, Sha256};

use crate::problem::{ErrorCode, Problem};
use crate::request::RequestHead;

/// Counts failed admin-key attempts per client.
pub const ADMIN_BINDING: &str = "RL_ADMIN";
/// Counts sessions created per user.
pub const CREATE_BINDING: &str = "RL_CREATE";
/// The bindings the service counts its own work with: a rule's `limit`
/// names another one.
pub const SERVICE_BINDINGS: [&str; 2] = [ADMIN_BINDING, CREATE_BINDING];
/// `Retry-After` of a 429, and how long a refused admin client is
/// remembered: the longest period a binding can have.
pub const RETRY_AFTER_SECS: u64 = 60;
/// Most clients [`Refusals`] remembers at once.
pub const MAX_REFUSALS: usize = 1024;
/// The header Cloudflare's edge puts the client's address in.
pub const CLIENT_IP_HEADER: &str = "cf-connecting-ip";

/// What a binding answered one `limit({key})` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted, under the limit.
    Allowed,
    /// Over the limit.
    Limited,
    /// No rate limiting binding of that name: the limit is off.
    Unbound,
    /// The binding failed (threw).
    Failed,
}

/// A boxed future of [`Limiters::limit`] (wasm is single-threaded: not `Send`).
pub type LimitFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + 'a>>;

/// The platform's rate limiting bindings: `binding.limit({key})`.
pub trait Limiters {
    fn limit<'a>(&'a self, binding: &'a str, key: String) -> LimitFuture<'a>;
}

/// No binding at all: every limit is off.
pub struct NoLimiters;

impl Limiters for NoLimiters {
    fn limit<'a>(&'a self, _: &'a str, _: String) -> LimitFuture<'a> {
        Box::pin(std::future::ready(Outcome::Unbound))
    }
}

/// What a failing binding means for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Let it through (the guard, the handoff).
    Open,
    /// Refuse it, 503 `store_unavailable` (the admin API).
    Closed,
}

/// A limit that let the request through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    /// Counted under the limit, or the limit is off.
    Yes,
    /// The binding failed and the request goes on (log it).
    Unchecked,
}

/// Why an admin client is refused before its key is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Limited,
    Unavailable,
}

/// The admin clients this isolate refuses before comparing their key, each
/// until a time (ms). Bounded by [`MAX_REFUSALS`]: when full, those past
/// their time go, then the one ending first. A list looked through on each
/// admin request: a thousand short keys take microseconds, and its code is
/// a fraction of a map's.
#[derive(Debug, Default)]
pub struct Refusals {
    until: RefCell<Vec<(String, i64, Refusal)>>,
}

impl Refusals {
    fn get(&self, key: &str, now_ms: i64) -> Option<(i64, Refusal)> {
        self.until
            .borrow()
            .iter()
            .find(|(k, until, _)| k == key && *until > now_ms)
            .map(|(_, until, why)| (*until, *why))
    }

    fn put(&self, key: String, until_ms: i64, why: Refusal, now_ms: i64) {
        let mut list = self.until.borrow_mut();
        list.retain(|(k, until, _)| *k != key && *until > now_ms);
        if list.len() >= MAX_REFUSALS {
            if let Some(first) = (0..list.len()).min_by_key(|&i| list[i].1) {
                list.swap_remove(first);
            }
        }
        list.push((key, until_ms, why));
    }

    /// Clients remembered (tests).
    pub fn len(&self) -> usize {
        self.until.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An admin request that passed [`RateLimits::admin_gate`]: its client's key.
#[derive(Debug)]
pub struct AdminAttempt {
    key: String,
}

/// The bindings and the isolate's memory of refused admin clients. See the
/// module documentation.
#[derive(Clone)]
pub struct RateLimits {
    bindings: Rc<dyn Limiters>,
    refusals: Rc<Refusals>,
}

impl Default for RateLimits {
    /// Every limit off.
    fn default() -> Self {
        Self::new(Rc::new(NoLimiters), Rc::default())
    }
}

impl RateLimits {
    pub fn new(bindings: Rc<dyn Limiters>, refusals: Rc<Refusals>) -> Self {
        Self { bindings, refusals }
    }

    /// Before the admin key is compared: a client this isolate saw over
    /// `RL_ADMIN` (or whose failure could not be counted) within
    /// [`RETRY_AFTER_SECS`] is refused again, 429 (or 503), whatever key it
    /// presents. No binding call.
    pub fn admin_gate(&self, head: &RequestHead, now_ms: i64) -> Result<AdminAttempt, Problem> {
        let key = client_key(head);
        match self.refusals.get(&key, now_ms) {
            None => Ok(AdminAttempt { key }),
            Some((until, Refusal::Limited)) => Err(admin_limited(secs_until(until, now_ms))),
            Some((_, Refusal::Unavailable)) => Err(admin_unavailable()),
        }
    }

    /// After a presented admin key did not match: the failure is counted
    /// (one `RL_ADMIN` call). Under the limit, or unbound: `refusal` (the
    /// 401). Over it: 429, and the client is refused before comparing for
    /// [`RETRY_AFTER_SECS`]. The binding failed: 503 `store_unavailable`
    /// (fail closed), remembered the same way.
    pub async fn admin_failed(
        &self,
        attempt: AdminAttempt,
        now_ms: i64,
        refusal: Problem,
    ) -> Problem {
        let outcome = self
            .bindings
            .limit(ADMIN_BINDING, attempt.key.clone())
            .await;
        let (why, problem) = match outcome {
            Outcome::Allowed | Outcome::Unbound => return refusal,
            Outcome::Limited => (Refusal::Limited, admin_limited(RETRY_AFTER_SECS)),
            Outcome::Failed => (Refusal::Unavailable, admin_unavailable()),
        };
        let until = now_ms.saturating_add(RETRY_AFTER_SECS as i64 * 1000);
        self.refusals.put(attempt.key, until, why, now_ms);
        problem
    }

    /// Counts a session about to be created for `user_id` on `RL_CREATE`:
    /// 429 over the limit; a failing binding per `on_failure`.
    pub async fn creation(
        &self,
        key_prefix: &str,
        user_id: &str,
        on_failure: OnFailure,
    ) -> Result<Passed, Problem> {
        let outcome = self
            .bindings
            .limit(CREATE_BINDING, user_key(key_prefix, user_id))
            .await;
        passed(outcome, on_failure, || {
            Problem::rate_limited(
                RETRY_AFTER_SECS,
                "Too many sessions were created for this user lately: try again later.",
            )
        })
    }

    /// Counts a request of a rule naming `binding`, under `key` (a
    /// [`user_key`] or a [`client_key`]): 429 over the limit; a failing
    /// binding lets it through.
    pub async fn rule(&self, binding: &str, key: String) -> Result<Passed, Problem> {
        let outcome = self.bindings.limit(binding, key).await;
        passed(outcome, OnFailure::Open, || {
            Problem::rate_limited(
                RETRY_AFTER_SECS,
                "Too many requests to this resource: try again in a minute.",
            )
        })
    }

    /// The isolate's memory of refused admin clients.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }
}

fn passed(
    outcome: Outcome,
    on_failure: OnFailure,
    limited: impl FnOnce() -> Problem,
) -> Result<Passed, Problem> {
    match (outcome, on_failure) {
        (Outcome::Allowed | Outcome::Unbound, _) => Ok(Passed::Yes),
        (Outcome::Limited, _) => Err(limited()),
        (Outcome::Failed, OnFailure::Open) => Ok(Passed::Unchecked),
        (Outcome::Failed, OnFailure::Closed) => Err(unavailable()),
    }
}

fn unavailable() -> Problem {
    Problem::new(
        ErrorCode::StoreUnavailable,
        "The rate limit could not be checked: try again later.",
    )
}

fn admin_unavailable() -> Problem {
    Problem::new(
        ErrorCode::StoreUnavailable,
        "Failed admin-key attempts could not be counted: the admin API refuses this client for a minute.",
    )
}

fn admin_limited(retry_after: u64) -> Problem {
    Problem::rate_limited(
        retry_after,
        "Too many failed admin-key attempts from this client: try again later.",
    )
}

fn secs_until(until_ms: i64, now_ms: i64) -> u64 {
    u64::try_from(until_ms.saturating_sub(now_ms))
        .unwrap_or(0)
        .div_ceil(1000)
        .max(1)
}

/// The key of a user: `u:` and its owner tag (see the module docs).
pub fn user_key(key_prefix: &str, user_id: &str) -> String {
    format!("u:{}", OwnerTag::for_user(key_prefix, user_id).to_text())
}

/// The key of the client that sent `head` (see the module docs).
pub fn client_key(head: &RequestHead) -> String {
    match head.header(CLIENT_IP_HEADER).and_then(ip_key) {
        Some(key) => key,
        None => {
            let mut text = Vec::new();
            for name in [USER_AGENT, ACCEPT_LANGUAGE] {
                text.extend_from_slice(head.headers.get(name).map_or(&b""[..], |v| v.as_bytes()));
                text.push(0);
            }
            let digest: [u8; 32] = Sha256::digest(&text).into();
            let hex = u64::from_be_bytes(digest[..8].try_into().unwrap_or_default());
            format!("anon:{hex:016x}")
        }
    }
}

/// `ip:` and the address, an IPv6 one cut to its /64; `None` when `value`
/// is not an IP address.
pub fn ip_key(value: &str) -> Option<String> {
    // Written out by hand: `Ipv6Addr`'s `Display` costs 3 KB of wasm.
    let ip: IpAddr = value.trim().parse().ok()?;
    let v4 = |[a, b, c, d]: [u8; 4]| format!("ip:{a}.{b}.{c}.{d}");
    Some(match ip {
        IpAddr::V4(ip) => v4(ip.octets()),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(ip) => v4(ip.octets()),
            None => {
                let [a, b, c, d, ..] = ip.segments();
                format!("ip:{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    })
}
