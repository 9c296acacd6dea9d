//! Shared test fixtures: a service over MemoryKv with a ManualClock, strong
//! mode's owners in memory, typed calls of the operations ([`Ops`]), and a
//! tiny executor helper to poll several futures concurrently.
#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use session_core::owner::{OwnerClient, OwnerSettings, OwnerTransport};
use session_core::store::{KvEntry, ListOptions, ListPage, PutOptions};
pub use session_core::testing::Ops;
use session_core::testing::{ManualClock, MemoryKv, MemoryOwners, MemoryQueue, SeededRandom};
use session_core::{
    Context, KeyLayout, KeyRing, KvRepo, KvStore, Ledger, Op, Policy, Reply, Session, SessionError,
    SessionService, Sessions, Slide, SlideClaims, StoreError,
};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll};

/// 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;

/// The service of `eventual` mode over a KV.
pub type ServiceOver<S> = SessionService<KvRepo<S, ManualClock>, ManualClock, SeededRandom>;
pub type Service = ServiceOver<MemoryKv>;
/// The in-memory twins of the Durable Objects of `strong` mode.
pub type Owners = MemoryOwners<ManualClock, SeededRandom>;
/// `strong` mode's operations, as the Worker runs them.
pub type StrongClient = OwnerClient<Service, ManualClock>;

/// The operations in either mode, as the HTTP layer calls them.
pub enum Api {
    Eventual(Service),
    Strong(StrongClient),
}

impl Sessions for Api {
    async fn run(&self, op: Op, ctx: &Context) -> Result<Reply, SessionError> {
        match self {
            Api::Eventual(s) => s.run(op, ctx).await,
            Api::Strong(s) => s.run(op, ctx).await,
        }
    }
}

pub struct Env {
    pub clock: ManualClock,
    pub kv: MemoryKv,
    pub service: Service,
}

/// What an `eventual`-mode service's isolate decides about sliding.
#[allow(async_fn_in_trait)]
pub trait Isolate {
    /// The session slid now, when sliding is due (see `slide_due`).
    fn slide_due(&self, session: &Session) -> Option<Session>;
    /// The sliding claims of the isolate (its ledger).
    fn claims(&self) -> SlideClaims<ManualClock>;
    /// The sliding write of a claimed session, its claim then held or
    /// given back: what the Worker does after a response.
    async fn slide_claimed(&self, claimed: &Session) -> Result<Slide, SessionError>;
}

impl<S: KvStore> Isolate for ServiceOver<S> {
    fn slide_due(&self, session: &Session) -> Option<Session> {
        session_core::service::slide_due(session, self.now_ms())
    }
    fn claims(&self) -> SlideClaims<ManualClock> {
        SlideClaims::new(Rc::clone(self.repo().ledger()), self.clock().clone())
    }
    async fn slide_claimed(&self, claimed: &Session) -> Result<Slide, SessionError> {
        let session = claimed.clone();
        let result = self.run(Op::Slide { session }, &Context::default()).await;
        self.claims().settle(claimed, &result);
        result.and_then(Reply::slide)
    }
}

/// `kid:base64(32 bytes of `byte`)`.
pub fn key_entry(kid: &str, byte: u8) -> String {
    format!("{kid}:{}", STANDARD.encode([byte; 32]))
}

pub fn env() -> Env {
    env_with(&key_entry("k1", 1), "")
}

pub fn env_with(token_keys: &str, prefix: &str) -> Env {
    let clock = ManualClock::new(T0);
    let kv = MemoryKv::new(clock.clone());
    let service = service_over(&kv, &clock, token_keys, prefix, 42);
    Env { clock, kv, service }
}

/// The owners' settings of `token_keys`, the default layout and `policy`.
pub fn owner_settings(token_keys: &str, policy: Policy) -> OwnerSettings {
    OwnerSettings {
        key_ring: Rc::new(KeyRing::parse(token_keys).expect("test keys")),
        layout: Rc::new(KeyLayout::default()),
        policy,
        create_limit: None,
    }
}

/// `strong` mode over `kv`: owners whose randomness is seeded with
/// `owner_seed`, and the Worker's side, which keeps `here` for what needs
/// no owner (the global listing). Both use `token_keys` and `policy`.
pub fn strong_over(
    kv: &MemoryKv,
    clock: &ManualClock,
    here: Service,
    token_keys: &str,
    owner_seed: u64,
    policy: Policy,
) -> (Api, Rc<Owners>) {
    strong_sending(kv, clock, here, token_keys, owner_seed, policy, None)
}

/// [`strong_over`] whose owners send their events to `queue`.
pub fn strong_sending(
    kv: &MemoryKv,
    clock: &ManualClock,
    here: Service,
    token_keys: &str,
    owner_seed: u64,
    policy: Policy,
    queue: Option<MemoryQueue>,
) -> (Api, Rc<Owners>) {
    let settings = owner_settings(token_keys, policy);
    let owners = Rc::new(
        MemoryOwners::new(
            kv.clone(),
            clock.clone(),
            Rc::new(SeededRandom::new(owner_seed)),
            settings.clone(),
        )
        .with_queue(queue),
    );
    let transport: Rc<dyn OwnerTransport> = owners.clone();
    let client = OwnerClient::new(settings, here.with_policy(policy), clock.clone(), transport);
    (Api::Strong(client), owners)
}

/// Another service over the same store and clock (e.g. after a key rotation).
pub fn service_over(
    kv: &MemoryKv,
    clock: &ManualClock,
    token_keys: &str,
    prefix: &str,
    seed: u64,
) -> Service {
    service_logging(kv, clock, token_keys, prefix, seed, None)
}

/// [`service_over`] keeping its events in `log`.
pub fn service_logging(
    kv: &MemoryKv,
    clock: &ManualClock,
    token_keys: &str,
    prefix: &str,
    seed: u64,
    log: Option<Rc<session_core::EventLog>>,
) -> Service {
    let layout = Rc::new(KeyLayout::new(prefix).expect("test prefix"));
    SessionService::new(
        KvRepo::new(kv.clone(), clock.clone(), layout, Rc::default()).with_events(log),
        clock.clone(),
        SeededRandom::new(seed),
        KeyRing::parse(token_keys).expect("test keys"),
        prefix,
    )
}

pub fn block_on<F: Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

/// Polls every future in turn until all are done (no spawning, no threads):
/// with `MemoryKv::set_yield_each_op(true)` their KV calls interleave.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx: &mut TaskContext<'_>| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(
                outputs
                    .iter_mut()
                    .map(|o| o.take().expect("polled to completion"))
                    .collect(),
            )
        }
    })
    .await
}

/// Polls two futures of different types concurrently.
pub async fn join2<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (Box::pin(a), Box::pin(b));
    let (mut out_a, mut out_b) = (None, None);
    std::future::poll_fn(move |cx: &mut TaskContext<'_>| {
        if out_a.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                out_a = Some(v);
            }
        }
        if out_b.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                out_b = Some(v);
            }
        }
        match (out_a.take(), out_b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                out_a = x;
                out_b = y;
                Poll::Pending
            }
        }
    })
    .await
}

/// Returns `Pending` `n` times (waking itself each time), then `Ready`.
pub async fn yield_times(n: usize) {
    let mut left = n;
    std::future::poll_fn(move |cx: &mut TaskContext<'_>| {
        if left == 0 {
            Poll::Ready(())
        } else {
            left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// A KV whose next `get` of a chosen key reads at once but answers only
/// after `release()`: the return leg of a KV round trip, made long, so that
/// another request can act between a read and the put that follows it.
#[derive(Clone)]
pub struct HoldingKv {
    pub inner: MemoryKv,
    hold_key: Rc<RefCell<Option<String>>>,
    released: Rc<Cell<bool>>,
    holding: Rc<Cell<bool>>,
}

impl HoldingKv {
    pub fn new(inner: MemoryKv) -> Self {
        HoldingKv {
            inner,
            hold_key: Rc::default(),
            released: Rc::new(Cell::new(false)),
            holding: Rc::new(Cell::new(false)),
        }
    }

    /// Holds the answer of the next `get` of `key`.
    pub fn hold_next_get(&self, key: &str) {
        *self.hold_key.borrow_mut() = Some(key.to_owned());
        self.released.set(false);
    }

    /// Whether a held `get` has read and waits for `release`.
    pub fn holding(&self) -> bool {
        self.holding.get()
    }

    pub fn release(&self) {
        self.released.set(true);
    }

    /// Waits until a held `get` has read.
    pub async fn until_holding(&self) {
        while !self.holding() {
            yield_times(1).await;
        }
    }
}

impl KvStore for HoldingKv {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        let hold = self.hold_key.borrow().as_deref() == Some(key);
        let value = self.inner.get(key).await;
        if hold {
            *self.hold_key.borrow_mut() = None;
            self.holding.set(true);
            while !self.released.get() {
                yield_times(1).await;
            }
            self.holding.set(false);
        }
        value
    }
    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
        self.inner.put(key, value, options).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        self.inner.list(options).await
    }
}

/// A service of one isolate over `kv`, sharing `ledger` (a request).
pub fn request_over<S: KvStore>(
    kv: S,
    clock: &ManualClock,
    ledger: &Rc<Ledger>,
    seed: u64,
) -> ServiceOver<S> {
    let layout = Rc::new(KeyLayout::default());
    SessionService::new(
        KvRepo::new(kv, clock.clone(), layout, ledger.clone()),
        clock.clone(),
        SeededRandom::new(seed),
        KeyRing::parse(&key_entry("k1", 1)).expect("test keys"),
        "",
    )
}

/// KV as another location sees it: reads answer what the primary held at
/// the latest [`LaggedKv::snapshot`] taken at least `lag` seconds ago
/// (nothing before the first one); writes go to the primary.
#[derive(Clone)]
pub struct LaggedKv {
    primary: MemoryKv,
    clock: ManualClock,
    lag_ms: i64,
    snapshots: Rc<RefCell<Vec<(i64, MemoryKv)>>>,
}

impl LaggedKv {
    pub fn new(primary: MemoryKv, clock: ManualClock, lag_secs: i64) -> Self {
        let kv = LaggedKv {
            primary,
            clock,
            lag_ms: lag_secs * 1000,
            snapshots: Rc::default(),
        };
        kv.snapshot();
        kv
    }

    /// Records the primary as it is now: visible here `lag` seconds later.
    pub fn snapshot(&self) {
        use session_core::Clock;
        let now = self.clock.now_ms();
        let copy = MemoryKv::new(self.clock.clone());
        for e in self.primary.entries() {
            let ttl = e
                .expiration
                .map(|at| (i64::try_from(at).unwrap() * 1000 - now).max(60_000) as u64 / 1000);
            let options = PutOptions {
                expiration_ttl: ttl,
                metadata: e.metadata,
            };
            block_on(copy.put(&e.name, &e.value, options)).expect("copy");
        }
        self.snapshots.borrow_mut().push((now, copy));
    }

    fn view(&self) -> Option<MemoryKv> {
        use session_core::Clock;
        let cutoff = self.clock.now_ms() - self.lag_ms;
        self.snapshots
            .borrow()
            .iter()
            .rev()
            .find(|(at, _)| *at <= cutoff)
            .map(|(_, kv)| kv.clone())
    }
}

impl KvStore for LaggedKv {
    async fn get(&self, key: &str) -> Result<Option<KvEntry>, StoreError> {
        match self.view() {
            Some(kv) => kv.get(key).await,
            None => Ok(None),
        }
    }
    async fn put(&self, key: &str, value: &str, options: PutOptions) -> Result<(), StoreError> {
        self.primary.put(key, value, options).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.primary.delete(key).await
    }
    async fn list(&self, options: ListOptions) -> Result<ListPage, StoreError> {
        match self.view() {
            Some(kv) => kv.list(options).await,
            None => Ok(ListPage {
                keys: Vec::new(),
                cursor: None,
            }),
        }
    }
}
