//! What every request handler works with: the validated settings, cached per
//! isolate, and the session service built over this request's store.

use http::{HeaderMap, Method};
use std::rc::Rc;

use session_core::session::ClientInfo;
use session_core::{
    keys::KeyLayout, service::Policy, Clock, KeyRing, KvStore, Ledger, Random, SessionService,
};
use url::Url;

use crate::config::{Config, ConfigError};
use crate::problem::{ErrorCode, Problem};

/// The configuration and the token key ring, validated once per isolate.
///
/// A bad `TOKEN_KEYS` is kept as an error rather than failing the whole
/// configuration: session routes then answer 503 `misconfigured`, while public
/// paths are still forwarded (contract §6).
#[derive(Debug)]
pub struct Settings {
    pub config: Config,
    key_ring: Result<KeyRing, String>,
    layout: KeyLayout,
    policy: Policy,
}

impl Settings {
    /// Reads every var and secret through `get` (the Worker's env).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let config = Config::from_vars(&get)?;
        let key_ring = match config.token_keys.as_deref() {
            None => Err("TOKEN_KEYS: not set".to_owned()),
            Some(text) => KeyRing::parse(text).map_err(|e| format!("TOKEN_KEYS: {e}")),
        };
        let layout = KeyLayout::new(&config.key_prefix).map_err(|reason| ConfigError {
            var: "KEY_PREFIX",
            reason,
        })?;
        // Config::from_vars has checked 60 <= idle <= absolute <= 31536000.
        let policy = Policy {
            idle_ttl: config.idle_ttl,
            absolute_ttl: config.absolute_ttl,
        };
        Ok(Settings {
            config,
            key_ring,
            layout,
            policy,
        })
    }
}

/// The head of an incoming request, as the Worker received it. `Debug`
/// shows header names only: `Cookie` and `Authorization` carry tokens.
#[derive(Clone)]
pub struct RequestHead {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    /// `request.cf.country`, when the platform knows it.
    pub country: Option<String>,
}

impl std::fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &names)
            .field("country", &self.country)
            .finish()
    }
}

impl RequestHead {
    /// A header's value as text; `None` when absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The request's `Cookie` headers as one string (HTTP/2 may split them).
    /// Read leniently: an app's cookie holding non-ASCII bytes (`name=José`)
    /// must not hide the session cookie beside it, whose value is ASCII.
    pub fn cookies(&self) -> Option<String> {
        let values: Vec<_> = self
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect();
        (!values.is_empty()).then(|| values.join("; "))
    }

    /// The client facts recorded on sessions created for this request.
    pub fn client(&self) -> ClientInfo {
        ClientInfo::new(self.header("user-agent"), self.country.as_deref())
    }
}

/// One request's view of the product: settings plus the session service over
/// this request's store, clock and randomness.
pub struct App<'s, S, C, R> {
    pub settings: &'s Settings,
    sessions: Result<SessionService<S, C, R>, Problem>,
}

impl<'s, S: KvStore, C: Clock, R: Random> App<'s, S, C, R> {
    /// An app whose service remembers nothing across requests (tests).
    pub fn new(settings: &'s Settings, store: S, clock: C, random: R) -> Self {
        Self::with_ledger(settings, store, clock, random, Rc::default())
    }

    /// An app sharing the isolate's [`Ledger`] (sliding claims, revocations).
    pub fn with_ledger(
        settings: &'s Settings,
        store: S,
        clock: C,
        random: R,
        ledger: Rc<Ledger>,
    ) -> Self {
        let sessions = match &settings.key_ring {
            Ok(ring) => Ok(SessionService::new(
                store,
                clock,
                random,
                ring.clone(),
                settings.layout.clone(),
            )
            .with_policy(settings.policy)
            .with_ledger(ledger)),
            Err(why) => Err(Problem::new(ErrorCode::Misconfigured, why.clone())),
        };
        App { settings, sessions }
    }

    pub fn config(&self) -> &Config {
        &self.settings.config
    }

    /// The session service, or the 503 `misconfigured` problem when
    /// `TOKEN_KEYS` is missing or invalid.
    pub fn sessions(&self) -> Result<&SessionService<S, C, R>, Problem> {
        self.sessions.as_ref().map_err(Clone::clone)
    }
}
