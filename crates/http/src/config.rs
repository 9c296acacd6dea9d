//! The Worker's configuration (contract section 1), read from its vars and
//! secrets through a lookup function so it can be tested without a Worker.
//! Every var is parsed once, into the typed value of the module that owns
//! its concept: `KEY_PREFIX` into the core's [`KeyLayout`], the TTLs into its
//! [`Policy`], `TOKEN_KEYS` into its [`KeyRing`], `GUARD_RULES` into
//! [`Rules`], the `ASSERTION_*` vars into [`AssertionSettings`]; each bound
//! and character rule is stated there, once.
//!
//! Rules that apply to every var:
//! - A value that is empty or only whitespace counts as **unset** (the
//!   default applies, or the optional feature is off).
//! - Surrounding whitespace is trimmed, for numbers too (`" 3600 "` is 3600).
//!   Numbers are plain decimal digits: no sign, no fraction, no unit.
//! - A bad value is a [`ConfigError`] naming the var and what is wrong, never
//!   a silent default. Its message never contains the value, of any var: a
//!   URL may hold credentials, and the message reaches clients in a 503
//!   problem. `Config`'s `Debug` redacts the secrets.
//!
//! A bad `TOKEN_KEYS` does not fail the configuration: it is kept as
//! [`Config::key_ring`]'s error, so that session routes answer 503
//! `misconfigured` while public paths keep working (contract §6).

use std::fmt;
use std::rc::Rc;

use session_core::owner::CreateLimit;
use session_core::policy::{parse_session_cap, TtlNames, MAX_SESSIONS_VAR, TTL_VARS};
use session_core::{KeyLayout, KeyRing, Policy};

use crate::assertion::{
    AssertionKeys, AssertionSettings, MAX_TTL as MAX_ASSERTION_TTL, MIN_TTL as MIN_ASSERTION_TTL,
};
use crate::cookie::{is_cookie_name, MAX_COOKIE_NAME_BYTES};
use crate::csrf::normalize_origin;
use crate::http_url::HttpUrl;
use crate::identity::{encode_user, IdentityHeaders};
use crate::ratelimit::CREATE_BINDING;
use crate::rules::Rules;

pub const DEFAULT_COOKIE_NAME: &str = "__Host-session";
pub const DEFAULT_API_PREFIX: &str = "/auth";
/// Shortest `ADMIN_KEY`, in bytes.
pub const MIN_ADMIN_KEY_BYTES: usize = 16;
/// Longest `ADMIN_KEY`, in bytes.
pub const MAX_ADMIN_KEY_BYTES: usize = 1024;
/// Most entries in `ALLOWED_ORIGINS`.
pub const MAX_ALLOWED_ORIGINS: usize = 64;
/// Longest `LOGIN_URL`, `ORIGIN_URL` or `API_PREFIX`, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest `next` value put in a login redirect, in bytes.
pub const MAX_NEXT_BYTES: usize = 2048;

/// Every var [`Config::from_vars`] reads (but `SESSION_CONSISTENCY` and
/// `MAX_SESSIONS_PER_USER`, named by their owners).
pub const VARS: [&str; 17] = [
    "ADMIN_KEY",
    "TOKEN_KEYS",
    "ORIGIN_URL",
    "GUARD_RULES",
    "SESSION_IDLE_TTL",
    "SESSION_ABSOLUTE_TTL",
    "COOKIE_NAME",
    "ALLOWED_ORIGINS",
    "LOGIN_URL",
    "API_PREFIX",
    "KEY_PREFIX",
    "FORWARD_TOKEN",
    "ASSERTION_KEYS",
    "ASSERTION_ISSUER",
    "ASSERTION_AUDIENCE",
    "ASSERTION_TTL",
    "IDENTITY_HEADERS",
];

/// The TTL vars, as the core's policy names them.
const TTLS: TtlNames = TTL_VARS;

/// A var with a bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The var's name, e.g. `"SESSION_IDLE_TTL"`.
    pub var: &'static str,
    /// What is wrong; never the value.
    pub reason: String,
}

impl ConfigError {
    fn new(var: &'static str, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            var,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    /// `VAR: reason`; `GUARD_RULES` reasons already start with
    /// `GUARD_RULES[i].field` and are shown as they are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.starts_with(self.var) {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.var, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}

/// The parsed configuration, fixed for an isolate's life.
#[derive(Clone)]
pub struct Config {
    /// `SESSION_IDLE_TTL` and `SESSION_ABSOLUTE_TTL`.
    pub policy: Policy,
    /// `COOKIE_NAME`, a valid cookie name.
    pub cookie_name: String,
    /// `ALLOWED_ORIGINS`, each the ASCII serialization of an http(s) origin
    /// (`https://app.example.com`), deduplicated, in the given order.
    pub allowed_origins: Vec<String>,
    /// `LOGIN_URL`: an absolute http(s) URL or a path starting with one `/`.
    pub login_url: Option<String>,
    /// `API_PREFIX`: starts with `/`, no trailing `/`, e.g. `/auth`.
    pub api_prefix: String,
    /// `KEY_PREFIX`, as the key layout it prefixes.
    pub layout: Rc<KeyLayout>,
    /// `ORIGIN_URL`: an http(s) URL without query, fragment or credentials;
    /// its path, if any, is a prefix (see [`Config::upstream_url`]).
    pub origin_url: Option<HttpUrl>,
    /// `GUARD_RULES`.
    pub rules: Rules,
    /// `ADMIN_KEY`; `None`: admin API disabled (503 `admin_disabled`).
    pub admin_key: Option<String>,
    /// `TOKEN_KEYS`, or why it is missing or unusable (see the module docs).
    pub key_ring: Result<Rc<KeyRing>, ConfigError>,
    /// `FORWARD_TOKEN` (`"true"` / `"false"`, default false): whether the
    /// guard forwards the session cookie and an `Authorization` header
    /// carrying a session token to the origin. Off, both are removed.
    pub forward_token: bool,
    /// `SESSION_CONSISTENCY`.
    pub consistency: Consistency,
    /// `ASSERTION_KEYS`, `ASSERTION_ISSUER`, `ASSERTION_AUDIENCE`, `ASSERTION_TTL`.
    pub assertion: AssertionSettings,
    /// `IDENTITY_HEADERS`.
    pub identity_headers: IdentityHeaders,
    /// The owners' exact count of a user's new sessions (`strong` mode):
    /// `SESSION_CREATE_LIMIT` once [`Config::with_bindings`] found
    /// `RL_CREATE` bound, `None` otherwise (off, like the binding).
    pub create_limit: Option<CreateLimit>,
    /// `SESSION_CREATE_LIMIT` as given (default [`DEFAULT_CREATE_LIMIT`]).
    create_limit_var: CreateLimit,
}

/// The var giving the owners' exact count of a user's new sessions.
pub const CREATE_LIMIT_VAR: &str = "SESSION_CREATE_LIMIT";
/// Its default: wrangler.toml's `RL_CREATE` (20 per 60 s).
pub const DEFAULT_CREATE_LIMIT: CreateLimit = CreateLimit::new(20, 60);
/// Most sessions `SESSION_CREATE_LIMIT` may allow per period.
pub const MAX_CREATE_LIMIT: u32 = 100_000;
/// Longest period of `SESSION_CREATE_LIMIT`, in seconds (a day).
pub const MAX_CREATE_PERIOD_SECS: u32 = 86_400;

/// `SESSION_CONSISTENCY`: where a user's sessions are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// `eventual` (default): Workers KV only.
    #[default]
    Eventual,
    /// `strong`: each user's sessions owned by a Durable Object bound as
    /// [`OWNER_BINDING`].
    Strong,
}

/// The var choosing the [`Consistency`].
pub const CONSISTENCY_VAR: &str = "SESSION_CONSISTENCY";
/// The Durable Object namespace `strong` mode needs.
pub const OWNER_BINDING: &str = "USER_SESSIONS";

/// The 503 `misconfigured` reason when `strong` mode has no namespace.
pub fn missing_owner_binding() -> ConfigError {
    ConfigError::new(
        CONSISTENCY_VAR,
        format!("is \"strong\" but no Durable Object namespace is bound as {OWNER_BINDING}"),
    )
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("policy", &self.policy)
            .field("cookie_name", &self.cookie_name)
            .field("allowed_origins", &self.allowed_origins)
            .field("login_url", &self.login_url)
            .field("api_prefix", &self.api_prefix)
            .field("key_prefix", &self.layout.prefix())
            .field("origin_url", &self.origin_url.as_ref().map(HttpUrl::as_str))
            .field("rules", &self.rules.len())
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("key_ring", &self.key_ring.as_ref().map(|r| r.kids()))
            .field("forward_token", &self.forward_token)
            .field("consistency", &self.consistency)
            .field("assertion", &self.assertion)
            .field("identity_headers", &self.identity_headers)
            .field("create_limit", &self.create_limit)
            .finish()
    }
}

impl PartialEq for Config {
    /// Equal when every var reads the same; key rings compare by their key
    /// ids (an HMAC key cannot be read back).
    fn eq(&self, other: &Config) -> bool {
        fn ring(c: &Config) -> Result<Vec<&str>, ConfigError> {
            c.key_ring.as_ref().map(|r| r.kids()).map_err(Clone::clone)
        }
        self.policy == other.policy
            && self.cookie_name == other.cookie_name
            && self.allowed_origins == other.allowed_origins
            && self.login_url == other.login_url
            && self.api_prefix == other.api_prefix
            && self.layout == other.layout
            && self.origin_url == other.origin_url
            && self.rules == other.rules
            && self.admin_key == other.admin_key
            && ring(self) == ring(other)
            && self.forward_token == other.forward_token
            && self.consistency == other.consistency
            && self.assertion == other.assertion
            && self.identity_headers == other.identity_headers
            && self.create_limit == other.create_limit
            && self.create_limit_var == other.create_limit_var
    }
}

impl Default for Config {
    /// The configuration with nothing set.
    fn default() -> Config {
        Config {
            policy: Policy::default(),
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            allowed_origins: Vec::new(),
            login_url: None,
            api_prefix: DEFAULT_API_PREFIX.to_owned(),
            layout: Rc::default(),
            origin_url: None,
            rules: Rules::default(),
            admin_key: None,
            key_ring: Err(ConfigError::new("TOKEN_KEYS", "not set")),
            forward_token: false,
            consistency: Consistency::Eventual,
            assertion: AssertionSettings::default(),
            identity_headers: IdentityHeaders::Plain,
            create_limit: None,
            create_limit_var: DEFAULT_CREATE_LIMIT,
        }
    }
}

impl Config {
    /// Reads every var through `get` (`None` = unset). The first bad var, in
    /// the order of the contract's table, is reported.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| -> Option<String> {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut c = Config::default();

        if let Some(v) = var("ADMIN_KEY") {
            c.admin_key = Some(parse_admin_key(&v)?);
        }
        if let Some(v) = var("TOKEN_KEYS") {
            c.key_ring = KeyRing::parse(&v)
                .map(Rc::new)
                .map_err(|e| ConfigError::new("TOKEN_KEYS", e.0));
        }
        if let Some(v) = var("ORIGIN_URL") {
            c.origin_url = Some(parse_origin_url(&v)?);
        }
        if let Some(v) = var("GUARD_RULES") {
            c.rules = Rules::parse(&v).map_err(|e| ConfigError::new("GUARD_RULES", e))?;
        }
        let idle_ttl = match var(TTLS.idle) {
            Some(v) => parse_ttl(TTLS.idle, &v)?,
            None => c.policy.idle_ttl,
        };
        let absolute_ttl = match var(TTLS.absolute) {
            Some(v) => parse_ttl(TTLS.absolute, &v)?,
            None => c.policy.absolute_ttl,
        };
        c.policy = Policy::new(idle_ttl, absolute_ttl).map_err(|e| ConfigError {
            var: if e.field == TTLS.idle {
                TTLS.idle
            } else {
                TTLS.absolute
            },
            reason: e.reason,
        })?;
        if let Some(v) = var("COOKIE_NAME") {
            if !is_cookie_name(&v) {
                return Err(ConfigError::new(
                    "COOKIE_NAME",
                    format!(
                        "is not a cookie name (1..{MAX_COOKIE_NAME_BYTES} visible ASCII characters, none of ()<>@,;:\\\"/[]?={{}})"
                    ),
                ));
            }
            c.cookie_name = v;
        }
        if let Some(v) = var("ALLOWED_ORIGINS") {
            c.allowed_origins = parse_allowed_origins(&v)?;
        }
        if let Some(v) = var("LOGIN_URL") {
            c.login_url = Some(parse_login_url(&v)?);
        }
        if let Some(v) = var("API_PREFIX") {
            c.api_prefix = parse_api_prefix(&v)?;
        }
        if let Some(v) = var("KEY_PREFIX") {
            c.layout = Rc::new(
                KeyLayout::new(&v).map_err(|reason| ConfigError::new("KEY_PREFIX", reason))?,
            );
        }
        if let Some(v) = var("FORWARD_TOKEN") {
            c.forward_token = match v.as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(ConfigError::new(
                        "FORWARD_TOKEN",
                        "must be \"true\" or \"false\"",
                    ))
                }
            };
        }
        if let Some(v) = var(CONSISTENCY_VAR) {
            c.consistency = match v.as_str() {
                "eventual" => Consistency::Eventual,
                "strong" => Consistency::Strong,
                _ => {
                    return Err(ConfigError::new(
                        CONSISTENCY_VAR,
                        "must be \"eventual\" or \"strong\"",
                    ))
                }
            };
        }
        if let Some(v) = var(MAX_SESSIONS_VAR) {
            let cap = parse_session_cap(&v).map_err(|r| ConfigError::new(MAX_SESSIONS_VAR, r))?;
            c.policy = c.policy.with_session_cap(Some(cap));
        }
        if let Some(v) = var("ASSERTION_KEYS") {
            c.assertion.keys = Some(Rc::new(
                AssertionKeys::parse(&v).map_err(|e| ConfigError::new("ASSERTION_KEYS", e))?,
            ));
        }
        if let Some(v) = var("ASSERTION_ISSUER") {
            c.assertion.issuer = Some(parse_claim_text("ASSERTION_ISSUER", v)?);
        }
        if let Some(v) = var("ASSERTION_AUDIENCE") {
            c.assertion.audience = Some(parse_claim_text("ASSERTION_AUDIENCE", v)?);
        }
        if let Some(v) = var("ASSERTION_TTL") {
            c.assertion.ttl = parse_assertion_ttl(&v)?;
        }
        if let Some(v) = var("IDENTITY_HEADERS") {
            c.identity_headers = match v.as_str() {
                "plain" => IdentityHeaders::Plain,
                "assertion" => IdentityHeaders::Assertion,
                _ => {
                    return Err(ConfigError::new(
                        "IDENTITY_HEADERS",
                        "must be \"plain\" or \"assertion\"",
                    ))
                }
            };
            if c.identity_headers == IdentityHeaders::Assertion && c.assertion.keys.is_none() {
                return Err(ConfigError::new(
                    "IDENTITY_HEADERS",
                    "is \"assertion\" but ASSERTION_KEYS is not set: the origin would learn nothing of the session",
                ));
            }
        }
        if let Some(v) = var(CREATE_LIMIT_VAR) {
            c.create_limit_var = parse_create_limit(&v)?;
        }
        Ok(c)
    }

    /// The configuration checked against the rate limiting bindings that
    /// are bound (`bound(name)`): a rule whose `limit` names one that is not
    /// is an error naming the rule (never a limit silently off); the owners
    /// count creations ([`Config::create_limit`]) only while `RL_CREATE` is
    /// bound.
    pub fn with_bindings(mut self, bound: impl Fn(&str) -> bool) -> Result<Config, ConfigError> {
        if let Some((i, _)) = self.rules.limits().find(|(_, name)| !bound(name)) {
            return Err(ConfigError::new(
                "GUARD_RULES",
                format!(
                    "GUARD_RULES[{i}].limit: names a rate limiting binding that is not bound \
                     (declare it under [[ratelimits]] in wrangler.toml)"
                ),
            ));
        }
        self.create_limit = bound(CREATE_BINDING).then_some(self.create_limit_var);
        Ok(self)
    }

    /// The part of `path` after `{API_PREFIX}` when `path` is under
    /// `{API_PREFIX}/` (`/auth/session` → `Some("/session")`), else `None`:
    /// the path is guarded. `{API_PREFIX}` itself, without the slash, is
    /// guarded too. Compared exactly, on the raw path: API paths are never
    /// forwarded, so no reading of them can reach the origin.
    pub fn api_subpath<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix(self.api_prefix.as_str())?;
        rest.starts_with('/').then_some(rest)
    }

    /// Where a browser navigation without a session is sent: `LOGIN_URL`
    /// with `next=<path and query>` added to its query (encoded as by
    /// `encodeURIComponent`, before any fragment). `None` without
    /// `LOGIN_URL`.
    ///
    /// `next` is always a local path: leading slashes and backslashes
    /// collapse to one `/` so `//evil.example` cannot become a
    /// protocol-relative URL at a naive login page; longer than
    /// [`MAX_NEXT_BYTES`] it loses its query, then falls back to `/`.
    pub fn login_redirect(&self, path_and_query: &str) -> Option<String> {
        self.redirect_to_login(path_and_query, "")
    }

    /// Where a browser navigation whose session is too old for a rule's
    /// `fresh` is sent: [`Config::login_redirect`] with `reauth=1` after
    /// `next`, so the login page can say why it asks again.
    pub fn reauth_redirect(&self, path_and_query: &str) -> Option<String> {
        self.redirect_to_login(path_and_query, "&reauth=1")
    }

    fn redirect_to_login(&self, path_and_query: &str, extra: &str) -> Option<String> {
        let login = self.login_url.as_deref()?;
        let next = safe_next(path_and_query);
        let (base, fragment) = match login.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (login, None),
        };
        let sep = match base.find('?') {
            None => "?",
            Some(_) if base.ends_with('?') || base.ends_with('&') => "",
            Some(_) => "&",
        };
        let mut out = format!("{base}{sep}next={}{extra}", encode_user(&next));
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(f);
        }
        Some(out)
    }

    /// The URL a guarded request is forwarded to when `ORIGIN_URL` is set:
    /// its scheme, host and port, its path (without trailing `/`) as a
    /// prefix, then the request's path and query. `None` without
    /// `ORIGIN_URL`: forward the request as it is.
    ///
    /// `https://origin.example/app` + `https://w.example/a/b?c=1` →
    /// `https://origin.example/app/a/b?c=1`.
    pub fn upstream_url(&self, request: &HttpUrl) -> Option<String> {
        let base = self.origin_url.as_ref()?;
        let prefix = base.path().trim_end_matches('/');
        Some(format!(
            "{}{prefix}{}",
            base.origin(),
            request.path_and_query()
        ))
    }
}

fn safe_next(path_and_query: &str) -> String {
    let trimmed = path_and_query.trim_start_matches(['/', '\\']);
    let mut next = format!("/{trimmed}");
    if next.len() > MAX_NEXT_BYTES {
        next = next.split('?').next().unwrap_or("/").to_owned();
    }
    if next.len() > MAX_NEXT_BYTES {
        next = "/".to_owned();
    }
    next
}

/// `SESSION_CREATE_LIMIT`: `N/SECONDS`, sessions per user and period.
fn parse_create_limit(v: &str) -> Result<CreateLimit, ConfigError> {
    let number = |s: &str, max: u32| {
        let s = s.trim();
        (!s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
            .filter(|n| (1..=max).contains(n))
    };
    v.split_once('/')
        .and_then(|(n, secs)| {
            Some(CreateLimit::new(
                number(n, MAX_CREATE_LIMIT)?,
                number(secs, MAX_CREATE_PERIOD_SECS)?,
            ))
        })
        .ok_or_else(|| {
            ConfigError::new(
                CREATE_LIMIT_VAR,
                format!(
                    "must be SESSIONS/SECONDS, like 20/60: 1 to {MAX_CREATE_LIMIT} sessions \
                     per 1 to {MAX_CREATE_PERIOD_SECS} seconds"
                ),
            )
        })
}

/// A TTL var: plain decimal digits, then the core's bounds.
fn parse_ttl(var: &'static str, v: &str) -> Result<u64, ConfigError> {
    let n = if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
        None
    } else {
        v.parse::<u64>().ok()
    };
    let n = n.ok_or_else(|| ConfigError::new(var, "is not a whole number of seconds"))?;
    session_core::policy::check_ttl(n).map_err(|reason| ConfigError::new(var, reason))
}

/// `ASSERTION_TTL`: plain decimal digits, [`MIN_ASSERTION_TTL`] to [`MAX_ASSERTION_TTL`].
fn parse_assertion_ttl(v: &str) -> Result<u64, ConfigError> {
    let var = "ASSERTION_TTL";
    let n = (v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()))
        .then(|| v.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| ConfigError::new(var, "is not a whole number of seconds"))?;
    if !(MIN_ASSERTION_TTL..=MAX_ASSERTION_TTL).contains(&n) {
        return Err(ConfigError::new(
            var,
            format!("must be {MIN_ASSERTION_TTL} to {MAX_ASSERTION_TTL} seconds"),
        ));
    }
    Ok(n)
}

/// `ASSERTION_ISSUER` or `ASSERTION_AUDIENCE`: a claim's text, visible ASCII
/// without spaces (a URL, or a name such as `my-app`), at most
/// [`MAX_URL_BYTES`].
fn parse_claim_text(var: &'static str, v: String) -> Result<String, ConfigError> {
    if v.len() > MAX_URL_BYTES {
        return Err(ConfigError::new(
            var,
            format!("is longer than {MAX_URL_BYTES} bytes"),
        ));
    }
    if !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            var,
            "must be visible ASCII without spaces (a URL or a name)",
        ));
    }
    Ok(v)
}

fn parse_admin_key(v: &str) -> Result<String, ConfigError> {
    // Never quote the value: it is a secret.
    if v.len() < MIN_ADMIN_KEY_BYTES {
        return Err(ConfigError::new(
            "ADMIN_KEY",
            format!("too short: at least {MIN_ADMIN_KEY_BYTES} characters are required (unset it to disable the admin API)"),
        ));
    }
    if v.len() > MAX_ADMIN_KEY_BYTES {
        return Err(ConfigError::new(
            "ADMIN_KEY",
            format!("too long: at most {MAX_ADMIN_KEY_BYTES} characters"),
        ));
    }
    if !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            "ADMIN_KEY",
            "must be visible ASCII without spaces, to be sent as `Authorization: Bearer <key>`",
        ));
    }
    Ok(v.to_owned())
}

fn has_bad_chars(v: &str) -> bool {
    v.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn parse_origin_url(v: &str) -> Result<HttpUrl, ConfigError> {
    let err = |why: &str| ConfigError::new("ORIGIN_URL", why);
    if v.len() > MAX_URL_BYTES {
        return Err(err(&format!("is longer than {MAX_URL_BYTES} bytes")));
    }
    if has_bad_chars(v) {
        return Err(err("must not contain spaces or control characters"));
    }
    let url = HttpUrl::parse(v).map_err(|e| err(&format!("{e}")))?;
    if url.had_credentials() {
        return Err(err("must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(
            "must not have a query or fragment (the request's path and query are appended)",
        ));
    }
    Ok(url)
}

fn parse_allowed_origins(v: &str) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::new();
    for (n, entry) in v
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        if entry == "*" {
            return Err(ConfigError::new(
                "ALLOWED_ORIGINS",
                "\"*\" is not allowed: credentialed CORS needs each origin listed",
            ));
        }
        let Some(origin) = normalize_origin(entry) else {
            return Err(ConfigError::new(
                "ALLOWED_ORIGINS",
                format!(
                    "entry {} is not an http(s) origin like https://app.example.com[:port] (no path)",
                    n + 1
                ),
            ));
        };
        if !out.contains(&origin) {
            out.push(origin);
        }
        if out.len() > MAX_ALLOWED_ORIGINS {
            return Err(ConfigError::new(
                "ALLOWED_ORIGINS",
                format!("at most {MAX_ALLOWED_ORIGINS} origins"),
            ));
        }
    }
    Ok(out)
}

fn parse_login_url(v: &str) -> Result<String, ConfigError> {
    let err = |why: &str| ConfigError::new("LOGIN_URL", why);
    if v.len() > MAX_URL_BYTES {
        return Err(err(&format!("is longer than {MAX_URL_BYTES} bytes")));
    }
    if has_bad_chars(v) {
        return Err(err("must not contain spaces or control characters"));
    }
    if v.starts_with('/') {
        if v.starts_with("//") || v.starts_with("/\\") {
            return Err(err(
                "must be a path starting with a single \"/\" or an absolute http(s) URL",
            ));
        }
        return Ok(v.to_owned());
    }
    match HttpUrl::parse(v) {
        Ok(_) => Ok(v.to_owned()),
        _ => Err(err(
            "must be an absolute http(s) URL or a path starting with \"/\"",
        )),
    }
}

fn parse_api_prefix(v: &str) -> Result<String, ConfigError> {
    let err = |why: &str| ConfigError::new("API_PREFIX", why);
    if v.len() > MAX_URL_BYTES {
        return Err(err(&format!("is longer than {MAX_URL_BYTES} bytes")));
    }
    if !v.starts_with('/') || v == "/" {
        return Err(err(
            "must start with \"/\" and name at least one segment, like /auth",
        ));
    }
    if v.ends_with('/') {
        return Err(err("must not end with \"/\""));
    }
    if !v.bytes().all(|b| b.is_ascii_graphic()) || v.contains(['*', '?', '#', '\\', '%', ';']) {
        return Err(err(
            "must be visible ASCII without *, ?, #, \\, %, ; or spaces",
        ));
    }
    if v[1..]
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(err("must not contain empty, \".\" or \"..\" segments"));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Access;
    use session_core::layout::MAX_PREFIX_BYTES as MAX_KEY_PREFIX_BYTES;
    use session_core::policy::MAX_TTL;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| map.get(k).cloned())
    }

    fn ok(vars: &[(&str, &str)]) -> Config {
        load(vars).unwrap_or_else(|e| panic!("{vars:?}: {e}"))
    }

    fn bad(vars: &[(&str, &str)]) -> ConfigError {
        load(vars).expect_err("should be rejected")
    }

    #[test]
    fn defaults() {
        let c = ok(&[]);
        assert_eq!(c, Config::default());
        assert_eq!(c.policy.idle_ttl, 604_800);
        assert_eq!(c.policy.absolute_ttl, 2_592_000);
        assert_eq!(c.cookie_name, "__Host-session");
        assert!(c.allowed_origins.is_empty());
        assert_eq!(c.login_url, None);
        assert_eq!(c.api_prefix, "/auth");
        assert_eq!(c.layout.prefix(), "");
        assert_eq!(c.origin_url, None);
        assert!(c.rules.is_empty());
        assert_eq!(c.admin_key, None);
        assert_eq!(
            c.key_ring.as_ref().unwrap_err().to_string(),
            "TOKEN_KEYS: not set"
        );
        assert!(!c.forward_token);
    }

    #[test]
    fn forward_token() {
        assert!(ok(&[("FORWARD_TOKEN", "true")]).forward_token);
        assert!(ok(&[("FORWARD_TOKEN", " true ")]).forward_token);
        assert!(!ok(&[("FORWARD_TOKEN", "false")]).forward_token);
        for v in ["TRUE", "True", "1", "yes", "on", "0", "no", "truee"] {
            let e = bad(&[("FORWARD_TOKEN", v)]);
            assert_eq!(e.var, "FORWARD_TOKEN", "{v}");
            assert!(e.to_string().starts_with("FORWARD_TOKEN: "), "{e}");
        }
    }

    #[test]
    fn empty_and_blank_values_are_unset() {
        let vars: Vec<(&str, &str)> = VARS.iter().map(|v| (*v, " \t")).collect();
        assert_eq!(ok(&vars), Config::default());
        let vars: Vec<(&str, &str)> = VARS.iter().map(|v| (*v, "")).collect();
        assert_eq!(ok(&vars), Config::default());
    }

    #[test]
    fn reads_every_var() {
        let c = ok(&[
            ("ADMIN_KEY", "0123456789abcdef0123"),
            ("TOKEN_KEYS", " k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,k0:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB "),
            ("ORIGIN_URL", "https://origin.example.com/app/"),
            ("GUARD_RULES", r#"[{"path":"/assets/*","access":"public"}]"#),
            ("SESSION_IDLE_TTL", "3600"),
            ("SESSION_ABSOLUTE_TTL", "86400"),
            ("COOKIE_NAME", "sid"),
            (
                "ALLOWED_ORIGINS",
                " https://App.example.com , http://localhost:3000/,,https://app.example.com:443",
            ),
            ("LOGIN_URL", "/login"),
            ("API_PREFIX", "/api/session"),
            ("KEY_PREFIX", "app1:"),
        ]);
        assert_eq!(c.admin_key.as_deref(), Some("0123456789abcdef0123"));
        assert_eq!(c.key_ring.as_ref().unwrap().kids(), ["k1", "k0"]);
        assert_eq!(
            c.origin_url.as_ref().map(HttpUrl::as_str),
            Some("https://origin.example.com/app/")
        );
        assert_eq!(
            c.rules.access_for("GET", "/assets/a.js"),
            Ok(&Access::Public)
        );
        assert_eq!(c.policy.idle_ttl, 3600);
        assert_eq!(c.policy.absolute_ttl, 86400);
        assert_eq!(c.cookie_name, "sid");
        assert_eq!(
            c.allowed_origins,
            ["https://app.example.com", "http://localhost:3000"]
        );
        assert_eq!(c.login_url.as_deref(), Some("/login"));
        assert_eq!(c.api_prefix, "/api/session");
        assert_eq!(c.layout.prefix(), "app1:");
    }

    #[test]
    fn ttls() {
        assert_eq!(ok(&[("SESSION_IDLE_TTL", " 60 ")]).policy.idle_ttl, 60);
        assert_eq!(ok(&[("SESSION_IDLE_TTL", "0600")]).policy.idle_ttl, 600);
        let c = ok(&[
            ("SESSION_IDLE_TTL", "31536000"),
            ("SESSION_ABSOLUTE_TTL", "31536000"),
        ]);
        assert_eq!(
            (c.policy.idle_ttl, c.policy.absolute_ttl),
            (MAX_TTL, MAX_TTL)
        );
        let c = ok(&[("SESSION_IDLE_TTL", "60"), ("SESSION_ABSOLUTE_TTL", "60")]);
        assert_eq!((c.policy.idle_ttl, c.policy.absolute_ttl), (60, 60));
        for bad_value in [
            "abc",
            "-60",
            "+60",
            "60.0",
            "60s",
            "1e3",
            "6 0",
            "0x40",
            "99999999999999999999999",
        ] {
            let e = bad(&[("SESSION_IDLE_TTL", bad_value)]);
            assert_eq!(e.var, "SESSION_IDLE_TTL");
            assert!(e.reason.contains("not a whole number"), "{bad_value}: {e}");
            let e = bad(&[("SESSION_ABSOLUTE_TTL", bad_value)]);
            assert_eq!(e.var, "SESSION_ABSOLUTE_TTL");
        }
        let e = bad(&[("SESSION_IDLE_TTL", "59")]);
        assert_eq!(
            e.to_string(),
            "SESSION_IDLE_TTL: is below the minimum of 60 seconds"
        );
        let e = bad(&[("SESSION_ABSOLUTE_TTL", "0")]);
        assert_eq!(e.var, "SESSION_ABSOLUTE_TTL");
        let e = bad(&[("SESSION_ABSOLUTE_TTL", "31536001")]);
        assert!(e
            .to_string()
            .starts_with("SESSION_ABSOLUTE_TTL: is above the maximum"));
    }

    #[test]
    fn absolute_ttl_must_cover_idle_ttl() {
        let e = bad(&[
            ("SESSION_IDLE_TTL", "7200"),
            ("SESSION_ABSOLUTE_TTL", "3600"),
        ]);
        assert_eq!(e.var, "SESSION_ABSOLUTE_TTL");
        assert_eq!(
            e.to_string(),
            "SESSION_ABSOLUTE_TTL: is less than SESSION_IDLE_TTL; it must be at least as long"
        );
        // An idle TTL above the default absolute TTL needs an explicit one.
        let e = bad(&[("SESSION_IDLE_TTL", "2592001")]);
        assert_eq!(e.var, "SESSION_ABSOLUTE_TTL");
        let e = bad(&[("SESSION_ABSOLUTE_TTL", "600")]);
        assert_eq!(e.var, "SESSION_ABSOLUTE_TTL");
    }

    #[test]
    fn cookie_name() {
        assert_eq!(
            ok(&[("COOKIE_NAME", "__Secure-sid")]).cookie_name,
            "__Secure-sid"
        );
        for v in ["a b", "a;b", "a=b", "sé", "a,b", "\"a\""] {
            let e = bad(&[("COOKIE_NAME", v)]);
            assert_eq!(e.var, "COOKIE_NAME", "{v}");
            assert!(e.to_string().starts_with("COOKIE_NAME: "));
        }
    }

    #[test]
    fn allowed_origins() {
        let c = ok(&[(
            "ALLOWED_ORIGINS",
            "https://xn--bcher-kva.example,HTTP://LOCALHOST:80",
        )]);
        assert_eq!(
            c.allowed_origins,
            ["https://xn--bcher-kva.example", "http://localhost"]
        );
        // The Worker is built without IDNA tables (idna_adapter 1.0, see
        // Cargo.toml): internationalized hosts are written in punycode, and a
        // Unicode one is a clear error naming the var, not a silent mismatch.
        assert_eq!(
            bad(&[("ALLOWED_ORIGINS", "https://bücher.example")]).var,
            "ALLOWED_ORIGINS"
        );
        assert!(ok(&[("ALLOWED_ORIGINS", ",,")]).allowed_origins.is_empty());
        for v in [
            "*",
            "https://a.example/path",
            "a.example",
            "https://a.example, null",
            "ftp://a.example",
            "https://a.example?x",
        ] {
            let e = bad(&[("ALLOWED_ORIGINS", v)]);
            assert_eq!(e.var, "ALLOWED_ORIGINS", "{v}");
        }
        let e = bad(&[("ALLOWED_ORIGINS", "https://ok.example, https://a.example/x")]);
        assert!(
            e.reason.starts_with("entry 2 is not an http(s) origin"),
            "{e}"
        );
        assert!(
            !e.to_string().contains("a.example"),
            "the value is never echoed: {e}"
        );
        let many: Vec<String> = (0..65).map(|i| format!("https://a{i}.example")).collect();
        assert_eq!(
            bad(&[("ALLOWED_ORIGINS", &many.join(","))]).var,
            "ALLOWED_ORIGINS"
        );
        let ok64: Vec<String> = (0..64).map(|i| format!("https://a{i}.example")).collect();
        assert_eq!(
            ok(&[("ALLOWED_ORIGINS", &ok64.join(","))])
                .allowed_origins
                .len(),
            64
        );
    }

    #[test]
    fn login_url() {
        for v in [
            "/login",
            "/login?x=1",
            "https://id.example.com/login",
            "http://localhost:3000/l",
        ] {
            assert_eq!(ok(&[("LOGIN_URL", v)]).login_url.as_deref(), Some(v));
        }
        for v in [
            "login",
            "//evil.example/login",
            "/\\evil.example",
            "javascript:alert(1)",
            "ftp://x.example/",
            "/log in",
            "https://",
        ] {
            assert_eq!(bad(&[("LOGIN_URL", v)]).var, "LOGIN_URL", "{v}");
        }
    }

    #[test]
    fn login_redirect() {
        let c = |url: &str| ok(&[("LOGIN_URL", url)]);
        assert_eq!(ok(&[]).login_redirect("/x"), None);
        assert_eq!(
            c("/login").login_redirect("/app/page?tab=2&x=é").as_deref(),
            Some("/login?next=%2Fapp%2Fpage%3Ftab%3D2%26x%3D%C3%A9")
        );
        assert_eq!(
            c("https://id.example/login?client=web")
                .login_redirect("/a")
                .as_deref(),
            Some("https://id.example/login?client=web&next=%2Fa")
        );
        assert_eq!(
            c("/login?").login_redirect("/a").as_deref(),
            Some("/login?next=%2Fa")
        );
        assert_eq!(
            c("/login#top").login_redirect("/a").as_deref(),
            Some("/login?next=%2Fa#top")
        );
        // `next` never becomes protocol-relative.
        assert_eq!(
            c("/login").login_redirect("//evil.example/x").as_deref(),
            Some("/login?next=%2Fevil.example%2Fx")
        );
        assert_eq!(
            c("/login").login_redirect("/\\evil.example").as_deref(),
            Some("/login?next=%2Fevil.example")
        );
        assert_eq!(
            c("/login").login_redirect("").as_deref(),
            Some("/login?next=%2F")
        );
        // Overlong: the query goes, then everything.
        let long_q = format!("/p?{}", "q".repeat(MAX_NEXT_BYTES));
        assert_eq!(
            c("/login").login_redirect(&long_q).as_deref(),
            Some("/login?next=%2Fp")
        );
        let long_p = format!("/{}", "p".repeat(MAX_NEXT_BYTES));
        assert_eq!(
            c("/login").login_redirect(&long_p).as_deref(),
            Some("/login?next=%2F")
        );
    }

    #[test]
    fn origin_url_and_upstream() {
        for v in [
            "ftp://o.example",
            "o.example",
            "/path",
            "https://u:p@o.example",
            "https://o.example/?x=1",
            "https://o.example/#f",
            "https://o .example",
        ] {
            assert_eq!(bad(&[("ORIGIN_URL", v)]).var, "ORIGIN_URL", "{v}");
        }
        let req = HttpUrl::parse("https://worker.example/a/b%2Fc?q=1&r=%20#frag").unwrap();
        assert_eq!(ok(&[]).upstream_url(&req), None);
        let up = |base: &str| {
            ok(&[("ORIGIN_URL", base)])
                .upstream_url(&req)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            up("https://origin.example"),
            "https://origin.example/a/b%2Fc?q=1&r=%20"
        );
        assert_eq!(
            up("http://origin.example:8080/"),
            "http://origin.example:8080/a/b%2Fc?q=1&r=%20"
        );
        assert_eq!(
            up("https://origin.example/app"),
            "https://origin.example/app/a/b%2Fc?q=1&r=%20"
        );
        assert_eq!(
            up("https://origin.example/app/"),
            "https://origin.example/app/a/b%2Fc?q=1&r=%20"
        );
        let root = HttpUrl::parse("https://worker.example/").unwrap();
        let c = ok(&[("ORIGIN_URL", "https://origin.example/app")]);
        assert_eq!(
            c.upstream_url(&root).unwrap().as_str(),
            "https://origin.example/app/"
        );
    }

    #[test]
    fn api_prefix() {
        assert_eq!(ok(&[("API_PREFIX", "/v1/auth")]).api_prefix, "/v1/auth");
        for v in [
            "auth", "/", "/auth/", "/a*", "/a?b", "/a#b", "/a//b", "/a/../b", "/a/./b", "/a b",
            "/a%2F", "/a\\b", "/é",
        ] {
            assert_eq!(bad(&[("API_PREFIX", v)]).var, "API_PREFIX", "{v}");
        }
    }

    #[test]
    fn api_subpath() {
        let c = ok(&[]);
        assert_eq!(c.api_subpath("/auth/session"), Some("/session"));
        assert_eq!(c.api_subpath("/auth/"), Some("/"));
        assert_eq!(c.api_subpath("/auth"), None);
        assert_eq!(c.api_subpath("/authx/session"), None);
        assert_eq!(c.api_subpath("/AUTH/session"), None);
        assert_eq!(c.api_subpath("/x/auth/session"), None);
    }

    #[test]
    fn key_prefix() {
        assert_eq!(ok(&[("KEY_PREFIX", "app:")]).layout.prefix(), "app:");
        let max = "k".repeat(MAX_KEY_PREFIX_BYTES);
        assert_eq!(ok(&[("KEY_PREFIX", &max)]).layout.prefix(), max);
        for v in ["k".repeat(65), "a b".into(), "é".into(), "a\u{1}".into()] {
            assert_eq!(bad(&[("KEY_PREFIX", &v)]).var, "KEY_PREFIX", "{v}");
        }
    }

    #[test]
    fn guard_rules_errors_name_the_var_and_rule() {
        let e = bad(&[("GUARD_RULES", "not json")]);
        assert_eq!(e.var, "GUARD_RULES");
        assert!(
            e.to_string().starts_with("GUARD_RULES: not valid JSON"),
            "{e}"
        );
        let e = bad(&[(
            "GUARD_RULES",
            r#"[{"path":"/","access":"public"},{"path":"x","access":"public"}]"#,
        )]);
        assert!(e.to_string().starts_with("GUARD_RULES[1].path: "), "{e}");
    }

    #[test]
    fn admin_key() {
        let key = "s3cr3t-admin-key-0123";
        assert_eq!(ok(&[("ADMIN_KEY", key)]).admin_key.as_deref(), Some(key));
        assert_eq!(
            ok(&[("ADMIN_KEY", &format!(" {key}\n"))])
                .admin_key
                .as_deref(),
            Some(key)
        );
        for v in [
            "short-secret",
            "0123456789abcde",
            "with space inside secret",
            "é0123456789abcdef",
        ] {
            let e = bad(&[("ADMIN_KEY", v)]);
            assert_eq!(e.var, "ADMIN_KEY");
            assert!(!e.to_string().contains(v), "secret echoed: {e}");
            assert!(!e.to_string().contains("secret i"), "secret echoed: {e}");
        }
        let long = "k".repeat(MAX_ADMIN_KEY_BYTES + 1);
        assert!(!bad(&[("ADMIN_KEY", &long)]).to_string().contains("kkkk"));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = ok(&[
            ("ADMIN_KEY", "very-secret-admin-key"),
            ("TOKEN_KEYS", "k1:c2VjcmV0LWtleS1ieXRlcw"),
            ("ASSERTION_KEYS", crate::assertion::EXAMPLE_KEYS),
        ]);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("MIGHAgEA"), "{dbg}");
        assert!(dbg.contains("AssertionKeys { kids: [\"k1\"] }"), "{dbg}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
        assert!(!dbg.contains("c2VjcmV0"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn a_bad_key_ring_is_kept_as_its_error() {
        // Session routes answer 503 with it while public paths keep working,
        // so a bad TOKEN_KEYS does not fail the whole configuration.
        let c = ok(&[("TOKEN_KEYS", "garbage")]);
        let e = c.key_ring.unwrap_err();
        assert_eq!(e.var, "TOKEN_KEYS");
        assert!(!e.to_string().contains("garbage"), "{e}");
    }

    #[test]
    fn assertion_vars() {
        use crate::assertion::{DEFAULT_TTL, EXAMPLE_KEYS};
        let c = ok(&[]);
        assert!(c.assertion.keys.is_none());
        assert_eq!(c.assertion.ttl, DEFAULT_TTL);
        assert_eq!(c.identity_headers, IdentityHeaders::Plain);
        let c = ok(&[
            ("ASSERTION_KEYS", EXAMPLE_KEYS),
            ("ASSERTION_ISSUER", "https://auth.example"),
            ("ASSERTION_AUDIENCE", "my-app"),
            ("ASSERTION_TTL", " 600 "),
            ("IDENTITY_HEADERS", "assertion"),
        ]);
        assert_eq!(c.assertion.keys.as_ref().unwrap().kids(), ["k1"]);
        assert_eq!(c.assertion.issuer.as_deref(), Some("https://auth.example"));
        assert_eq!(c.assertion.audience.as_deref(), Some("my-app"));
        assert_eq!(c.assertion.ttl, 600);
        assert_eq!(c.identity_headers, IdentityHeaders::Assertion);
        assert_eq!(ok(&[("ASSERTION_TTL", "10")]).assertion.ttl, 10);
        assert_eq!(
            ok(&[("IDENTITY_HEADERS", "plain")]).identity_headers,
            IdentityHeaders::Plain
        );
        for (var, value, reason) in [
            (
                "ASSERTION_TTL",
                "9",
                "ASSERTION_TTL: must be 10 to 600 seconds",
            ),
            (
                "ASSERTION_TTL",
                "601",
                "ASSERTION_TTL: must be 10 to 600 seconds",
            ),
            (
                "ASSERTION_TTL",
                "60s",
                "ASSERTION_TTL: is not a whole number of seconds",
            ),
            (
                "ASSERTION_TTL",
                "-60",
                "ASSERTION_TTL: is not a whole number of seconds",
            ),
            (
                "ASSERTION_TTL",
                "99999999999999999999999",
                "ASSERTION_TTL: is not a whole number",
            ),
            (
                "IDENTITY_HEADERS",
                "both",
                "IDENTITY_HEADERS: must be \"plain\" or \"assertion\"",
            ),
            (
                "IDENTITY_HEADERS",
                "assertion",
                "IDENTITY_HEADERS: is \"assertion\" but ASSERTION_KEYS is not set",
            ),
            (
                "ASSERTION_ISSUER",
                "my app",
                "ASSERTION_ISSUER: must be visible ASCII",
            ),
            (
                "ASSERTION_AUDIENCE",
                "aud\u{e9}",
                "ASSERTION_AUDIENCE: must be visible ASCII",
            ),
            (
                "ASSERTION_KEYS",
                "k1:AAAA",
                "ASSERTION_KEYS: entry 1: is not PKCS#8 DER",
            ),
        ] {
            let e = bad(&[(var, value)]);
            assert_eq!(e.var, var);
            assert!(e.to_string().starts_with(reason), "{value}: {e}");
        }
        assert_eq!(
            bad(&[("ASSERTION_AUDIENCE", &"a".repeat(MAX_URL_BYTES + 1))]).var,
            "ASSERTION_AUDIENCE"
        );
    }

    #[test]
    fn errors_never_echo_the_value() {
        // Any var's value may hold a secret (a password in a URL, a key): a
        // configuration problem names the var and the reason only.
        const SECRET: &str = "PASSWORD123xyz";
        let cases: [(&str, String); 19] = [
            ("TOKEN_KEYS", format!("{SECRET}:AAAA")),
            (
                "TOKEN_KEYS",
                format!("{SECRET}:{k},{SECRET}:{k}", k = "A".repeat(43)),
            ),
            ("ORIGIN_URL", format!("http://user:{SECRET}@origin.example")),
            ("ORIGIN_URL", format!("https://origin.example/{SECRET}?q")),
            ("ORIGIN_URL", format!("not a url {SECRET}")),
            ("LOGIN_URL", format!("//{SECRET}.example")),
            ("API_PREFIX", format!("/{SECRET}/")),
            (
                "ALLOWED_ORIGINS",
                format!("https://ok.example,https://{SECRET}.example/p"),
            ),
            ("COOKIE_NAME", format!("{SECRET} x")),
            ("KEY_PREFIX", format!("{SECRET} {}", "x".repeat(70))),
            ("FORWARD_TOKEN", SECRET.to_owned()),
            ("SESSION_IDLE_TTL", SECRET.to_owned()),
            ("ASSERTION_KEYS", format!("{SECRET}:AAAA")),
            ("ASSERTION_KEYS", format!("k1:{SECRET}")),
            ("ASSERTION_ISSUER", format!("{SECRET} x")),
            ("ASSERTION_TTL", SECRET.to_owned()),
            ("IDENTITY_HEADERS", SECRET.to_owned()),
            (
                "GUARD_RULES",
                format!(r#"[{{"path":"{SECRET}","access":"public"}}]"#),
            ),
            (
                "GUARD_RULES",
                format!(r#"[{{"path":"/","access":"public","{SECRET}":1}}]"#),
            ),
        ];
        for (var, value) in &cases {
            let e = match load(&[(var, value)]) {
                Ok(c) => c.key_ring.expect_err("TOKEN_KEYS is refused"),
                Err(e) => e,
            };
            assert_eq!(e.var, *var);
            assert!(
                !e.to_string().contains(SECRET),
                "{var} echoed its value: {e}"
            );
        }
        for rules in [
            format!(r#"[{{"path":"/","access":"{SECRET}"}}]"#),
            format!(r#"[{{"path":"/","methods":["{SECRET} "],"access":"public"}}]"#),
            format!(r#"[{{"path":"/a?{SECRET}","access":"public"}}]"#),
            format!(r#"[{{"path":"/","access":"public"}} {SECRET}]"#),
            format!(r#"["{SECRET}"#),
        ] {
            let e = bad(&[("GUARD_RULES", &rules)]);
            assert!(!e.to_string().contains(SECRET), "GUARD_RULES echoed: {e}");
        }
        assert!(!bad(&[("SESSION_IDLE_TTL", "59")])
            .to_string()
            .contains("59"));
    }

    #[test]
    fn first_bad_var_in_table_order_is_reported() {
        let e = bad(&[
            ("SESSION_IDLE_TTL", "x"),
            ("COOKIE_NAME", "a b"),
            ("GUARD_RULES", "["),
        ]);
        assert_eq!(e.var, "GUARD_RULES");
        let e = bad(&[("SESSION_IDLE_TTL", "x"), ("COOKIE_NAME", "a b")]);
        assert_eq!(e.var, "SESSION_IDLE_TTL");
    }
}
