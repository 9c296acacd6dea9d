//! `GUARD_RULES`: which paths are public, which need a session, which a role.
//!
//! # Rule format
//! A JSON array (at most [`MAX_RULES`] rules, [`MAX_RULES_JSON_BYTES`] bytes) of
//! `{"path": "/assets/*", "methods": ["GET"], "access": "public"}`:
//! - `path` (required): a pattern starting with `/`, at most
//!   [`MAX_PATTERN_BYTES`] bytes.
//!   - Literal segments match exactly (case-sensitively; see *Normalization*).
//!   - `*` matches any run of characters, possibly empty, **within one
//!     segment** (never a `/`): `/assets/*` matches `/assets/app.js` and
//!     `/assets/`, not `/assets/a/b.js` nor `/assets`; `/img/*.png` and
//!     `/u/*/avatar` work as expected.
//!   - A final `/**` matches the prefix itself and everything below it:
//!     `/api/**` matches `/api`, `/api/`, `/api/x/y`, never `/apix`; `/**`
//!     matches every path. `**` anywhere else is an error.
//!   - Patterns are written in normalized form: no `//`, no `.`/`..`
//!     segments, no `?`, `#`, `;`, `\`, whitespace, control characters, nor
//!     encoded slashes (`%2F`, `%5C`). Non-ASCII characters and percent-escapes
//!     are allowed and compared in canonical form (`/caf%C3%A9` = `/café`).
//!     A `*` in a pattern is always a wildcard.
//! - `methods` (optional): non-empty array of HTTP method tokens, compared
//!   ASCII-case-insensitively; `GET` also matches `HEAD` (a HEAD is a GET
//!   without body at the origin). Omitted: every method.
//! - `access` (required): `"public"`, `"session"` or `"role:NAME"` with a
//!   non-empty NAME (exact, no surrounding whitespace, at most
//!   [`MAX_ROLE_BYTES`] bytes) that must appear in the session's `meta.roles`.
//! - `fresh` (optional, not on public rules): whole seconds, 1 to
//!   [`MAX_FRESH_SECS`]: the session's `authenticatedAt` must be at most
//!   that old (a recent sign-in, see [`crate::guard`]).
//! - `limit` (optional): the name of a rate limiting binding, `RL_` and
//!   then letters, digits or `_` (at most [`MAX_LIMIT_NAME_BYTES`] bytes;
//!   not `RL_ADMIN` nor `RL_CREATE`, the service's own), counting the rule's
//!   requests per session user, or per client IP on a public rule (see
//!   [`crate::ratelimit`]). Whether it is bound is checked once the
//!   bindings are known ([`crate::config::Config::with_bindings`]).
//!
//! Unknown fields are rejected. Errors name the rule and field:
//! `GUARD_RULES[2].access: …`. The first rule whose path and methods match
//! decides; a request no rule matches needs a session ([`Access::Session`]).
//!
//! # Normalization and the "public to the guard, private to the origin" bypass
//! [`Rules::access_for`] takes the request path **as received** (still
//! percent-encoded; a query or fragment, if passed, is ignored). The guard must
//! never grant weaker access than the origin's own reading of the path would
//! deserve, yet origins read paths differently: some decode `%2F` into `/`,
//! `%5C` or `\` into `/`, strip Tomcat-style `;params` (`/..;/`) before or
//! after decoding, merge `//`, ignore a trailing slash, resolve dot segments
//! revealed by decoding or not, or ignore case, and the proxies before them
//! (`fetch()`'s own URL parser included) do some of it first. So the path is
//! read under these interpretations applied **in any order** (see
//! `readings.rs`); each reading is canonicalized (escapes of unreserved
//! characters, sub-delims but `;`, `:` and `@` decoded, other escapes
//! upper-cased, other bytes escaped, `;` and `\` kept as written) and
//! matched, ASCII-case-sensitively and -insensitively. The
//! **strictest** answer wins (`Public` < `Session` < `Role`). If two
//! readings demand different roles, no single answer is safe and the path is
//! rejected as [`PathRejection::Ambiguous`] (the guard answers 400); a path
//! with more than [`MAX_READINGS`] distinct readings (one stacked with every
//! trick at once) is rejected too ([`PathRejection::TooManyReadings`]).
//!
//! For ordinary paths every reading is the same, so nothing changes; only
//! paths built to straddle two rules (e.g. `/public/..%2Fadmin`,
//! `/public/..;/admin`, `//admin`, `/ADMIN`, `/admin/` against an exact
//! `/admin` rule) get the stricter rule. The request is still forwarded with
//! its path untouched.

mod pattern;
mod readings;

use std::fmt;

use serde_json::Value;

use crate::syntax::is_tchar;
use pattern::Pattern;
pub use readings::{normalize_path, MAX_READINGS};

/// Most rules in `GUARD_RULES`.
pub const MAX_RULES: usize = 256;
/// Longest `path` pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 1024;
/// Longest `GUARD_RULES` value, in bytes.
pub const MAX_RULES_JSON_BYTES: usize = 256 * 1024;
/// Most entries in one rule's `methods`.
pub const MAX_METHODS: usize = 32;
/// Longest method name, in bytes.
pub const MAX_METHOD_BYTES: usize = 32;
/// Longest role NAME, in bytes.
pub const MAX_ROLE_BYTES: usize = 128;
/// Largest `fresh`, in seconds: a year, the longest a session lives.
pub const MAX_FRESH_SECS: u64 = 31_536_000;
/// Longest `limit` binding name, in bytes.
pub const MAX_LIMIT_NAME_BYTES: usize = 64;
/// What every `limit` binding name starts with.
pub const LIMIT_NAME_PREFIX: &str = "RL_";
/// Longest request path [`Rules::access_for`] accepts, in bytes.
pub const MAX_PATH_BYTES: usize = 8192;
/// Most segments a request path may have. Matching reads the path up to
/// [`MAX_READINGS`] ways, so its cost grows with the segment count: an 8 KiB
/// path of 4000 empty segments took 6 ms natively before this bound, about
/// 0.2 ms after.
pub const MAX_PATH_SEGMENTS: usize = 128;

/// What a path requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Access {
    /// Forwarded without a session (client `X-Session-*` headers still removed).
    Public,
    /// Needs a valid session.
    Session,
    /// Needs a valid session whose `meta.roles` holds this name.
    Role(String),
}

impl Access {
    /// Parses `"public"`, `"session"` or `"role:NAME"` (see the module docs).
    pub fn parse(s: &str) -> Result<Access, String> {
        match s {
            "public" => Ok(Access::Public),
            "session" => Ok(Access::Session),
            _ => match s.strip_prefix("role:") {
                Some("") => Err("role name must not be empty (\"role:NAME\")".into()),
                Some(name) if name.len() > MAX_ROLE_BYTES => {
                    Err(format!("role name must be at most {MAX_ROLE_BYTES} bytes"))
                }
                Some(name) if name.trim() != name => {
                    Err("role name must not start or end with whitespace".into())
                }
                Some(name) if name.chars().any(char::is_control) => {
                    Err("role name must not contain control characters".into())
                }
                Some(name) => Ok(Access::Role(name.to_owned())),
                None => Err("must be \"public\", \"session\" or \"role:NAME\"".into()),
            },
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Access::Public => 0,
            Access::Session => 1,
            Access::Role(_) => 2,
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Public => f.write_str("public"),
            Access::Session => f.write_str("session"),
            Access::Role(name) => write!(f, "role:{name}"),
        }
    }
}

/// Why [`Rules::access_for`] refused to classify a path. The guard answers
/// 400 `invalid_request` and does not forward the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRejection {
    /// Longer than [`MAX_PATH_BYTES`].
    TooLong,
    /// More than [`MAX_PATH_SEGMENTS`] segments under some reading.
    TooManySegments,
    /// Readings of the path that origins may make require different roles.
    Ambiguous,
    /// More than [`MAX_READINGS`] distinct readings: a path stacked with
    /// every trick at once.
    TooManyReadings,
}

impl fmt::Display for PathRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathRejection::TooLong => {
                write!(f, "request path is longer than {MAX_PATH_BYTES} bytes")
            }
            PathRejection::TooManySegments => {
                write!(f, "request path has more than {MAX_PATH_SEGMENTS} segments")
            }
            PathRejection::Ambiguous => f.write_str(
                "request path is ambiguous: its possible readings fall under different rules",
            ),
            PathRejection::TooManyReadings => {
                write!(
                    f,
                    "request path has more than {MAX_READINGS} possible readings"
                )
            }
        }
    }
}

impl std::error::Error for PathRejection {}

/// One parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    path: String,
    pattern: Pattern,
    methods: Option<Vec<String>>,
    access: Access,
    fresh: Option<u64>,
    limit: Option<String>,
}

/// What a request must meet: the access of the rule that decides it, and
/// that rule's `fresh` and `limit`. See [`Rules::requirement`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement<'a> {
    pub access: &'a Access,
    /// Seconds the session's sign-in may be old at most.
    pub fresh: Option<u64>,
    /// Rate limiting bindings counting the request (usually none or one).
    pub limits: Vec<&'a str>,
}

impl<'a> Requirement<'a> {
    fn of_rule(rule: Option<&'a Rule>) -> Self {
        match rule {
            None => Requirement {
                access: &DEFAULT_ACCESS,
                fresh: None,
                limits: Vec::new(),
            },
            Some(rule) => Requirement {
                access: &rule.access,
                fresh: rule.fresh,
                limits: rule.limit.as_deref().into_iter().collect(),
            },
        }
    }

    /// The stricter of two readings' requirements: the stricter access
    /// (see [`stricter`]), the shorter `fresh`, every limit of both.
    fn merge(self, other: Requirement<'a>) -> Result<Requirement<'a>, PathRejection> {
        let access = stricter(self.access, other.access)?;
        let fresh = match (self.fresh, other.fresh) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut limits = self.limits;
        for name in other.limits {
            if !limits.contains(&name) {
                limits.push(name);
            }
        }
        Ok(Requirement {
            access,
            fresh,
            limits,
        })
    }
}

impl Rule {
    /// The pattern as written in `GUARD_RULES`.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// Upper-cased methods, `None` for every method.
    pub fn methods(&self) -> Option<&[String]> {
        self.methods.as_deref()
    }
    pub fn access(&self) -> &Access {
        &self.access
    }
    /// `fresh`, in seconds.
    pub fn fresh(&self) -> Option<u64> {
        self.fresh
    }
    /// The `limit` binding's name.
    pub fn limit(&self) -> Option<&str> {
        self.limit.as_deref()
    }

    fn matches_method(&self, method: &str) -> bool {
        match &self.methods {
            None => true,
            Some(list) => list.iter().any(|m| {
                m.eq_ignore_ascii_case(method)
                    || (m == "GET" && method.eq_ignore_ascii_case("HEAD"))
            }),
        }
    }
}

/// The parsed `GUARD_RULES`, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
    /// Whether any pattern has an upper-case ASCII letter (enables skipping
    /// the case-insensitive pass for all-lower-case paths).
    any_upper: bool,
}

static DEFAULT_ACCESS: Access = Access::Session;

impl Rules {
    /// Parses `GUARD_RULES`. Errors read `GUARD_RULES: …` or
    /// `GUARD_RULES[i].field: …`.
    pub fn parse(json: &str) -> Result<Rules, String> {
        if json.len() > MAX_RULES_JSON_BYTES {
            return Err(format!(
                "GUARD_RULES: longer than {MAX_RULES_JSON_BYTES} bytes"
            ));
        }
        let value: Value = serde_json::from_str(json).map_err(|e| {
            // Line and column only: serde's message may quote the text.
            format!(
                "GUARD_RULES: not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let Value::Array(items) = value else {
            return Err("GUARD_RULES: must be a JSON array of rules".into());
        };
        if items.len() > MAX_RULES {
            return Err(format!(
                "GUARD_RULES: {} rules, at most {MAX_RULES} allowed",
                items.len()
            ));
        }
        let mut rules = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            rules.push(parse_rule(item).map_err(|(field, msg)| match field {
                Some(f) => format!("GUARD_RULES[{i}].{f}: {msg}"),
                None => format!("GUARD_RULES[{i}]: {msg}"),
            })?);
        }
        let any_upper = rules.iter().any(|r| r.pattern.has_upper);
        Ok(Rules { rules, any_upper })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// The access `method path` requires: [`Rules::requirement`]'s.
    pub fn access_for(&self, method: &str, path: &str) -> Result<&Access, PathRejection> {
        self.requirement(method, path).map(|r| r.access)
    }

    /// What `method path` requires: the first matching rule's access,
    /// `fresh` and `limit`, or [`Access::Session`] alone when none matches,
    /// taking the strictest answer over every reading of the path (see the
    /// module docs): the strictest access, the shortest `fresh`, every
    /// `limit`. `path` is the raw, percent-encoded request path.
    pub fn requirement(&self, method: &str, path: &str) -> Result<Requirement<'_>, PathRejection> {
        if path.len() > MAX_PATH_BYTES {
            return Err(PathRejection::TooLong);
        }
        if readings::separator_count(path) > MAX_PATH_SEGMENTS {
            return Err(PathRejection::TooManySegments);
        }
        let readings = readings::distinct_readings(path).ok_or(PathRejection::TooManyReadings)?;
        let mut result: Option<Requirement<'_>> = None;
        for (segs, trimmed) in &readings {
            let has_upper = segs
                .iter()
                .any(|s| s.bytes().any(|b| b.is_ascii_uppercase()));
            let lower: Option<Vec<String>> = (has_upper || self.any_upper)
                .then(|| segs.iter().map(|s| s.to_ascii_lowercase()).collect());
            let mut candidates = vec![self.first_match(method, segs, *trimmed, false)];
            if let Some(lower) = &lower {
                candidates.push(self.first_match(method, lower, *trimmed, true));
            }
            for found in candidates {
                let found = Requirement::of_rule(found);
                result = Some(match result {
                    None => found,
                    Some(prev) => prev.merge(found)?,
                });
            }
        }
        Ok(result.unwrap_or_else(|| Requirement::of_rule(None)))
    }

    fn first_match(
        &self,
        method: &str,
        segs: &[String],
        trimmed: bool,
        fold_case: bool,
    ) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.matches_method(method) && r.pattern.matches(segs, trimmed, fold_case))
    }

    /// Each rule's index and `limit` binding, for the rules that have one.
    pub fn limits(&self) -> impl Iterator<Item = (usize, &str)> {
        self.rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, r.limit.as_deref()?)))
    }
}

fn stricter<'a>(a: &'a Access, b: &'a Access) -> Result<&'a Access, PathRejection> {
    match (a, b) {
        (Access::Role(x), Access::Role(y)) if x != y => Err(PathRejection::Ambiguous),
        _ if b.rank() > a.rank() => Ok(b),
        _ => Ok(a),
    }
}

type FieldError = (Option<&'static str>, String);

fn parse_rule(item: &Value) -> Result<Rule, FieldError> {
    let Value::Object(obj) = item else {
        return Err((None, "must be an object".into()));
    };
    if obj.keys().any(|k| {
        !matches!(
            k.as_str(),
            "path" | "methods" | "access" | "fresh" | "limit"
        )
    }) {
        return Err((
            None,
            "has an unknown field (allowed: path, methods, access, fresh, limit)".into(),
        ));
    }
    let path = match obj.get("path") {
        None => return Err((Some("path"), "missing".into())),
        Some(Value::String(s)) => s,
        Some(_) => return Err((Some("path"), "must be a string".into())),
    };
    let pattern = Pattern::parse(path).map_err(|m| (Some("path"), m))?;
    let methods = match obj.get("methods") {
        None => None,
        Some(v) => Some(parse_methods(v).map_err(|m| (Some("methods"), m))?),
    };
    let access = match obj.get("access") {
        None => return Err((Some("access"), "missing".into())),
        Some(Value::String(s)) => Access::parse(s).map_err(|m| (Some("access"), m))?,
        Some(_) => return Err((Some("access"), "must be a string".into())),
    };
    let fresh = match obj.get("fresh") {
        None => None,
        Some(_) if access == Access::Public => {
            return Err((
                Some("fresh"),
                "a public rule has no session whose sign-in could be recent".into(),
            ))
        }
        Some(v) => Some(parse_fresh(v).map_err(|m| (Some("fresh"), m))?),
    };
    let limit = match obj.get("limit") {
        None => None,
        Some(v) => Some(parse_limit_name(v).map_err(|m| (Some("limit"), m))?),
    };
    Ok(Rule {
        path: path.clone(),
        pattern,
        methods,
        access,
        fresh,
        limit,
    })
}

/// `fresh`: a whole number of seconds, 1 to [`MAX_FRESH_SECS`].
fn parse_fresh(v: &Value) -> Result<u64, String> {
    match v.as_u64() {
        Some(n @ 1..=MAX_FRESH_SECS) => Ok(n),
        _ => Err(format!(
            "must be a whole number of seconds from 1 to {MAX_FRESH_SECS}"
        )),
    }
}

/// `limit`: a rate limiting binding's name (see the module docs).
fn parse_limit_name(v: &Value) -> Result<String, String> {
    let Value::String(name) = v else {
        return Err("must be the name of a rate limiting binding, e.g. \"RL_API\"".into());
    };
    let rest = name.strip_prefix(LIMIT_NAME_PREFIX).unwrap_or("");
    if rest.is_empty()
        || name.len() > MAX_LIMIT_NAME_BYTES
        || !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(format!(
            "must be a binding name of {LIMIT_NAME_PREFIX} and then letters, digits or _ \
             (at most {MAX_LIMIT_NAME_BYTES} bytes)"
        ));
    }
    if crate::ratelimit::SERVICE_BINDINGS.contains(&name.as_str()) {
        return Err(
            "RL_ADMIN and RL_CREATE count the service's own work: name another binding".into(),
        );
    }
    Ok(name.clone())
}

fn parse_methods(v: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = v else {
        return Err("must be an array of method names".into());
    };
    if items.is_empty() {
        return Err("must not be empty (omit it to match every method)".into());
    }
    if items.len() > MAX_METHODS {
        return Err(format!("at most {MAX_METHODS} methods"));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::String(m) = item else {
            return Err("must be an array of strings".into());
        };
        if m.is_empty() || m.len() > MAX_METHOD_BYTES || !m.bytes().all(is_tchar) {
            return Err(format!("entry {i} is not an HTTP method name"));
        }
        let m = m.to_ascii_uppercase();
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
