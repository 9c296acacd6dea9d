//! What every request handler works with: the configuration, parsed once per
//! isolate, the session operations in the configured consistency mode, and
//! the isolate's sliding claims.
//!
//! ```ignore
//! let app = App::eventual(&config, kv, clock, random, ledger).with_limits(limits);
//! let session = app.sessions()?.run(Op::Verify { token }).await?.session()?;
//! ```

use std::rc::Rc;

use session_core::owner::{OwnerClient, OwnerSettings, OwnerTransport};
use session_core::{
    Clock, KeyRing, KvRepo, KvStore, Ledger, Op, Random, Reply, SessionError, SessionService,
    Sessions, SlideClaims,
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
    async fn run(&self, op: Op) -> Result<Reply, SessionError> {
        match self {
            ConfiguredSessions::Eventual(s) => s.run(op).await,
            ConfiguredSessions::Strong(s) => s.run(op).await,
        }
    }
}

/// One request's view of the product. See the module documentation.
pub struct App<'c, O> {
    pub config: &'c Config,
    sessions: Result<O, Problem>,
    claims: SlideClaims<Rc<dyn Clock>>,
    limits: RateLimits,
}

impl<'c, S: KvStore, C: Clock + Clone + 'static, R: Random> App<'c, ConfiguredSessions<S, C, R>> {
    /// An `eventual`-mode app whose isolate remembers nothing across
    /// requests (tests).
    pub fn new(config: &'c Config, kv: S, clock: C, random: R) -> Self {
        Self::eventual(config, kv, clock, random, Rc::default())
    }

    /// An `eventual`-mode app sharing the isolate's [`Ledger`] (sliding
    /// claims, write marks).
    pub fn eventual(config: &'c Config, kv: S, clock: C, random: R, ledger: Rc<Ledger>) -> Self {
        let sessions = kv_service(config, kv, clock.clone(), random, Rc::clone(&ledger))
            .map(ConfiguredSessions::Eventual);
        App::with(config, sessions, ledger, clock)
    }

    /// A `strong`-mode app: operations go to each user's owner through
    /// `owners`; `Err` when the owners' namespace is missing (503
    /// `misconfigured`, see [`crate::config::missing_owner_binding`]).
    pub fn strong(
        config: &'c Config,
        kv: S,
        clock: C,
        random: R,
        ledger: Rc<Ledger>,
        owners: Result<Rc<dyn OwnerTransport>, ConfigError>,
    ) -> Self {
        let sessions =
            kv_service(config, kv, clock.clone(), random, Rc::clone(&ledger)).and_then(|here| {
                let owners = owners
                    .map_err(|why| Problem::new(ErrorCode::Misconfigured, why.to_string()))?;
                let settings = owner_settings(config)?;
                Ok(ConfiguredSessions::Strong(OwnerClient::new(
                    settings,
                    here,
                    clock.clone(),
                    owners,
                )))
            });
        App::with(config, sessions, ledger, clock)
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
            limits: RateLimits::default(),
        }
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

    /// Runs one operation, or answers why it cannot run.
    pub async fn run(&self, op: Op) -> Result<Reply, Problem> {
        self.sessions()?.run(op).await.map_err(Problem::from)
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

fn kv_service<S: KvStore, C: Clock + Clone, R: Random>(
    config: &Config,
    kv: S,
    clock: C,
    random: R,
    ledger: Rc<Ledger>,
) -> Result<KvService<S, C, R>, Problem> {
    let settings = owner_settings(config)?;
    let repo = KvRepo::new(kv, clock.clone(), Rc::clone(&settings.layout), ledger);
    Ok(SessionService::new(
        repo,
        clock,
        random,
        settings.key_ring,
        settings.layout.prefix(),
    )
    .with_policy(settings.policy))
}
