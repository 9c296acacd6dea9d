//! What every request handler works with: the configuration, parsed once per
//! isolate, the session operations in the configured consistency mode, and
//! the isolate's sliding claims.
//!
//! ```ignore
//! let app = App::eventual(&config, kv, clock, random, ledger, events).with_limits(limits);
//! let session = app.run(Op::Verify { token }, &head.context(Actor::User)).await?.session()?;
//! ```

use std::rc::Rc;

use session_core::events::EventType;
use session_core::owner::{OwnerClient, OwnerSettings, OwnerTransport};
use session_core::{
    Clock, Context, Event, EventLog, KeyRing, KvRepo, KvStore, Ledger, Op, OsRandom, Random, Reply,
    SessionError, SessionService, Sessions, SlideClaims,
};

use crate::config::{Config, ConfigError};
use crate::problem::{ErrorCode, Problem};
use crate::ratelimit::RateLimits;

/// The service over Workers KV (`eventual` mode).
pub type KvService<S, C, R> = SessionService<KvRepo<S, C>, C, R>;

/// The operations in the configured consistency mode: run over KV, or sent
/// to each user's owner.
pub enum ConfiguredSessions<S, C, R> {
    Eventual(KvService<S, C, R>),
    Strong(OwnerClient<KvService<S, C, R>, C>),
}

impl<S: KvStore, C: Clock, R: Random> Sessions for ConfiguredSessions<S, C, R> {
    async fn run(&self, op: Op, ctx: &Context) -> Result<Reply, SessionError> {
        match self {
            ConfiguredSessions::Eventual(s) => s.run(op, ctx).await,
            ConfiguredSessions::Strong(s) => s.run(op, ctx).await,
        }
    }
}

/// One request's view of the product. See the module documentation.
pub struct App<'c, O> {
    pub config: &'c Config,
    sessions: Result<O, Problem>,
    claims: SlideClaims<Rc<dyn Clock>>,
    events: Option<Rc<EventLog>>,
    limits: RateLimits,
}

impl<'c, S: KvStore, C: Clock + Clone + 'static, R: Random> App<'c, ConfiguredSessions<S, C, R>> {
    /// An `eventual`-mode app whose isolate remembers nothing across
    /// requests (tests).
    pub fn new(config: &'c Config, kv: S, clock: C, random: R) -> Self {
        Self::eventual(config, kv, clock, random, Rc::default(), None)
    }

    /// An `eventual`-mode app sharing the isolate's [`Ledger`] (sliding
    /// claims, write marks), keeping its events in `events` (`None`: off).
    pub fn eventual(
        config: &'c Config,
        kv: S,
        clock: C,
        random: R,
        ledger: Rc<Ledger>,
        events: Option<Rc<EventLog>>,
    ) -> Self {
        let repo =
            kv_repo(config, kv, clock.clone(), Rc::clone(&ledger)).with_events(events.clone());
        let sessions =
            kv_service(config, repo, clock.clone(), random).map(ConfiguredSessions::Eventual);
        App::with(config, sessions, ledger, clock).with_events(events)
    }

    /// A `strong`-mode app: operations go to each user's owner through
    /// `owners`; `Err` when the owners' namespace is missing (503
    /// `misconfigured`, see [`crate::config::missing_owner_binding`]). Its
    /// own events (the admin API's) are kept in `events`; the owners send
    /// those of the sessions themselves.
    pub fn strong(
        config: &'c Config,
        kv: S,
        clock: C,
        random: R,
        ledger: Rc<Ledger>,
        owners: Result<Rc<dyn OwnerTransport>, ConfigError>,
        events: Option<Rc<EventLog>>,
    ) -> Self {
        let repo = kv_repo(config, kv, clock.clone(), Rc::clone(&ledger));
        let sessions = kv_service(config, repo, clock.clone(), random).and_then(|here| {
            let owners =
                owners.map_err(|why| Problem::new(ErrorCode::Misconfigured, why.to_string()))?;
            let settings = owner_settings(config)?;
            Ok(ConfiguredSessions::Strong(OwnerClient::new(
                settings,
                here,
                clock.clone(),
                owners,
            )))
        });
        App::with(config, sessions, ledger, clock).with_events(events)
    }
}

impl<'c, O: Sessions> App<'c, O> {
    /// An app over any implementation of the operations.
    pub fn with(
        config: &'c Config,
        sessions: Result<O, Problem>,
        ledger: Rc<Ledger>,
        clock: impl Clock + 'static,
    ) -> Self {
        let clock: Rc<dyn Clock> = Rc::new(clock);
        App {
            config,
            sessions,
            claims: SlideClaims::new(ledger, clock),
            events: None,
            limits: RateLimits::default(),
        }
    }

    /// Keeps this request's events in `log` (`None`: events are off).
    pub fn with_events(mut self, log: Option<Rc<EventLog>>) -> Self {
        self.events = log;
        self
    }

    /// The same app counting with these rate limiting bindings (by
    /// default, every limit is off).
    pub fn with_limits(mut self, limits: RateLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The rate limits ([`crate::ratelimit`]).
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    pub fn config(&self) -> &Config {
        self.config
    }

    /// The session operations, or the 503 `misconfigured` problem when
    /// `TOKEN_KEYS` is missing or invalid (or `strong` mode has no owners).
    pub fn sessions(&self) -> Result<&O, Problem> {
        self.sessions.as_ref().map_err(Clone::clone)
    }

    /// Runs one operation for the request `ctx` describes, or answers why
    /// it cannot run.
    pub async fn run(&self, op: Op, ctx: &Context) -> Result<Reply, Problem> {
        self.sessions()?.run(op, ctx).await.map_err(Problem::from)
    }

    /// The events this request made that the Worker sends after the
    /// response (`eventual` mode; `None`: events are off).
    pub fn events(&self) -> Option<&Rc<EventLog>> {
        self.events.as_ref()
    }

    /// Keeps an `admin.auth_failed` event of this request (`ctx`).
    pub fn record_admin_auth_failure(&self, ctx: &Context) {
        if let Some(log) = &self.events {
            let now = self.now_ms();
            let kind = EventType::AdminAuthFailed;
            if let Ok(event) = Event::new(kind, None, None, None, ctx, now, &OsRandom) {
                log.push(event);
            }
        }
    }

    /// The key ring of token tags (checked with no storage call).
    pub fn key_ring(&self) -> Option<&KeyRing> {
        self.config.key_ring.as_deref().ok()
    }

    /// This isolate's sliding claims.
    pub fn claims(&self) -> &SlideClaims<Rc<dyn Clock>> {
        &self.claims
    }

    pub fn now_ms(&self) -> i64 {
        self.claims.now_ms()
    }
}

/// The owners' view of the configuration.
pub fn owner_settings(config: &Config) -> Result<OwnerSettings, Problem> {
    match &config.key_ring {
        Ok(ring) => Ok(OwnerSettings {
            key_ring: Rc::clone(ring),
            layout: Rc::clone(&config.layout),
            policy: config.policy,
            create_limit: config.create_limit,
        }),
        Err(why) => Err(Problem::new(ErrorCode::Misconfigured, why.to_string())),
    }
}

fn kv_repo<S: KvStore, C: Clock>(
    config: &Config,
    kv: S,
    clock: C,
    ledger: Rc<Ledger>,
) -> KvRepo<S, C> {
    KvRepo::new(kv, clock, Rc::clone(&config.layout), ledger)
}

fn kv_service<S: KvStore, C: Clock + Clone, R: Random>(
    config: &Config,
    repo: KvRepo<S, C>,
    clock: C,
    random: R,
) -> Result<KvService<S, C, R>, Problem> {
    let settings = owner_settings(config)?;
    Ok(SessionService::new(
        repo,
        clock,
        random,
        settings.key_ring,
        settings.layout.prefix(),
    )
    .with_policy(settings.policy))
}
