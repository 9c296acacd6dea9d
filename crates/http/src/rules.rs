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
//! turn `\` into `/`, strip Tomcat-style `;params` (`/..;/`), merge `//`,
//! ignore a trailing slash, resolve dot segments revealed by decoding or
//! not, or ignore case. So the path is read under every combination of these
//! interpretations; each reading is canonicalized (escapes of unreserved
//! characters, sub-delims, `:` and `@` decoded, other escapes upper-cased,
//! other bytes escaped) and matched, ASCII-case-sensitively and
//! -insensitively. The
//! **strictest** answer wins (`Public` < `Session` < `Role`). If two
//! readings demand different roles, no single answer is safe and the path is
//! rejected as [`PathRejection::Ambiguous`] (the guard answers 400).
//!
//! For ordinary paths every reading is the same, so nothing changes; only
//! paths built to straddle two rules (e.g. `/public/..%2Fadmin`,
//! `/public/..;/admin`, `//admin`, `/ADMIN`, `/admin/` against an exact
//! `/admin` rule) get the stricter rule. The request is still forwarded with
//! its path untouched.

use std::fmt;

use serde_json::Value;

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
/// Longest request path [`Rules::access_for`] accepts, in bytes.
pub const MAX_PATH_BYTES: usize = 8192;
/// Most segments a request path may have. Matching reads the path up to 32
/// ways, so its cost grows with the segment count: an 8 KiB path of 4000
/// empty segments took 6 ms natively before this bound, about 0.2 ms after.
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

    /// The access `method path` requires: the first matching rule's, or
    /// [`Access::Session`] when none matches, taking the strictest answer
    /// over every reading of the path (see the module docs). `path` is the
    /// raw, percent-encoded request path.
    pub fn access_for(&self, method: &str, path: &str) -> Result<&Access, PathRejection> {
        if path.len() > MAX_PATH_BYTES {
            return Err(PathRejection::TooLong);
        }
        // Everything some reading takes for a separator counts (`/`, `\`,
        // `%2F`, `%5C`), so no reading exceeds the bound; other escapes (a
        // path of CJK text is mostly `%XX`) do not.
        let bytes = path.as_bytes();
        let separators = bytes
            .iter()
            .enumerate()
            .filter(|&(i, &b)| {
                b == b'/'
                    || b == b'\\'
                    || (b == b'%'
                        && matches!(
                            bytes.get(i + 1..i + 3),
                            Some([b'2', b'f' | b'F']) | Some([b'5', b'c' | b'C'])
                        ))
            })
            .count();
        if separators > MAX_PATH_SEGMENTS {
            return Err(PathRejection::TooManySegments);
        }
        // (segments, read with trailing slashes ignored)
        let mut readings: Vec<(Vec<String>, bool)> = Vec::with_capacity(4);
        let relevant = relevant_readings(path);
        for bits in 0u8..32 {
            if bits & !relevant != 0 {
                // This reading cannot differ from one already made.
                continue;
            }
            let interp = Interp {
                split_encoded: bits & 1 != 0,
                strip_params: bits & 2 != 0,
                merge_slashes: bits & 4 != 0,
                trim_trailing: bits & 8 != 0,
                keep_dots: bits & 16 != 0,
            };
            let reading = (canonical_segments(path, interp), interp.trim_trailing);
            if !readings.contains(&reading) {
                readings.push(reading);
            }
        }
        let mut result: Option<&Access> = None;
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
                result = Some(match result {
                    None => found,
                    Some(prev) => stricter(prev, found)?,
                });
            }
        }
        Ok(result.unwrap_or(&DEFAULT_ACCESS))
    }

    fn first_match(
        &self,
        method: &str,
        segs: &[String],
        trimmed: bool,
        fold_case: bool,
    ) -> &Access {
        self.rules
            .iter()
            .find(|r| r.matches_method(method) && r.pattern.matches(segs, trimmed, fold_case))
            .map_or(&DEFAULT_ACCESS, |r| &r.access)
    }
}

/// The bits of [`Interp`] (in `access_for`'s order) that can change how
/// `path` reads. Splitting on escapes or `\` and stripping `;params` can each
/// create empty, dot or trailing segments that the other readings then act
/// on (`/;/admin` strips to `//admin`, which merges to `/admin`), so a path
/// holding `%`, `\` or `;` is read all 32 ways. Otherwise only merging `//`,
/// resolving dot segments and trimming can matter; trimming always does, as
/// it also drops the trailing `/` of patterns (`/admin/` covers `/admin`).
/// An ordinary path is thus read 2 ways, not 32.
fn relevant_readings(path: &str) -> u8 {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.contains(['%', '\\', ';']) {
        return 0b1_1111;
    }
    let mut bits = 8;
    if path.contains("//") {
        bits |= 4;
    }
    if path.contains('.') {
        bits |= 16;
    }
    bits
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
    if obj
        .keys()
        .any(|k| !matches!(k.as_str(), "path" | "methods" | "access"))
    {
        return Err((
            None,
            "has an unknown field (allowed: path, methods, access)".into(),
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
    Ok(Rule {
        path: path.clone(),
        pattern,
        methods,
        access,
    })
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

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

// ---------------------------------------------------------------------------
// Patterns

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// Canonical segments (case as written) and their lower-cased twins.
    segs: Vec<SegPat>,
    lower: Vec<SegPat>,
    /// Ends with `/**`: `segs` is a prefix.
    deep: bool,
    has_upper: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SegPat {
    Literal(String),
    /// The canonical pieces between `*`s (at least two, possibly empty).
    Glob(Vec<String>),
}

impl Pattern {
    fn parse(p: &str) -> Result<Pattern, String> {
        if p.is_empty() {
            return Err("must not be empty".into());
        }
        if p.len() > MAX_PATTERN_BYTES {
            return Err(format!("longer than {MAX_PATTERN_BYTES} bytes"));
        }
        if !p.starts_with('/') {
            return Err("must start with \"/\"".into());
        }
        for c in p.chars() {
            if c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | ';' | '\\') {
                return Err("must not contain ?, #, ;, \\, whitespace or control characters (write paths without query, fragment or parameters)".into());
            }
        }
        let mut raw: Vec<&str> = p[1..].split('/').collect();
        let deep = raw.last() == Some(&"**");
        if deep {
            raw.pop();
        }
        let n = raw.len();
        let mut segs = Vec::with_capacity(n);
        for (k, seg) in raw.iter().enumerate() {
            if seg.contains("**") {
                return Err("\"**\" is only allowed as the final segment \"/**\"".into());
            }
            if seg.is_empty() && (k + 1 < n || deep) {
                return Err("must not contain \"//\"".into());
            }
            let pieces: Vec<String> = seg.split('*').map(canonical_piece).collect();
            for piece in &pieces {
                if piece.contains("%2F") || piece.contains("%5C") {
                    return Err("must not contain an encoded slash (%2F, %5C)".into());
                }
            }
            if pieces.len() == 1 {
                let lit = pieces.into_iter().next().unwrap_or_default();
                if lit == "." || lit == ".." {
                    return Err("must not contain \".\" or \"..\" segments".into());
                }
                segs.push(SegPat::Literal(lit));
            } else {
                segs.push(SegPat::Glob(pieces));
            }
        }
        let lower = segs
            .iter()
            .map(|s| match s {
                SegPat::Literal(l) => SegPat::Literal(l.to_ascii_lowercase()),
                SegPat::Glob(g) => SegPat::Glob(g.iter().map(|x| x.to_ascii_lowercase()).collect()),
            })
            .collect::<Vec<_>>();
        let has_upper = lower != segs;
        Ok(Pattern {
            segs,
            lower,
            deep,
            has_upper,
        })
    }

    /// `path` must be lower-cased when `fold_case` is set. Under a `trimmed`
    /// reading (trailing slashes ignored) the pattern's own trailing slash is
    /// ignored too, so `/docs/` matches `/docs` there.
    fn matches(&self, path: &[String], trimmed: bool, fold_case: bool) -> bool {
        let mut pat: &[SegPat] = if fold_case { &self.lower } else { &self.segs };
        if trimmed
            && pat.len() > 1
            && matches!(pat.last(), Some(SegPat::Literal(l)) if l.is_empty())
        {
            pat = &pat[..pat.len() - 1];
        }
        let len_ok = if self.deep {
            path.len() >= pat.len()
        } else {
            path.len() == pat.len()
        };
        len_ok && pat.iter().zip(path).all(|(p, s)| p.matches(s))
    }
}

impl SegPat {
    fn matches(&self, s: &str) -> bool {
        match self {
            SegPat::Literal(l) => l == s,
            SegPat::Glob(pieces) => glob_match(pieces, s),
        }
    }
}

/// `pieces` are the literal runs around `*`s (`a*b*c` → `[a, b, c]`).
/// Greedy leftmost matching of the middle pieces is exact for `*`-only globs
/// and runs in linear time.
fn glob_match(pieces: &[String], s: &str) -> bool {
    let (Some(first), Some(last)) = (pieces.first(), pieces.last()) else {
        return false;
    };
    if pieces.len() < 2 || first.len() + last.len() > s.len() {
        return false;
    }
    if !s.starts_with(first.as_str()) || !s.ends_with(last.as_str()) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece.as_str()) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    true
}

// ---------------------------------------------------------------------------
// Path canonicalization

/// One way an origin may read a path.
#[derive(Debug, Clone, Copy)]
struct Interp {
    /// Percent-decode everything; `%2F`, `%5C` and `\` separate segments.
    split_encoded: bool,
    /// Drop `;params` from each segment (Tomcat, Jetty, Spring).
    strip_params: bool,
    /// `//` is `/`.
    merge_slashes: bool,
    /// `/a/` is `/a`.
    trim_trailing: bool,
    /// Dot segments are not resolved (a proxy that decodes `%2F` and then
    /// matches prefixes, or an origin that never resolves them).
    keep_dots: bool,
}

/// Characters kept raw in canonical form: unreserved, sub-delims, `:` and `@`.
/// Their escapes are decoded (`%3B` reads as `;`): origins rarely tell them
/// apart, and treating them alike only makes more paths match a rule.
fn keep_raw(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn push_escaped(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 15)] as char);
}

/// Canonical form of a pattern piece: the literal reading of a path segment.
fn canonical_piece(s: &str) -> String {
    let mut out = Vec::new();
    let mut cur = String::new();
    read_into(s.as_bytes(), false, &mut out, &mut cur);
    // A piece holds no raw '/' and `split_encoded` is off, so `out` is empty.
    cur
}

/// Canonicalizes `bytes` into segments (`out` gets the finished ones, `cur`
/// the one in progress): escapes of [`keep_raw`] characters are decoded, every
/// other byte outside [`keep_raw`] is escaped with upper-case hex (so `%2f`
/// and `%2F` are one), a `%` not followed by two hex digits reads as `%25`.
/// With `split_encoded`, `%2F`, `%5C` and `\` split segments.
fn read_into(bytes: &[u8], split_encoded: bool, out: &mut Vec<String>, cur: &mut String) {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (byte, escaped) = if b == b'%' {
            match (
                bytes.get(i + 1).and_then(|&h| hex_val(h)),
                bytes.get(i + 2).and_then(|&l| hex_val(l)),
            ) {
                (Some(h), Some(l)) => {
                    i += 3;
                    (h << 4 | l, true)
                }
                _ => {
                    i += 1;
                    cur.push_str("%25");
                    continue;
                }
            }
        } else {
            i += 1;
            (b, false)
        };
        let separator =
            byte == b'/' && !escaped || split_encoded && (byte == b'/' || byte == b'\\');
        if separator {
            out.push(std::mem::take(cur));
        } else if !keep_raw(byte) {
            push_escaped(cur, byte);
        } else {
            cur.push(byte as char);
        }
    }
}

/// The segments of `raw` under `interp`: `"/"` → `[""]`, `"/a/b/"` →
/// `["a", "b", ""]`, dot segments resolved (RFC 3986 5.2.4).
fn canonical_segments(raw: &str, interp: Interp) -> Vec<String> {
    let raw = raw.split(['?', '#']).next().unwrap_or("");
    let raw = raw.strip_prefix('/').unwrap_or(raw);
    let mut segs = Vec::new();
    let mut cur = String::new();
    read_into(raw.as_bytes(), interp.split_encoded, &mut segs, &mut cur);
    segs.push(cur);
    if interp.strip_params {
        for s in &mut segs {
            if let Some(i) = s.find(';') {
                s.truncate(i);
            }
        }
    }
    if interp.merge_slashes {
        let n = segs.len();
        let mut k = 0;
        segs.retain(|s| {
            k += 1;
            !s.is_empty() || k == n
        });
    }
    let n = segs.len();
    let mut out: Vec<String> = Vec::with_capacity(n);
    if interp.keep_dots {
        out = segs;
    } else {
        for (k, s) in segs.into_iter().enumerate() {
            let last = k + 1 == n;
            match s.as_str() {
                "." | ".." => {
                    if s == ".." {
                        out.pop();
                    }
                    if last {
                        out.push(String::new());
                    }
                }
                _ => out.push(s),
            }
        }
    }
    if interp.trim_trailing && out.len() > 1 && out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// The canonical literal reading of a raw path (no decoding of `%2F`, no
/// parameter stripping, `//` and trailing `/` kept, dot segments resolved):
/// what rules are matched against for an ordinary path. For logs and tests.
pub fn normalize_path(raw: &str) -> String {
    let segs = canonical_segments(
        raw,
        Interp {
            split_encoded: false,
            strip_params: false,
            merge_slashes: false,
            trim_trailing: false,
            keep_dots: false,
        },
    );
    format!("/{}", segs.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Rules {
        Rules::parse(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn err(json: &str) -> String {
        Rules::parse(json).expect_err(json)
    }

    fn role(n: &str) -> Access {
        Access::Role(n.into())
    }

    fn get(r: &Rules, path: &str) -> Access {
        r.access_for("GET", path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .clone()
    }

    // --- parsing -----------------------------------------------------------

    #[test]
    fn empty_rules_need_a_session_everywhere() {
        let r = rules("[]");
        assert!(r.is_empty());
        assert_eq!(get(&r, "/"), Access::Session);
        assert_eq!(get(&r, "/anything/at/all"), Access::Session);
        assert_eq!(Rules::default(), r);
    }

    #[test]
    fn parses_all_fields() {
        let r = rules(
            r#"[{"path":"/a","methods":["get","Post","GET"],"access":"public"},
                {"path":"/b/**","access":"role:admin"},
                {"path":"/c/*","access":"session"}]"#,
        );
        assert_eq!(r.len(), 3);
        let v: Vec<_> = r.iter().collect();
        assert_eq!(v[0].path(), "/a");
        assert_eq!(
            v[0].methods(),
            Some(&["GET".to_string(), "POST".to_string()][..])
        );
        assert_eq!(v[0].access(), &Access::Public);
        assert_eq!(v[1].methods(), None);
        assert_eq!(v[1].access(), &role("admin"));
        assert_eq!(v[2].access(), &Access::Session);
    }

    #[test]
    fn top_level_errors() {
        assert!(err("").starts_with("GUARD_RULES: not valid JSON"));
        assert!(err("[{]").starts_with("GUARD_RULES: not valid JSON"));
        assert_eq!(err("{}"), "GUARD_RULES: must be a JSON array of rules");
        assert_eq!(err("null"), "GUARD_RULES: must be a JSON array of rules");
        let many = format!(
            "[{}]",
            vec![r#"{"path":"/","access":"public"}"#; 257].join(",")
        );
        assert_eq!(err(&many), "GUARD_RULES: 257 rules, at most 256 allowed");
        let ok = format!(
            "[{}]",
            vec![r#"{"path":"/","access":"public"}"#; 256].join(",")
        );
        assert_eq!(rules(&ok).len(), 256);
        let huge = format!("[\"{}\"]", "x".repeat(MAX_RULES_JSON_BYTES));
        assert!(err(&huge).contains("longer than"));
        // Deep nesting is refused by serde_json, not a stack overflow.
        let deep = "[".repeat(100_000);
        assert!(err(&deep).starts_with("GUARD_RULES: "));
    }

    #[test]
    fn rule_errors_name_index_and_field() {
        assert_eq!(err(r#"[1]"#), "GUARD_RULES[0]: must be an object");
        assert_eq!(
            err(r#"[{"path":"/","access":"public"},{"path":"/x","access":"public","role":"a"}]"#),
            "GUARD_RULES[1]: has an unknown field (allowed: path, methods, access)"
        );
        assert_eq!(
            err(r#"[{"access":"public"}]"#),
            "GUARD_RULES[0].path: missing"
        );
        assert_eq!(err(r#"[{"path":"/"}]"#), "GUARD_RULES[0].access: missing");
        assert_eq!(
            err(r#"[{"path":5,"access":"public"}]"#),
            "GUARD_RULES[0].path: must be a string"
        );
        assert_eq!(
            err(r#"[{"path":"/","access":true}]"#),
            "GUARD_RULES[0].access: must be a string"
        );
        let e = err(
            r#"[{"path":"/","access":"public"},{"path":"/","access":"public"},{"path":"/","access":"Public"}]"#,
        );
        assert!(
            e.starts_with("GUARD_RULES[2].access: must be \"public\""),
            "{e}"
        );
        assert_eq!(
            err(r#"[{"path":"/","access":"role:"}]"#),
            "GUARD_RULES[0].access: role name must not be empty (\"role:NAME\")"
        );
        assert!(err(r#"[{"path":"/","access":"role: admin"}]"#).contains("whitespace"));
        assert!(err(r#"[{"path":"/","access":"role:a\u0000"}]"#).contains("control"));
        let long_role = format!(r#"[{{"path":"/","access":"role:{}"}}]"#, "r".repeat(129));
        assert!(err(&long_role).starts_with("GUARD_RULES[0].access: role name must be at most"));
    }

    #[test]
    fn method_errors() {
        let m = |methods: &str| {
            err(&format!(
                r#"[{{"path":"/","methods":{methods},"access":"public"}}]"#
            ))
        };
        assert_eq!(
            m("[]"),
            "GUARD_RULES[0].methods: must not be empty (omit it to match every method)"
        );
        assert_eq!(
            m("\"GET\""),
            "GUARD_RULES[0].methods: must be an array of method names"
        );
        assert_eq!(
            m("[1]"),
            "GUARD_RULES[0].methods: must be an array of strings"
        );
        assert_eq!(
            m("[\"GE T\"]"),
            "GUARD_RULES[0].methods: entry 0 is not an HTTP method name"
        );
        assert_eq!(
            m("[\"GET\", \"\"]"),
            "GUARD_RULES[0].methods: entry 1 is not an HTTP method name"
        );
        assert!(m("[\"GET(\"]").contains("not an HTTP method"));
        let many = format!("[{}]", vec!["\"GET\""; 33].join(","));
        assert!(m(&many).contains("at most 32"));
    }

    #[test]
    fn path_pattern_errors() {
        let p = |path: &str| {
            let json = serde_json::json!([{ "path": path, "access": "public" }]).to_string();
            err(&json)
        };
        assert_eq!(p(""), "GUARD_RULES[0].path: must not be empty");
        assert!(p("assets/*").contains("must start with \"/\""));
        for bad in ["/a?b", "/a#b", "/a;b", "/a b", "/a\\b", "/a\u{1}"] {
            assert!(
                p(bad).contains("must not contain ?, #, ;, \\, whitespace or control"),
                "{bad}"
            );
        }
        assert!(p("/a//b").contains("\"//\""));
        assert!(p("/a//**").contains("\"//\""));
        assert!(p("/a/**/b").contains("final segment"));
        assert!(p("/a**").contains("final segment"));
        assert!(p("/a/./b").contains("\".\" or \"..\""));
        assert!(p("/a/../b").contains("\".\" or \"..\""));
        assert!(p("/a/%2e%2E/b").contains("\".\" or \"..\""));
        assert!(p("/a%2fb").contains("encoded slash"));
        assert!(p("/a%5Cb").contains("encoded slash"));
        let long = format!("/{}", "a".repeat(MAX_PATTERN_BYTES));
        assert!(p(&long).contains("longer than 1024"));
        let max = format!("/{}", "a".repeat(MAX_PATTERN_BYTES - 1));
        let json = serde_json::json!([{ "path": max, "access": "public" }]).to_string();
        assert!(Rules::parse(&json).is_ok());
    }

    // --- matching ----------------------------------------------------------

    #[test]
    fn exact_paths() {
        let r = rules(r#"[{"path":"/login","access":"public"},{"path":"/","access":"public"}]"#);
        assert_eq!(get(&r, "/login"), Access::Public);
        assert_eq!(get(&r, "/"), Access::Public);
        assert_eq!(get(&r, ""), Access::Public);
        assert_eq!(get(&r, "/login/x"), Access::Session);
        assert_eq!(get(&r, "/loginx"), Access::Session);
        assert_eq!(get(&r, "/logi"), Access::Session);
        // Query and fragment are not part of the path.
        assert_eq!(get(&r, "/login?next=/admin"), Access::Public);
    }

    #[test]
    fn trailing_slash_on_exact_rule_is_treated_as_the_same_path() {
        // Public exact rule: `/login/` reads as `/login` for origins that
        // ignore trailing slashes, but as its own path for others; the
        // stricter (unmatched = session) wins.
        let r = rules(r#"[{"path":"/login","access":"public"}]"#);
        assert_eq!(get(&r, "/login/"), Access::Session);
        // A pattern written with a trailing slash gives its access to that
        // form; `/docs` may be another resource, so it stays strict.
        let r = rules(r#"[{"path":"/docs/","access":"public"}]"#);
        assert_eq!(get(&r, "/docs/"), Access::Public);
        assert_eq!(get(&r, "/docs"), Access::Session);
        let r =
            rules(r#"[{"path":"/docs/","access":"public"},{"path":"/docs","access":"public"}]"#);
        assert_eq!(get(&r, "/docs/"), Access::Public);
        assert_eq!(get(&r, "/docs"), Access::Public);
        // Role on the slash form covers the bare form too.
        let r = rules(r#"[{"path":"/admin/","access":"role:a"},{"path":"/**","access":"public"}]"#);
        assert_eq!(get(&r, "/admin"), role("a"));
        assert_eq!(get(&r, "/admin/"), role("a"));
    }

    #[test]
    fn single_segment_star() {
        let r = rules(
            r#"[{"path":"/assets/*","access":"public"},{"path":"/img/*.png","access":"public"},{"path":"/u/*/avatar","access":"public"},{"path":"/x/a*b*c","access":"public"}]"#,
        );
        assert_eq!(get(&r, "/assets/app.js"), Access::Public);
        assert_eq!(get(&r, "/assets/a/b.js"), Access::Session);
        assert_eq!(get(&r, "/assets"), Access::Session);
        assert_eq!(get(&r, "/img/logo.png"), Access::Public);
        assert_eq!(get(&r, "/img/.png"), Access::Public);
        assert_eq!(get(&r, "/img/logo.jpg"), Access::Session);
        assert_eq!(get(&r, "/img/a/b.png"), Access::Session);
        assert_eq!(get(&r, "/u/42/avatar"), Access::Public);
        assert_eq!(get(&r, "/u/42/avatar/x"), Access::Session);
        assert_eq!(get(&r, "/u/avatar"), Access::Session);
        assert_eq!(get(&r, "/x/abc"), Access::Public);
        assert_eq!(get(&r, "/x/a--b--c"), Access::Public);
        assert_eq!(get(&r, "/x/ac"), Access::Session);
        assert_eq!(get(&r, "/x/abcb"), Access::Session);
        assert_eq!(get(&r, "/x/acb"), Access::Session);
    }

    #[test]
    fn star_matches_the_empty_segment() {
        let r = rules(r#"[{"path":"/assets/*","access":"public"}]"#);
        // `/assets/` reads as `/assets/` (matches) or `/assets` (does not):
        // the stricter answer wins.
        assert_eq!(get(&r, "/assets/"), Access::Session);
        let r =
            rules(r#"[{"path":"/assets/*","access":"role:a"},{"path":"/**","access":"public"}]"#);
        assert_eq!(get(&r, "/assets/"), role("a"));
    }

    #[test]
    fn double_star_suffix() {
        let r =
            rules(r#"[{"path":"/api/**","access":"role:api"},{"path":"/**","access":"public"}]"#);
        assert_eq!(get(&r, "/api"), role("api"));
        assert_eq!(get(&r, "/api/"), role("api"));
        assert_eq!(get(&r, "/api/x"), role("api"));
        assert_eq!(get(&r, "/api/x/y/z"), role("api"));
        assert_eq!(get(&r, "/apix"), Access::Public);
        assert_eq!(get(&r, "/ap"), Access::Public);
        assert_eq!(get(&r, "/"), Access::Public);
        let r = rules(r#"[{"path":"/u/*/files/**","access":"public"}]"#);
        assert_eq!(get(&r, "/u/7/files"), Access::Public);
        assert_eq!(get(&r, "/u/7/files/a/b"), Access::Public);
        assert_eq!(get(&r, "/u/7/filesx"), Access::Session);
        assert_eq!(get(&r, "/u/7/8/files"), Access::Session);
    }

    #[test]
    fn first_match_wins() {
        let r = rules(
            r#"[{"path":"/a/b","access":"role:x"},{"path":"/a/**","access":"public"},{"path":"/a/b","access":"public"}]"#,
        );
        assert_eq!(get(&r, "/a/b"), role("x"));
        assert_eq!(get(&r, "/a/c"), Access::Public);
        let r = rules(r#"[{"path":"/a/**","access":"public"},{"path":"/a/b","access":"role:x"}]"#);
        assert_eq!(get(&r, "/a/b"), Access::Public);
    }

    #[test]
    fn methods_filter_rules() {
        let r = rules(
            r#"[{"path":"/posts/**","methods":["GET"],"access":"public"},{"path":"/posts/**","access":"role:editor"}]"#,
        );
        assert_eq!(r.access_for("GET", "/posts/1"), Ok(&Access::Public));
        assert_eq!(r.access_for("HEAD", "/posts/1"), Ok(&Access::Public));
        assert_eq!(r.access_for("get", "/posts/1"), Ok(&Access::Public));
        assert_eq!(r.access_for("POST", "/posts/1"), Ok(&role("editor")));
        assert_eq!(r.access_for("DELETE", "/posts/1"), Ok(&role("editor")));
        // Method names are compared case-insensitively, so an origin that
        // upper-cases `delete` cannot be reached around a rule.
        let r = rules(
            r#"[{"path":"/a","methods":["DELETE"],"access":"role:admin"},{"path":"/a","access":"public"}]"#,
        );
        assert_eq!(r.access_for("delete", "/a"), Ok(&role("admin")));
        assert_eq!(r.access_for("GET", "/a"), Ok(&Access::Public));
        // HEAD does not imply GET.
        let r = rules(r#"[{"path":"/a","methods":["HEAD"],"access":"public"}]"#);
        assert_eq!(r.access_for("GET", "/a"), Ok(&Access::Session));
    }

    #[test]
    fn percent_encoding_is_canonicalized() {
        let r = rules(
            r#"[{"path":"/caf%c3%a9/*","access":"public"},{"path":"/docs/**","access":"public"},{"path":"/a%3Ab","access":"public"},{"path":"/p%3Bq","access":"public"}]"#,
        );
        assert_eq!(get(&r, "/caf%C3%A9/x"), Access::Public);
        assert_eq!(get(&r, "/caf%c3%a9/x"), Access::Public);
        assert_eq!(get(&r, "/café/x"), Access::Public);
        // Encoded unreserved characters are the characters themselves.
        assert_eq!(get(&r, "/%64ocs/x"), Access::Public);
        assert_eq!(get(&r, "/d%6Fcs"), Access::Public);
        // Escaped sub-delims, `:` and `@` read as themselves.
        assert_eq!(get(&r, "/a%3ab"), Access::Public);
        assert_eq!(get(&r, "/a:b"), Access::Public);
        // `;` may start path parameters at the origin (`/p` there), so a
        // public rule on `/p%3Bq` does not make `/p;q` public.
        assert_eq!(get(&r, "/p%3Bq"), Access::Session);
        let r = rules(r#"[{"path":"/café","access":"public"}]"#);
        assert_eq!(get(&r, "/caf%C3%A9"), Access::Public);
    }

    #[test]
    fn normalize_path_examples() {
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("/a/./b/../c"), "/a/c");
        assert_eq!(normalize_path("/a/%2e%2E/b"), "/b");
        assert_eq!(normalize_path("/../../x"), "/x");
        assert_eq!(normalize_path("/a/b/.."), "/a/");
        assert_eq!(normalize_path("/a/."), "/a/");
        assert_eq!(normalize_path("/a%2fb"), "/a%2Fb");
        assert_eq!(normalize_path("/%7e%41"), "/~A");
        assert_eq!(normalize_path("/a b\"<>"), "/a%20b%22%3C%3E");
        assert_eq!(normalize_path("/%zz%"), "/%25zz%25");
        assert_eq!(normalize_path("/a//b/"), "/a//b/");
        assert_eq!(normalize_path("/a?x=/../y#f"), "/a");
        assert_eq!(normalize_path("relative"), "/relative");
        assert_eq!(normalize_path("/é"), "/%C3%A9");
    }

    // --- bypass attempts ---------------------------------------------------

    /// Public area next to an admin area and a session default: no path may
    /// reach the admin area through the public rule.
    fn split_site() -> Rules {
        rules(
            r#"[{"path":"/public/**","access":"public"},
                {"path":"/admin/**","access":"role:admin"},
                {"path":"/admin","access":"role:admin"}]"#,
        )
    }

    #[test]
    fn dot_segments_cannot_escape_a_public_prefix() {
        let r = split_site();
        for p in [
            "/public/../admin",
            "/public/../admin/users",
            "/public/./../admin",
            "/public/%2e%2e/admin",
            "/public/%2E%2E/admin/x",
            "/public/.%2e/admin",
            "/public/x/../../admin",
        ] {
            assert_eq!(get(&r, p), role("admin"), "{p}");
        }
    }

    #[test]
    fn encoded_slashes_cannot_escape_a_public_prefix() {
        let r = split_site();
        for p in [
            "/public/..%2Fadmin",
            "/public/..%2fadmin",
            "/public%2F..%2Fadmin",
            "/public/..%5Cadmin",
            "/public/..\\admin",
            "/public/%2e%2e%2fadmin/secret",
        ] {
            assert_eq!(get(&r, p), role("admin"), "{p}");
        }
    }

    #[test]
    fn encoded_slash_cannot_fake_a_public_path_either() {
        // Literal reading: a segment of /admin; decoded reading: /public/x.
        let r = split_site();
        assert_eq!(get(&r, "/admin/..%2F..%2Fpublic/x"), role("admin"));
        assert_eq!(get(&r, "/admin%2F..%2Fpublic/x"), role("admin"));
    }

    #[test]
    fn path_parameters_cannot_escape_a_public_prefix() {
        let r = split_site();
        for p in [
            "/public/..;/admin",
            "/public/..;x=1/admin/y",
            "/admin;jsessionid=1",
            "/admin;/x",
        ] {
            assert_eq!(get(&r, p), role("admin"), "{p}");
        }
    }

    #[test]
    fn duplicate_slashes_and_case() {
        let r = split_site();
        for p in [
            "//admin",
            "/admin//x",
            "///admin/",
            "/ADMIN",
            "/Admin/users",
            "/public//../admin",
        ] {
            assert_eq!(get(&r, p), role("admin"), "{p}");
        }
        // A pattern written with capitals still covers the lower-case path.
        let r = rules(
            r#"[{"path":"/Admin/**","access":"role:admin"},{"path":"/**","access":"public"}]"#,
        );
        assert_eq!(get(&r, "/admin/x"), role("admin"));
        assert_eq!(get(&r, "/Admin/x"), role("admin"));
        assert_eq!(get(&r, "/other"), Access::Public);
        // The other direction: a differently-cased public path does not
        // become public on a case-sensitive origin.
        let r = rules(r#"[{"path":"/public/**","access":"public"}]"#);
        assert_eq!(get(&r, "/PUBLIC/x"), Access::Session);
        assert_eq!(get(&r, "/public/x"), Access::Public);
    }

    #[test]
    fn exact_role_rule_covers_trailing_slash() {
        let r =
            rules(r#"[{"path":"/admin","access":"role:admin"},{"path":"/**","access":"public"}]"#);
        assert_eq!(get(&r, "/admin"), role("admin"));
        assert_eq!(get(&r, "/admin/"), role("admin"));
        assert_eq!(get(&r, "//admin//"), role("admin"));
        assert_eq!(get(&r, "/admin/x"), Access::Public);
    }

    #[test]
    fn ordinary_paths_keep_their_rule() {
        let r = split_site();
        assert_eq!(get(&r, "/public/app.js"), Access::Public);
        assert_eq!(get(&r, "/public/a%20b.txt"), Access::Public);
        assert_eq!(get(&r, "/public/a%2Fb"), Access::Public);
        assert_eq!(get(&r, "/public/x;v=2"), Access::Public);
        assert_eq!(get(&r, "/other"), Access::Session);
    }

    #[test]
    fn conflicting_roles_are_ambiguous() {
        let r = rules(
            r#"[{"path":"/a/**","access":"role:alpha"},{"path":"/b/**","access":"role:beta"}]"#,
        );
        assert_eq!(r.access_for("GET", "/a/x"), Ok(&role("alpha")));
        assert_eq!(
            r.access_for("GET", "/a/..%2Fb/x"),
            Err(PathRejection::Ambiguous)
        );
        assert_eq!(
            r.access_for("GET", "/a/..;/b/x"),
            Err(PathRejection::Ambiguous)
        );
        // The same role under two readings is fine.
        let r = rules(r#"[{"path":"/a/**","access":"role:x"},{"path":"/b/**","access":"role:x"}]"#);
        assert_eq!(r.access_for("GET", "/a/..%2Fb/x"), Ok(&role("x")));
    }

    #[test]
    fn long_and_hostile_paths_never_panic() {
        let r = split_site();
        let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(r.access_for("GET", &long), Err(PathRejection::TooLong));
        let max = format!("/{}", "a".repeat(MAX_PATH_BYTES - 1));
        assert_eq!(r.access_for("GET", &max), Ok(&Access::Session));
        let junk = [
            "%",
            "%%",
            "%%%",
            "/%",
            "/%e",
            "/%ez",
            "/%2",
            "\u{0}",
            "/\u{7f}/..",
            "/é/%ff%fe",
            "/;;;",
            "/..;",
            "/.;/",
            "\\\\",
            "/%2f%2f%2f",
            "?",
            "#",
            "//?//",
            "/a/%c3",
        ];
        for p in junk {
            let _ = r.access_for("GET", p);
            let _ = normalize_path(p);
        }
        let slashes = "/".repeat(MAX_PATH_SEGMENTS);
        assert!(r.access_for("GET", &slashes).is_ok());
        let dots = "/..".repeat(MAX_PATH_SEGMENTS);
        assert!(r.access_for("GET", &dots).is_ok());
        // Beyond the bound, whichever byte would separate the segments.
        for sep in ["/", "\\", "%2F", "%5c"] {
            let many = format!("/a{}", format!("{sep}b").repeat(MAX_PATH_SEGMENTS));
            assert_eq!(
                r.access_for("GET", &many),
                Err(PathRejection::TooManySegments),
                "{sep}"
            );
        }
        assert_eq!(
            r.access_for("GET", &"/".repeat(MAX_PATH_BYTES + 1)),
            Err(PathRejection::TooLong)
        );
    }

    #[test]
    fn semicolons_cannot_hide_a_protected_path() {
        // Tomcat, Jetty and Spring strip `;params` and then merge `//`.
        let r = rules(
            r#"[{"path":"/admin/**","access":"role:admin"},{"path":"/**","access":"public"}]"#,
        );
        for p in [
            "/;/admin/x",
            "/;x/admin/x",
            "/;/;/admin",
            "/.;/admin/x",
            "/a/..;/admin/x",
        ] {
            assert_eq!(get(&r, p), role("admin"), "{p}");
        }
        let r = rules(
            r#"[{"path":"/public/admin","access":"role:admin"},{"path":"/**","access":"public"}]"#,
        );
        assert_eq!(get(&r, "/public/;/admin"), role("admin"));
    }

    #[test]
    fn only_separators_count_toward_the_segment_bound() {
        let r = rules(r#"[{"path":"/blog/**","access":"public"}]"#);
        // 200 escaped CJK characters in one segment: 600 escapes, one segment.
        let cjk = format!("/blog/{}", "%E6%97%A5".repeat(200));
        assert_eq!(r.access_for("GET", &cjk), Ok(&Access::Public));
        let spaces = format!("/blog/{}", "a%20".repeat(300));
        assert_eq!(r.access_for("GET", &spaces), Ok(&Access::Public));
    }

    #[test]
    fn access_display_round_trips() {
        for a in [Access::Public, Access::Session, role("admin")] {
            assert_eq!(Access::parse(&a.to_string()), Ok(a));
        }
    }

    #[test]
    fn glob_match_unit() {
        let g = |p: &str, s: &str| {
            let pieces: Vec<String> = p.split('*').map(str::to_owned).collect();
            glob_match(&pieces, s)
        };
        assert!(g("*", ""));
        assert!(g("*", "abc"));
        assert!(g("a*", "a"));
        assert!(!g("a*", "ba"));
        assert!(g("*a", "ba"));
        assert!(!g("ab*ba", "aba"));
        assert!(g("ab*ba", "abba"));
        assert!(g("*x*", "yyxyy"));
        assert!(!g("*x*", "yyyy"));
        assert!(g("a*b*c", "abbbc"));
        assert!(!glob_match(&["a".to_string()], "a"));
        assert!(!glob_match(&[], "a"));
    }
}
