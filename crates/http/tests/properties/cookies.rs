//! The `Cookie` header: reading the session cookie as RFC 6265 §5.4 splits
//! a browser's one line (at `;` only, so a token after a `,` is never read),
//! stripping it from every line (also after the `, ` a runtime joins lines
//! with), and what `Set-Cookie` sets being what is read back; the
//! `Cache-Control` of a response carrying it.

use http::header::{HeaderValue, COOKIE};
use http::HeaderMap;
use proptest::prelude::*;
use session_http::cookie::{
    cookie_values, get_cookie, is_cookie_name, is_cookie_value, private_cache_control, set_cookie,
    strip_cookie, MAX_CACHE_CONTROL_BYTES, MAX_COOKIE_HEADER_BYTES, MAX_COOKIE_OCCURRENCES,
    MAX_COOKIE_VALUE_BYTES,
};

const NAME: &str = "__Host-session";

// --- the reference -------------------------------------------------------

fn ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The values of cookie `name` in a browser's `Cookie` line: pairs split at
/// `;`, name and value trimmed of spaces and tabs, a value in double quotes
/// without them, pairs without `=` skipped; the first 16 occurrences looked
/// at, values over 4 KiB dropped; nothing for a header over 32 KiB.
fn reference_values<'a>(header: &'a str, name: &str) -> Vec<&'a str> {
    if header.len() > MAX_COOKIE_HEADER_BYTES || name.is_empty() {
        return Vec::new();
    }
    header
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| k.trim_matches(ows) == name)
        .take(MAX_COOKIE_OCCURRENCES)
        .map(|(_, v)| {
            let v = v.trim_matches(ows);
            match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) if v.len() >= 2 => inner,
                _ => v,
            }
        })
        .filter(|v| v.len() <= MAX_COOKIE_VALUE_BYTES)
        .collect()
}

fn tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The pairs of a line that may hold several lines joined with `, `: split
/// at `;`, and at a `,` followed (after spaces or tabs) by a name and `=`.
fn reference_joined_pairs(line: &str) -> Vec<String> {
    let mut pairs = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = line.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let starts_pair = || {
            let rest: String = chars[i + 1..].iter().collect();
            let rest = rest.trim_start_matches(ows);
            let name_len = rest.chars().take_while(|&c| tchar(c)).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        };
        if c == ';' || (c == ',' && starts_pair()) {
            pairs.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    pairs.push(cur);
    pairs
}

fn pair_name(pair: &str) -> Option<&str> {
    pair.split_once('=').map(|(k, _)| k.trim_matches(ows))
}

// --- the generators ------------------------------------------------------

fn cookie_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(NAME.to_owned()),
        1 => prop::sample::select(&["__host-session", "__Host-sessionx", "x__Host-session", "a", "theme", "sid", ""][..]).prop_map(str::to_owned),
        1 => "[A-Za-z0-9_.-]{1,8}",
    ]
}

fn cookie_val() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9._~-]{0,12}",
        1 => "[A-Za-z0-9]{0,6}".prop_map(|v| format!("\"{v}\"")),
        1 => prop::sample::select(&["\"", "\"\"", "a=b", "x, __Host-session=tossed", "a,b", "é", " spaced "][..]).prop_map(str::to_owned),
        1 => Just("v".repeat(MAX_COOKIE_VALUE_BYTES + 1)),
    ]
}

/// A `Cookie` line as browsers, runtimes and attackers may write it.
fn cookie_line() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(&["; ", ";", " ; ", ";\t", ", ", ","][..]),
            prop_oneof![
                8 => (cookie_name(), prop::sample::select(&["=", " = ", "=\t"][..]), cookie_val())
                    .prop_map(|(n, eq, v)| format!("{n}{eq}{v}")),
                1 => prop::sample::select(&["", "noequals", " ", "=", "=x"][..]).prop_map(str::to_owned),
            ],
        ),
        0..8,
    )
    .prop_map(|pairs| {
        let mut line = String::new();
        for (k, (sep, pair)) in pairs.into_iter().enumerate() {
            if k > 0 {
                line.push_str(sep);
            }
            line.push_str(&pair);
        }
        line
    })
}

proptest! {
    #![proptest_config(crate::cases(1024))]

    /// Generated lines and any text: the session cookie's values are
    /// exactly the reference's, in order; the first is `get_cookie`'s.
    #[test]
    fn reading_agrees_with_rfc_6265_splitting(
        header in prop_oneof![4 => cookie_line(), 1 => any::<String>()],
        name in cookie_name(),
    ) {
        let values: Vec<&str> = cookie_values(&header, &name).collect();
        let expected = reference_values(&header, &name);
        prop_assert_eq!(&values, &expected, "{:?} in {:?}", name, header);
        prop_assert_eq!(get_cookie(&header, &name), expected.first().copied());
    }

    /// Lines a runtime joined with `, `: a session cookie at the start of
    /// any line but the first is never read (it belongs to the value of the
    /// pair before it, as a tossed `pref=1, __Host-session=…` does).
    #[test]
    fn a_token_after_a_comma_is_never_read(
        first in cookie_line(),
        tossed in "[A-Za-z0-9._-]{1,20}",
        rest in cookie_line(),
    ) {
        // `#` is in no generated value: the tossed one is recognizable.
        let tossed = format!("toss#{tossed}");
        let joined = match rest.is_empty() {
            true => format!("{first}, {NAME}={tossed}"),
            false => format!("{first}, {NAME}={tossed}; {rest}"),
        };
        let values: Vec<&str> = cookie_values(&joined, NAME).collect();
        prop_assert!(!values.contains(&tossed.as_str()), "read {:?} from {:?}", tossed, joined);
        prop_assert_eq!(values, reference_values(&joined, NAME));
    }

    /// Stripping: no line keeps a pair named like the session cookie, by
    /// either splitting; lines without it are left byte for byte; the other
    /// pairs of the lines that had it are kept, in order.
    #[test]
    fn stripping_removes_every_occurrence_and_keeps_the_rest(
        lines in prop::collection::vec(cookie_line(), 0..4),
    ) {
        let mut headers = HeaderMap::new();
        let lines: Vec<String> = lines.into_iter().filter(|l| HeaderValue::from_str(l).is_ok()).collect();
        for line in &lines {
            headers.append(COOKIE, HeaderValue::from_str(line).unwrap());
        }
        strip_cookie(&mut headers, NAME);
        let after: Vec<&str> = headers.get_all(COOKIE).iter().map(|v| std::str::from_utf8(v.as_bytes()).unwrap()).collect();
        for line in &after {
            prop_assert!(reference_joined_pairs(line).iter().all(|p| pair_name(p) != Some(NAME)), "{:?} left in {:?}", NAME, line);
            prop_assert!(line.split(';').all(|p| pair_name(p) != Some(NAME)));
            prop_assert_eq!(get_cookie(line, NAME), None);
        }
        let mut expected: Vec<String> = Vec::new();
        for line in &lines {
            let pairs = reference_joined_pairs(line);
            if pairs.iter().all(|p| pair_name(p) != Some(NAME)) {
                expected.push(line.clone());
                continue;
            }
            let kept: Vec<&str> = pairs
                .iter()
                .filter(|p| pair_name(p) != Some(NAME))
                .map(|p| p.trim_matches(ows))
                .filter(|p| !p.is_empty())
                .collect();
            if !kept.is_empty() {
                expected.push(kept.join("; "));
            }
        }
        prop_assert_eq!(after, expected);
    }

    /// What `Set-Cookie` sets is read back, for every valid name and value;
    /// the attributes are the contract's.
    #[test]
    fn set_cookie_is_read_back(name in "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}", value in r"[!#-+\--:<-\[\]-~]{0,60}", max_age in any::<u64>()) {
        prop_assert!(is_cookie_name(&name) && is_cookie_value(&value));
        let line = set_cookie(&name, &value, max_age);
        let (pair, attributes) = line.split_once("; ").unwrap();
        prop_assert_eq!(get_cookie(pair, &name), Some(value.as_str()));
        prop_assert_eq!(attributes, format!("Max-Age={max_age}; Path=/; HttpOnly; Secure; SameSite=Lax"));
    }

    /// `is_cookie_name` is an RFC 9110 token of at most 128 bytes, and
    /// `is_cookie_value` RFC 6265 cookie-octets, for any text.
    #[test]
    fn cookie_syntax_checks_agree_with_the_grammar(text in prop_oneof![any::<String>(), "[ -~]{0,20}"]) {
        prop_assert_eq!(is_cookie_name(&text), !text.is_empty() && text.len() <= 128 && text.chars().all(tchar));
        let octet = |c: char| matches!(c, '\u{21}' | '\u{23}'..='\u{2B}' | '\u{2D}'..='\u{3A}' | '\u{3C}'..='\u{5B}' | '\u{5D}'..='\u{7E}');
        prop_assert_eq!(is_cookie_value(&text), text.len() <= MAX_COOKIE_VALUE_BYTES && text.chars().all(octet));
    }
}

// --- Cache-Control of a response carrying the session cookie ---------------

/// The reference: the value's directives (split at every comma, then the
/// pieces of a quoted string glued back while its quotes are open), and the
/// rule: `no-store` kept as is; else `private` first and the directives
/// for shared caches gone; unreadable or absent: `private`.
fn reference_cache_control(origin: &str) -> String {
    let readable = origin.len() <= MAX_CACHE_CONTROL_BYTES
        && origin
            .chars()
            .all(|c| c == '\t' || (' '..='~').contains(&c));
    if !readable {
        return "private".into();
    }
    // Whether a quote is still open at the end of `text` (`\` escapes).
    let open = |text: &str| {
        let (mut open, mut chars) = (false, text.chars());
        while let Some(c) = chars.next() {
            match c {
                '\\' if open => {
                    chars.next();
                }
                '"' => open = !open,
                _ => {}
            }
        }
        open
    };
    let mut directives: Vec<String> = Vec::new();
    let mut glued: Option<String> = None;
    for piece in origin.split(',') {
        let text = match glued.take() {
            Some(before) => format!("{before},{piece}"),
            None => piece.to_owned(),
        };
        if open(&text) {
            glued = Some(text);
        } else {
            directives.push(text.trim_matches(ows).to_owned());
        }
    }
    if glued.is_some() {
        return "private".into();
    }
    directives.retain(|d| !d.is_empty());
    let name = |d: &str| {
        d.split('=')
            .next()
            .unwrap()
            .trim_matches(ows)
            .to_ascii_lowercase()
    };
    if directives.iter().any(|d| name(d) == "no-store") {
        return origin.trim_matches(ows).to_owned();
    }
    let mut out = vec!["private".to_owned()];
    out.extend(directives.into_iter().filter(|d| {
        !["public", "private", "s-maxage", "proxy-revalidate"].contains(&name(d).as_str())
    }));
    out.join(", ")
}

fn cache_control() -> impl Strategy<Value = String> {
    let directive = prop_oneof![
        prop::sample::select(
            &[
                "public",
                "private",
                "no-store",
                "No-Store",
                "no-cache",
                "must-revalidate",
                "proxy-revalidate",
                "immutable",
                "PUBLIC"
            ][..]
        )
        .prop_map(str::to_owned),
        (
            prop::sample::select(
                &[
                    "max-age",
                    "s-maxage",
                    "S-MaxAge",
                    "stale-while-revalidate",
                    "x"
                ][..]
            ),
            0u32..100_000
        )
            .prop_map(|(n, v)| format!("{n}={v}")),
        (
            prop::sample::select(&["private", "no-cache", "ext"][..]),
            "[a-z, \\\\\"-]{0,12}"
        )
            .prop_map(|(n, v)| format!("{n}=\"{v}\"")),
        "[ -~]{0,12}",
    ];
    prop_oneof![
        4 => (prop::collection::vec(directive, 0..5), prop::sample::select(&[",", ", ", " ,", ",\t"][..])).prop_map(|(d, sep)| d.join(sep)),
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(crate::cases(1024))]

    /// A response carrying the session cookie gets the reference's
    /// `Cache-Control`: a value a header can carry, `private` or `no-store`,
    /// never `public` or `s-maxage` beside `private`, and the same again
    /// when rewritten twice.
    #[test]
    fn a_response_with_the_cookie_is_never_shared(origin in prop::option::of(cache_control())) {
        let out = private_cache_control(origin.as_deref());
        prop_assert_eq!(&out, &reference_cache_control(origin.as_deref().unwrap_or("")));
        prop_assert!(HeaderValue::from_str(&out).is_ok(), "{:?}", out);
        let lower = out.to_ascii_lowercase();
        prop_assert!(lower.starts_with("private") || lower.contains("no-store"), "{:?}", out);
        prop_assert_eq!(private_cache_control(Some(&out)), out);
    }
}
