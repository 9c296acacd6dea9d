//! What every request handler works with: the configuration, parsed once per
//! isolate, and the session operations over this request's store, in the
//! configured consistency mode.

use std::rc::Rc;

use session_core::owner::{OwnerClient, OwnerTransport};
use session_core::{Clock, KvStore, Ledger, Random, SessionService, Sessions};

use crate::config::{Config, ConfigError};
use crate::problem::{ErrorCode, Problem};

/// One request's view of the product: the configuration plus the session
/// operations over this request's store, clock and randomness.
pub struct App<'c, S, C, R> {
    pub config: &'c Config,
    sessions: Result<Sessions<S, C, R>, Problem>,
}

impl<'c, S: KvStore, C: Clock, R: Random> App<'c, S, C, R> {
    /// An `eventual`-mode app whose service remembers nothing across
    /// requests (tests).
    pub fn new(config: &'c Config, store: S, clock: C, random: R) -> Self {
        Self::with_ledger(config, store, clock, random, Rc::default())
    }

    /// An `eventual`-mode app sharing the isolate's [`Ledger`] (sliding
    /// claims, revocations).
    pub fn with_ledger(
        config: &'c Config,
        store: S,
        clock: C,
        random: R,
        ledger: Rc<Ledger>,
    ) -> Self {
        let sessions = service(config, store, clock, random, ledger).map(Sessions::Eventual);
        App { config, sessions }
    }

    /// A `strong`-mode app: operations go to each user's owner through
    /// `owners`; `Err` when the owners' namespace is missing (503
    /// `misconfigured`, see [`crate::config::missing_owner_binding`]).
    pub fn strong(
        config: &'c Config,
        store: S,
        clock: C,
        random: R,
        ledger: Rc<Ledger>,
        owners: Result<Rc<dyn OwnerTransport>, ConfigError>,
    ) -> Self {
        let sessions = service(config, store, clock, random, ledger).and_then(|global| {
            owners
                .map(|owners| Sessions::Strong(OwnerClient::new(global, owners)))
                .map_err(|why| Problem::new(ErrorCode::Misconfigured, why.to_string()))
        });
        App { config, sessions }
    }

    pub fn config(&self) -> &Config {
        self.config
    }

    /// The session operations, or the 503 `misconfigured` problem when
    /// `TOKEN_KEYS` is missing or invalid (or `strong` mode has no owners).
    pub fn sessions(&self) -> Result<&Sessions<S, C, R>, Problem> {
        self.sessions.as_ref().map_err(Clone::clone)
    }
}

fn service<S: KvStore, C: Clock, R: Random>(
    config: &Config,
    store: S,
    clock: C,
    random: R,
    ledger: Rc<Ledger>,
) -> Result<SessionService<S, C, R>, Problem> {
    match &config.key_ring {
        Ok(ring) => Ok(SessionService::new(
            store,
            clock,
            random,
            Rc::clone(ring),
            Rc::clone(&config.layout),
        )
        .with_policy(config.policy)
        .with_ledger(ledger)),
        Err(why) => Err(Problem::new(ErrorCode::Misconfigured, why.to_string())),
    }
}
