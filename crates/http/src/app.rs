//! What every request handler works with: the configuration, parsed once per
//! isolate, and the session service built over this request's store.

use std::rc::Rc;

use session_core::{Clock, KvStore, Ledger, Random, SessionService};

use crate::config::Config;
use crate::problem::{ErrorCode, Problem};

/// One request's view of the product: the configuration plus the session
/// service over this request's store, clock and randomness.
pub struct App<'c, S, C, R> {
    pub config: &'c Config,
    sessions: Result<SessionService<S, C, R>, Problem>,
}

impl<'c, S: KvStore, C: Clock, R: Random> App<'c, S, C, R> {
    /// An app whose service remembers nothing across requests (tests).
    pub fn new(config: &'c Config, store: S, clock: C, random: R) -> Self {
        Self::with_ledger(config, store, clock, random, Rc::default())
    }

    /// An app sharing the isolate's [`Ledger`] (sliding claims, revocations).
    pub fn with_ledger(
        config: &'c Config,
        store: S,
        clock: C,
        random: R,
        ledger: Rc<Ledger>,
    ) -> Self {
        let sessions = match &config.key_ring {
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
        };
        App { config, sessions }
    }

    pub fn config(&self) -> &Config {
        self.config
    }

    /// The session service, or the 503 `misconfigured` problem when
    /// `TOKEN_KEYS` is missing or invalid.
    pub fn sessions(&self) -> Result<&SessionService<S, C, R>, Problem> {
        self.sessions.as_ref().map_err(Clone::clone)
    }
}
