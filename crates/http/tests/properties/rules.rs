//! `GUARD_RULES` and the path readings: for any path and any rule list, the
//! guard's access is never looser than under any reading an origin might
//! apply to that path.
//!
//! The origins are modelled here apart from `rules/readings.rs`, on decoded
//! characters rather than canonical text: a path's segments (split at `/`,
//! escapes decoded, an escaped `/`, `\` or `;` told apart from a raw one)
//! go through any sequence of what origins and the proxies before them do
//! ([`OriginStep`]: decode `%2F` or `%5C` into separators, read a raw `\` as
//! `/`, strip `;params` before or after decoding, merge `//`, resolve dot
//! segments), then are compared with or without a trailing `/`, with or
//! without case. Each such reading is matched against the rules by a
//! reference matcher (`*` is any run of characters within one segment, by
//! backtracking): the access the origin's resource deserves under it.
//!
//! The guard must answer at least the strictest of them (and, for a role,
//! that very role), or refuse the path as ambiguous (two roles) or as having
//! too many readings (only when it has); and its answer must be one some
//! reading deserves (it invents no strictness).

use proptest::prelude::*;
use serde_json::{json, Value};
use session_http::rules::{Access, PathRejection, Rules, MAX_READINGS};

// --- the generators -------------------------------------------------------

/// Path segments as a request may spell them: plain, other case, escaped
/// letters, non-ASCII raw and escaped, dots in every spelling, parameters,
/// junk escapes, hex-looking text.
const PATH_WORDS: &[&str] = &[
    "admin",
    "Admin",
    "ADMIN",
    "%61dmin",
    "%41DMIN",
    "adm%69n",
    "public",
    "pub",
    "a",
    "b",
    "x",
    "api",
    "app.js",
    "x.png",
    "é",
    "%C3%A9",
    "%c3%a9",
    "C3",
    "2F",
    "",
    ".",
    "..",
    "%2e",
    "%2E%2e",
    ".%2e",
    "..;",
    ".;",
    ";",
    ";x=1",
    "admin;v=1",
    "a%3Bb",
    "%3B",
    "%",
    "%G1",
    "%2",
    "%25",
    "%252F",
    "a b",
    "%20",
    "~",
];

/// What may stand between two segments.
const SEPARATORS: &[&str] = &[
    "/", "/", "/", "/", "//", "%2F", "%2f", "\\", "%5C", "%5c", "/./", "/../",
];

/// Tails that are not part of the path.
const TAILS: &[&str] = &["", "", "", "", "/", "?q=/../admin", "#/admin", "?"];

fn path() -> impl Strategy<Value = String> {
    (
        prop::sample::select(PATH_WORDS),
        prop::collection::vec(
            (
                prop::sample::select(SEPARATORS),
                prop::sample::select(PATH_WORDS),
            ),
            0..6,
        ),
        prop::sample::select(TAILS),
    )
        .prop_map(|(first, rest, tail)| {
            let mut p = format!("/{first}");
            for (sep, word) in rest {
                p.push_str(sep);
                p.push_str(word);
            }
            p.push_str(tail);
            p
        })
}

/// Pattern segments: literals (some escaped, some non-ASCII, some that look
/// like the hex digits of an escape) and globs.
const PATTERN_SEGMENTS: &[&str] = &[
    "admin",
    "Admin",
    "%61dmin",
    "public",
    "pub",
    "a",
    "b",
    "x",
    "api",
    "caf%C3%A9",
    "é",
    "*",
    "*",
    "a*",
    "adm*",
    "*n",
    "*.js",
    "*.png",
    "*C3*",
    "*2F*",
    "*A9",
    "*25*",
    "p*b*c",
];

fn pattern() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(PATTERN_SEGMENTS), 0..4),
        prop::sample::select(&["", "", "/**", "/"][..]),
    )
        .prop_map(|(segs, tail)| {
            let body: String = segs.iter().map(|s| format!("/{s}")).collect();
            match (body.is_empty(), tail) {
                (true, "/**") => "/**".to_owned(),
                (true, _) => "/".to_owned(),
                (false, tail) => format!("{body}{tail}"),
            }
        })
}

/// A small alphabet, so that rules and paths collide often: every feature
/// of the readings in two letters.
fn dense_path() -> impl Strategy<Value = String> {
    const WORDS: &[&str] = &[
        "a", "b", "A", "ab", "", ".", "..", "%2e", ".%2E", "a;b", ";", "b%3Bb", "%3B", "%61",
    ];
    const SEPS: &[&str] = &["/", "/", "/", "//", "%2F", "\\", "%5C", "%3B", ";"];
    (
        prop::collection::vec(
            (prop::sample::select(SEPS), prop::sample::select(WORDS)),
            1..7,
        ),
        prop::sample::select(&["", "", "/"][..]),
    )
        .prop_map(|(parts, tail)| {
            let mut p = String::new();
            for (k, (sep, word)) in parts.into_iter().enumerate() {
                p.push_str(if k == 0 { "/" } else { sep });
                p.push_str(word);
            }
            p.push_str(tail);
            p
        })
}

fn dense_rules_json() -> impl Strategy<Value = String> {
    let pattern = (
        prop::collection::vec(
            prop::sample::select(&["a", "b", "A", "ab", "*", "a*", "*b", "%61"][..]),
            0..4,
        ),
        prop::sample::select(&["", "", "/**", "/"][..]),
    )
        .prop_map(|(segs, tail)| {
            let body: String = segs.iter().map(|s| format!("/{s}")).collect();
            match (body.is_empty(), tail) {
                (true, "/**") => "/**".to_owned(),
                (true, _) => "/".to_owned(),
                (false, tail) => format!("{body}{tail}"),
            }
        });
    prop::collection::vec((pattern, access()), 1..5).prop_map(|rules| {
        let rules: Vec<Value> = rules
            .into_iter()
            .map(|(path, access)| json!({ "path": path, "access": access }))
            .collect();
        Value::Array(rules).to_string()
    })
}

fn access() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["public", "public", "session", "role:a", "role:b"][..])
}

fn methods() -> impl Strategy<Value = Option<Vec<&'static str>>> {
    prop::option::weighted(
        0.3,
        prop::collection::vec(prop::sample::select(&["GET", "post", "DELETE"][..]), 1..3),
    )
}

/// A rule list as `GUARD_RULES` JSON.
fn rules_json() -> impl Strategy<Value = String> {
    prop::collection::vec((pattern(), methods(), access()), 0..6).prop_map(|rules| {
        let rules: Vec<Value> = rules
            .into_iter()
            .map(|(path, methods, access)| match methods {
                None => json!({ "path": path, "access": access }),
                Some(m) => json!({ "path": path, "methods": m, "access": access }),
            })
            .collect();
        Value::Array(rules).to_string()
    })
}

/// Faults of a rule: the field named in the error, the key set, its JSON.
const FAULTS: &[(&str, &str, &str)] = &[
    ("path", "path", r#""admin""#),
    ("path", "path", r#""/a//b""#),
    ("path", "path", r#""/a/../b""#),
    ("path", "path", r#""/a/**/b""#),
    ("path", "path", r#""/a%2Fb""#),
    ("path", "path", r#""/a;b""#),
    ("path", "path", "7"),
    ("access", "access", r#""Public""#),
    ("access", "access", r#""role:""#),
    ("access", "access", r#""role: a""#),
    ("access", "access", "null"),
    ("methods", "methods", "[]"),
    ("methods", "methods", r#"["GE T"]"#),
    ("methods", "methods", r#""GET""#),
    ("", "extra", "1"),
];

fn method() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["GET", "HEAD", "POST", "get", "DELETE", "PUT"][..])
}

// --- the reference model -------------------------------------------------

/// One character of a segment as an origin may see it: a byte (raw, or
/// decoded from its escape), or one of the characters whose escaped and raw
/// forms origins tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ch {
    Byte(u8),
    /// `%2F`: an escaped slash.
    EncSlash,
    /// `%5C`: an escaped backslash.
    EncBackslash,
    /// `%3B`: an escaped semicolon (a raw one is `Byte(b';')`).
    EncSemicolon,
    /// A raw `\`.
    Backslash,
}

type Seg = Vec<Ch>;

/// The characters of `text`, escapes decoded.
fn chars(text: &str) -> Seg {
    let b = text.as_bytes();
    let hex = |i: usize| b.get(i).and_then(|&c| (c as char).to_digit(16));
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                out.push(match (h * 16 + l) as u8 {
                    b'/' => Ch::EncSlash,
                    b'\\' => Ch::EncBackslash,
                    b';' => Ch::EncSemicolon,
                    byte => Ch::Byte(byte),
                });
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'\\' {
            Ch::Backslash
        } else {
            Ch::Byte(b[i])
        });
        i += 1;
    }
    out
}

/// One rule as the reference reads it.
struct RefRule {
    /// Segments of pieces between `*`s (one piece: a literal).
    segs: Vec<Vec<Seg>>,
    deep: bool,
    methods: Option<Vec<String>>,
    access: Access,
}

fn ref_rules(json: &str) -> Vec<RefRule> {
    let rules: Vec<Value> = serde_json::from_str(json).unwrap();
    rules
        .iter()
        .map(|r| {
            let path = r["path"].as_str().unwrap();
            let (body, deep) = match path.strip_suffix("/**") {
                Some(body) => (body, true),
                None => (path, false),
            };
            let body = body.strip_prefix('/').unwrap_or(body);
            let segs = if deep && body.is_empty() {
                Vec::new()
            } else {
                body.split('/')
                    .map(|s| s.split('*').map(chars).collect())
                    .collect()
            };
            RefRule {
                segs,
                deep,
                methods: r["methods"]
                    .as_array()
                    .map(|m| m.iter().map(|m| m.as_str().unwrap().to_owned()).collect()),
                access: Access::parse(r["access"].as_str().unwrap()).unwrap(),
            }
        })
        .collect()
}

/// `*`-glob over characters, by backtracking (the obvious definition).
fn glob(pieces: &[Seg], s: &[Ch]) -> bool {
    fn after_star(pieces: &[Seg], s: &[Ch]) -> bool {
        match pieces {
            [] => true,
            [last] => s.ends_with(last),
            [next, more @ ..] => (0..=s.len())
                .any(|i| s[i..].starts_with(next) && after_star(more, &s[i + next.len()..])),
        }
    }
    match pieces {
        [] => false,
        [literal] => literal[..] == *s,
        [first, more @ ..] => s.starts_with(first) && after_star(more, &s[first.len()..]),
    }
}

fn fold(s: &[Ch], fold_case: bool) -> Seg {
    s.iter()
        .map(|c| match c {
            Ch::Byte(b) if fold_case => Ch::Byte(b.to_ascii_lowercase()),
            c => *c,
        })
        .collect()
}

fn rule_matches(rule: &RefRule, method: &str, segs: &[Seg], trim: bool, fold_case: bool) -> bool {
    let method_ok = rule.methods.as_ref().is_none_or(|list| {
        list.iter().any(|m| {
            m.eq_ignore_ascii_case(method)
                || (m.eq_ignore_ascii_case("GET") && method.eq_ignore_ascii_case("HEAD"))
        })
    });
    let mut pat: &[Vec<Seg>] = &rule.segs;
    // Under a reading that ignores a trailing slash, so does the pattern.
    if trim && pat.len() > 1 && pat.last().is_some_and(|p| p.len() == 1 && p[0].is_empty()) {
        pat = &pat[..pat.len() - 1];
    }
    let len_ok = if rule.deep {
        segs.len() >= pat.len()
    } else {
        segs.len() == pat.len()
    };
    method_ok
        && len_ok
        && pat.iter().zip(segs).all(|(p, s)| {
            let p: Vec<Seg> = p.iter().map(|piece| fold(piece, fold_case)).collect();
            glob(&p, &fold(s, fold_case))
        })
}

/// What origins (and the proxies before them, `fetch()`'s URL parser
/// included) may do to a path's segments, in any order.
#[derive(Debug, Clone, Copy)]
enum OriginStep {
    /// Decode `%2F` into a separator.
    SplitEncodedSlash,
    /// Decode `%5C` into a separator (IIS).
    SplitEncodedBackslash,
    /// Read a raw `\` as `/` (a WHATWG URL parser).
    SplitBackslash,
    /// Drop `;params`, at a raw `;` (before decoding: Tomcat, Spring).
    StripRawParams,
    /// Drop `;params`, at a `;` raw or decoded (after decoding).
    StripParams,
    /// `//` is `/`.
    Merge,
    /// Resolve `.` and `..` (decoded: `%2e` is a dot, as a WHATWG parser has it).
    Dots,
}

const ORIGIN_STEPS: [OriginStep; 7] = [
    OriginStep::SplitEncodedSlash,
    OriginStep::SplitEncodedBackslash,
    OriginStep::SplitBackslash,
    OriginStep::StripRawParams,
    OriginStep::StripParams,
    OriginStep::Merge,
    OriginStep::Dots,
];

fn origin_step(step: OriginStep, segs: &[Seg]) -> Vec<Seg> {
    let split = |at: &[Ch]| -> Vec<Seg> {
        segs.iter()
            .flat_map(|s| s.split(|c| at.contains(c)).map(<[Ch]>::to_vec))
            .collect()
    };
    let strip = |at: &[Ch]| -> Vec<Seg> {
        segs.iter()
            .map(|s| s.split(|c| at.contains(c)).next().unwrap_or(&[]).to_vec())
            .collect()
    };
    match step {
        OriginStep::SplitEncodedSlash => split(&[Ch::EncSlash]),
        OriginStep::SplitEncodedBackslash => split(&[Ch::EncBackslash]),
        OriginStep::SplitBackslash => split(&[Ch::Backslash]),
        OriginStep::StripRawParams => strip(&[Ch::Byte(b';')]),
        OriginStep::StripParams => strip(&[Ch::Byte(b';'), Ch::EncSemicolon]),
        OriginStep::Merge => {
            let n = segs.len();
            segs.iter()
                .enumerate()
                .filter(|(k, s)| !s.is_empty() || k + 1 == n)
                .map(|(_, s)| s.clone())
                .collect()
        }
        OriginStep::Dots => {
            let (dot, dots) = ([Ch::Byte(b'.')], [Ch::Byte(b'.'), Ch::Byte(b'.')]);
            let n = segs.len();
            let mut out: Vec<Seg> = Vec::new();
            for (k, s) in segs.iter().enumerate() {
                if s[..] == dot || s[..] == dots {
                    if s[..] == dots {
                        out.pop();
                    }
                    if k + 1 == n {
                        out.push(Vec::new());
                    }
                } else {
                    out.push(s.clone());
                }
            }
            if out.is_empty() {
                out.push(Vec::new());
            }
            out
        }
    }
}

/// Every set of segments an origin may see: the literal segments (split
/// at `/`) and whatever any sequence of [`OriginStep`]s makes of them.
fn origin_views(raw: &str) -> Vec<Vec<Seg>> {
    let raw = raw.split(['?', '#']).next().unwrap_or("");
    let raw = raw.strip_prefix('/').unwrap_or(raw);
    let mut views: Vec<Vec<Seg>> = vec![raw.split('/').map(chars).collect()];
    let mut i = 0;
    while i < views.len() {
        for step in ORIGIN_STEPS {
            let next = origin_step(step, &views[i]);
            if !views.contains(&next) {
                views.push(next);
            }
        }
        i += 1;
    }
    views
}

/// One reading: a view, with or without a trailing `/` ignored, compared
/// with or without case.
struct Reading {
    segs: Vec<Seg>,
    trim: bool,
    fold_case: bool,
}

fn readings(raw: &str) -> Vec<Reading> {
    let mut out = Vec::new();
    for segs in origin_views(raw) {
        for trim in [false, true] {
            let mut segs = segs.clone();
            if trim && segs.len() > 1 && segs.last().is_some_and(Vec::is_empty) {
                segs.pop();
            }
            for fold_case in [false, true] {
                out.push(Reading {
                    segs: segs.clone(),
                    trim,
                    fold_case,
                });
            }
        }
    }
    out
}

fn show(segs: &[Seg]) -> String {
    let ch = |c: &Ch| match c {
        Ch::Byte(b) if b.is_ascii_graphic() => (*b as char).to_string(),
        Ch::Byte(b) => format!("<{b:02X}>"),
        Ch::EncSlash => "%2F".into(),
        Ch::EncBackslash => "%5C".into(),
        Ch::EncSemicolon => "%3B".into(),
        Ch::Backslash => "\\".into(),
    };
    let segs: Vec<String> = segs.iter().map(|s| s.iter().map(ch).collect()).collect();
    format!("/{}", segs.join("/"))
}

/// What the resource deserves under reading `r`.
fn deserved(rules: &[RefRule], method: &str, r: &Reading) -> Access {
    rules
        .iter()
        .find(|rule| rule_matches(rule, method, &r.segs, r.trim, r.fold_case))
        .map_or(Access::Session, |rule| rule.access.clone())
}

fn rank(a: &Access) -> u8 {
    match a {
        Access::Public => 0,
        Access::Session => 1,
        Access::Role(_) => 2,
    }
}

/// Checks the guard's answer for `method path` against every reading.
fn check(json: &str, method: &str, path: &str) -> Result<(), TestCaseError> {
    let rules = Rules::parse(json).map_err(|e| TestCaseError::fail(format!("{json}: {e}")))?;
    let reference = ref_rules(json);
    let answers: Vec<(Reading, Access)> = readings(path)
        .into_iter()
        .map(|r| {
            let a = deserved(&reference, method, &r);
            (r, a)
        })
        .collect();
    match rules.access_for(method, path) {
        Ok(guard) => {
            for (reading, deserves) in &answers {
                prop_assert!(
                    rank(guard) >= rank(deserves)
                        && (!matches!(deserves, Access::Role(_)) || guard == deserves),
                    "{method} {path:?} under {json}: the guard answers {guard}, but an origin \
                     reading it as {} (trailing / ignored: {}, case ignored: {}) serves a \
                     resource needing {deserves}",
                    show(&reading.segs),
                    reading.trim,
                    reading.fold_case,
                );
            }
            prop_assert!(
                answers.iter().any(|(_, a)| a == guard),
                "{method} {path:?} under {json}: the guard answers {guard}, which no reading deserves"
            );
        }
        Err(PathRejection::Ambiguous) => {
            let roles: std::collections::BTreeSet<&str> = answers
                .iter()
                .filter_map(|(_, a)| match a {
                    Access::Role(r) => Some(r.as_str()),
                    _ => None,
                })
                .collect();
            prop_assert!(
                roles.len() > 1,
                "{method} {path:?} under {json}: refused as ambiguous, but readings only need {roles:?}"
            );
        }
        // Refused (400): fine, as long as there are that many readings.
        Err(PathRejection::TooManyReadings) => prop_assert!(
            origin_views(path).len() > MAX_READINGS,
            "{path:?} refused, but it has only {} readings",
            origin_views(path).len()
        ),
        Err(e) => prop_assert!(false, "{path:?}: unexpected {e}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::cases(1024))]

    /// The guard's access for the raw path is at least that of every reading.
    #[test]
    fn guard_is_never_looser_than_any_reading(json in rules_json(), method in method(), path in path()) {
        check(&json, method, &path)?;
    }

    /// The same over a two-letter alphabet, where rules and the readings of
    /// paths collide far more often.
    #[test]
    fn guard_is_never_looser_than_any_reading_dense(json in dense_rules_json(), path in dense_path()) {
        check(&json, "GET", &path)?;
    }

    /// An ordinary path (plain segments, no dots, escapes, parameters,
    /// doubled or trailing slashes) reads one way only: the guard gives
    /// exactly what the rules say of it, by the reference matcher.
    #[test]
    fn ordinary_paths_get_exactly_their_rule(
        json in rules_json(),
        method in method(),
        segs in prop::collection::vec(prop::sample::select(&["admin", "public", "a", "b", "x", "api", "app.js"][..]), 1..5),
    ) {
        let path = format!("/{}", segs.join("/"));
        let rules = Rules::parse(&json).unwrap();
        let reference = ref_rules(&json);
        // One view; only a trailing slash of a pattern and case can still matter.
        prop_assert_eq!(origin_views(&path).len(), 1);
        let mut expected: Result<Access, PathRejection> = Ok(Access::Public);
        for reading in readings(&path) {
            let deserves = deserved(&reference, method, &reading);
            expected = match expected {
                Ok(Access::Role(a)) if matches!(&deserves, Access::Role(b) if *b != a) => {
                    Err(PathRejection::Ambiguous)
                }
                Ok(prev) if rank(&deserves) > rank(&prev) => Ok(deserves),
                other => other,
            };
        }
        prop_assert_eq!(rules.access_for(method, &path).cloned(), expected, "{} under {}", path, json);
    }

    /// Any text as a path, any rule list: an answer or a refusal, never a
    /// panic; what follows `?` or `#` changes nothing; the normalized path
    /// starts with `/` and normalizes to itself.
    #[test]
    fn any_text_is_classified_or_refused(json in rules_json(), path in any::<String>(), query in any::<String>()) {
        let rules = Rules::parse(&json).unwrap();
        let answer = rules.access_for("GET", &path);
        if !path.contains(['?', '#']) && path.len() + query.len() < 8000 {
            prop_assert_eq!(rules.access_for("GET", &format!("{path}?{query}")), answer);
            prop_assert_eq!(rules.access_for("GET", &format!("{path}#{query}")), answer);
        }
        let normal = session_http::rules::normalize_path(&path);
        prop_assert!(normal.starts_with('/'));
        prop_assert_eq!(session_http::rules::normalize_path(&normal), normal.clone());
    }

    /// Any text as `GUARD_RULES`: parsed or refused with an error naming the
    /// var, never a panic.
    #[test]
    fn any_rules_text_parses_or_names_the_var(text in any::<String>()) {
        if let Err(e) = Rules::parse(&text) {
            prop_assert!(e.starts_with("GUARD_RULES: "), "{}", e);
        }
    }

    /// A rule list with faulty rules: the error names the first faulty rule
    /// by its index, and the faulty field.
    #[test]
    fn a_faulty_rule_is_named_by_index_and_field(
        rules in prop::collection::vec((pattern(), access()), 1..6),
        faults in prop::collection::vec(prop::option::weighted(0.3, 0..FAULTS.len()), 1..6),
    ) {
        let mut first = None;
        let items: Vec<Value> = rules
            .iter()
            .zip(faults.iter().chain(std::iter::repeat(&None)))
            .enumerate()
            .map(|(i, ((path, access), fault))| {
                let mut rule = json!({ "path": path, "access": access });
                if let Some(f) = fault {
                    let (field, key, value) = &FAULTS[*f];
                    rule[*key] = serde_json::from_str(value).unwrap();
                    first.get_or_insert((i, *field));
                }
                rule
            })
            .collect();
        let result = Rules::parse(&Value::Array(items).to_string());
        match first {
            None => prop_assert!(result.is_ok(), "{:?}", result),
            Some((i, field)) => {
                let e = result.unwrap_err();
                let expected = match field {
                    "" => format!("GUARD_RULES[{i}]: "),
                    field => format!("GUARD_RULES[{i}].{field}: "),
                };
                prop_assert!(e.starts_with(&expected), "{} instead of {}", e, expected);
            }
        }
    }

}

// --- the counterexamples the properties found, as examples ---------------

fn access_of(rules: &str, path: &str) -> Result<Access, PathRejection> {
    Rules::parse(rules)
        .unwrap()
        .access_for("GET", path)
        .cloned()
}

fn role_a() -> Result<Access, PathRejection> {
    Ok(Access::Role("a".into()))
}

/// A `*` matched the hex digits of an escape: `*C3*` matched `é`
/// (`%C3%A9`), `*25*` matched a lone `%` (`%25`).
#[test]
fn a_glob_never_matches_inside_an_escape() {
    assert_eq!(
        access_of(r#"[{"access":"public","path":"/*25*/**"}]"#, "/%"),
        Ok(Access::Session)
    );
    let rules = r#"[{"path":"/files/*C3*","access":"public"}]"#;
    assert_eq!(access_of(rules, "/files/%C3%A9"), Ok(Access::Session));
    assert_eq!(access_of(rules, "/files/caf%C3%A9"), Ok(Access::Session));
    assert_eq!(access_of(rules, "/files/C3.txt"), Ok(Access::Public));
    assert_eq!(access_of(rules, "/files/%C3%A9-C3"), Ok(Access::Public));
}

/// `%2F` and `%5C` were only ever decoded together, but nginx decodes `%2F`
/// and keeps `\` an ordinary character: `/admin\admin` is one segment there.
#[test]
fn an_encoded_slash_is_decoded_without_the_backslashes() {
    let rules = r#"[{"access":"role:a","path":"/*"}]"#;
    assert_eq!(access_of(rules, "/admin%2F../admin%5Cadmin"), role_a());
    assert_eq!(access_of(rules, "/admin%2F../admin\\admin"), role_a());
    assert_eq!(
        access_of(r#"[{"access":"role:a","path":"/"}]"#, "/a%5Ca/..%2F"),
        role_a()
    );
}

/// Tomcat strips `;params` before it decodes: `/admin%2F..;%2Fadmin` is
/// `/admin%2F..`, which decodes to `/admin/..`, the root.
#[test]
fn parameters_are_stripped_before_decoding_too() {
    let rules = r#"[{"access":"role:a","path":"/"}]"#;
    assert_eq!(access_of(rules, "/admin%2F..;%2Fadmin"), role_a());
    // And a raw `;` starts parameters where a decoded `%3B` may not.
    let rules = r#"[{"path":"/x/*b","access":"role:a"},{"path":"/**","access":"public"}]"#;
    assert_eq!(access_of(rules, "/x;y/a%3Bb"), role_a());
}

/// Dot segments resolved first and `//` merged after (a servlet container,
/// then a framework): `/x/%2F..%2F/y` is `/x//y`, then `/x/y`.
#[test]
fn slashes_are_merged_after_dot_segments_too() {
    let rules = r#"[{"path":"/x/y","access":"role:a"},{"path":"/**","access":"public"}]"#;
    assert_eq!(access_of(rules, "/x/%2F..%2F/y"), role_a());
    assert_eq!(
        access_of(r#"[{"access":"role:a","path":"/a*"}]"#, "/admin%5C;/../;/"),
        role_a()
    );
}
