//! Session cookie and bearer token handling (contract section 2).
//!
//! Reading and stripping split a `Cookie` header differently, on purpose:
//! - **Reading** splits at `;` only ([`cookie_values`]). A browser sends one
//!   `Cookie` line, and a `,` inside it belongs to a cookie's value: any
//!   sibling subdomain can set `pref=1, __Host-session=<its token>`, and
//!   reading a token there would log the visitor in as someone else, the
//!   cookie tossing the `__Host-` prefix exists to stop.
//! - **Stripping** also splits at a `,` that starts another pair
//!   ([`strip_cookie`]): a runtime that received several `Cookie` lines hands
//!   them over joined with `, `, and a token in any of them must not reach
//!   the origin. Removing more is always safe.
//!
//! A client that sends several `Cookie` lines (never a browser) presents its
//! token as `Authorization: Bearer` instead.
//!
//! - [`get_cookie`] reads one cookie from a `Cookie` request header.
//! - [`set_cookie`] / [`clear_cookie`] build the `Set-Cookie` values;
//!   [`private_cache_control`] keeps a response carrying one out of shared
//!   caches.
//! - [`bearer_token`] reads `Authorization: Bearer …`.
//! - [`request_token`] picks the token of a request: the bearer token when
//!   there is one, else the cookie, and says which, because CSRF checks apply
//!   to cookie authentication only.

use crate::syntax::{is_tchar, trim_ows, trim_ows_str};

/// Longest `Cookie` header read, in bytes; longer headers yield no cookie.
pub const MAX_COOKIE_HEADER_BYTES: usize = 32 * 1024;
/// Longest `COOKIE_NAME`, in bytes.
pub const MAX_COOKIE_NAME_BYTES: usize = 128;
/// Longest cookie value returned, in bytes.
pub const MAX_COOKIE_VALUE_BYTES: usize = 4096;

/// Whether `name` is a cookie name: an RFC 6265 / RFC 9110 token (visible
/// ASCII without separators), at most 128 bytes.
pub fn is_cookie_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_COOKIE_NAME_BYTES && name.bytes().all(is_tchar)
}

/// Whether `value` is made of RFC 6265 `cookie-octet`s (visible ASCII except
/// `"`, `,`, `;` and `\`), i.e. safe to put in `Set-Cookie` unquoted.
pub fn is_cookie_value(value: &str) -> bool {
    value.len() <= MAX_COOKIE_VALUE_BYTES
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

/// Most occurrences of the session cookie's name looked at in one request.
pub const MAX_COOKIE_OCCURRENCES: usize = 16;

/// How [`cookie_pairs`] splits a header (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// At `;` only: what a browser's one `Cookie` line holds.
    Semicolons,
    /// Also at a `,` followed (after spaces or tabs) by a cookie name and
    /// `=`, where a runtime joined several `Cookie` lines (`a=1, b=2`). A
    /// `,` inside a value (`a=x,y`) is kept.
    JoinedLines,
}

/// The pairs of a `Cookie` header value, untrimmed, split as `split` says.
pub fn cookie_pairs(header: &[u8], split: Split) -> impl Iterator<Item = &[u8]> {
    let mut rest = header;
    let mut done = header.is_empty();
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut from = 0;
        let end = loop {
            let Some(k) = rest[from..].iter().position(|&b| b == b';' || b == b',') else {
                break None;
            };
            let i = from + k;
            if rest[i] == b';' || (split == Split::JoinedLines && starts_a_pair(&rest[i + 1..])) {
                break Some(i);
            }
            from = i + 1;
        };
        let pair = match end {
            Some(i) => {
                let pair = &rest[..i];
                rest = &rest[i + 1..];
                pair
            }
            None => {
                done = true;
                rest
            }
        };
        Some(pair)
    })
}

/// Whether `s` starts, after spaces and tabs, with a cookie name and `=`.
fn starts_a_pair(s: &[u8]) -> bool {
    let s = trim_ows(s);
    let name_len = s.iter().take_while(|&&b| is_tchar(b)).count();
    name_len > 0 && s.get(name_len) == Some(&b'=')
}

/// A pair's (name, value), both trimmed of spaces and tabs, a value in
/// double quotes returned without them; `None` for a pair without `=`.
pub fn split_pair(pair: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = pair.iter().position(|&b| b == b'=')?;
    let name = trim_ows(&pair[..eq]);
    let value = trim_ows(&pair[eq + 1..]);
    let value = match value {
        [b'"', inner @ .., b'"'] => inner,
        v => v,
    };
    Some((name, value))
}

/// Every value of the cookie called `name` (case-sensitive) in a `Cookie`
/// header such as `a=b; c="d"`, in order, at most [`MAX_COOKIE_OCCURRENCES`].
///
/// Pairs are split at `;` only ([`Split::Semicolons`], see the module docs:
/// a token after a `,` is never read); spaces and tabs around names and
/// values are tolerated, a value in double quotes is returned without them,
/// pairs without `=` are skipped. Nothing when the header is longer than
/// [`MAX_COOKIE_HEADER_BYTES`]; values longer than [`MAX_COOKIE_VALUE_BYTES`]
/// or not UTF-8 are skipped. Values are not otherwise checked: they go to
/// the token parser, which rejects anything malformed.
pub fn cookie_values<'a, 'n>(header: &'a str, name: &'n str) -> impl Iterator<Item = &'a str> + 'n
where
    'a: 'n,
{
    let usable = header.len() <= MAX_COOKIE_HEADER_BYTES && !name.is_empty();
    cookie_pairs(
        if usable { header.as_bytes() } else { b"" },
        Split::Semicolons,
    )
    .filter_map(split_pair)
    .filter(move |(k, _)| *k == name.as_bytes())
    .take(MAX_COOKIE_OCCURRENCES)
    .filter(|(_, v)| v.len() <= MAX_COOKIE_VALUE_BYTES)
    .filter_map(|(_, v)| std::str::from_utf8(v).ok())
}

/// The value of the first cookie called `name`; see [`cookie_values`]. When
/// the name appears several times the first wins (browsers send the most
/// specific cookie first).
pub fn get_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    cookie_values(header, name).next()
}

/// Removes every cookie called `name` from every `Cookie` header (pairs
/// split at `;` and at the `, ` of joined lines, [`Split::JoinedLines`], so
/// also a token a tossed cookie's value carries), working on bytes so that headers that are not ASCII are handled
/// too. A header left with no cookie is dropped; headers without the cookie
/// are left byte for byte; in the others the kept pairs are joined by `; `.
pub fn strip_cookie(headers: &mut http::HeaderMap, name: &str) {
    use http::header::COOKIE;
    if let Some(kept) = without_cookie(&headers.get_all(COOKIE), name) {
        headers.remove(COOKIE);
        for value in kept {
            headers.append(COOKIE, value);
        }
    }
}

/// What [`strip_cookie`] leaves of the `Cookie` lines `values`; `None`
/// when none holds a cookie called `name` (nothing to change).
pub fn without_cookie(
    values: &http::header::GetAll<'_, http::HeaderValue>,
    name: &str,
) -> Option<Vec<http::HeaderValue>> {
    use http::header::HeaderValue;
    let is_ours = |pair: &[u8]| split_pair(pair).is_some_and(|(k, _)| k == name.as_bytes());
    // One pass over each line: what is kept of it, and whether ours was in it.
    let mut changed = false;
    let mut kept: Vec<HeaderValue> = Vec::new();
    let mut rest: Vec<&[u8]> = Vec::new();
    for value in values {
        rest.clear();
        let mut ours = false;
        for pair in cookie_pairs(value.as_bytes(), Split::JoinedLines) {
            if is_ours(pair) {
                ours = true;
            } else if !trim_ows(pair).is_empty() {
                rest.push(trim_ows(pair));
            }
        }
        if !ours {
            kept.push(value.clone());
            continue;
        }
        changed = true;
        if let (false, Ok(v)) = (
            rest.is_empty(),
            HeaderValue::from_bytes(&rest.join(&b"; "[..])),
        ) {
            kept.push(v);
        }
    }
    changed.then_some(kept)
}

/// `Set-Cookie` value for the session cookie:
/// `name=value; Max-Age=N; Path=/; HttpOnly; Secure; SameSite=Lax`.
///
/// `name` must satisfy [`is_cookie_name`] (the configuration checks
/// `COOKIE_NAME`) and `value` [`is_cookie_value`] (tokens are URL-safe
/// base64); this is not re-checked here. The attributes satisfy the
/// `__Host-` prefix rules (Secure, Path=/, no Domain).
pub fn set_cookie(name: &str, value: &str, max_age_secs: u64) -> String {
    format!("{name}={value}; Max-Age={max_age_secs}; Path=/; HttpOnly; Secure; SameSite=Lax")
}

/// `Set-Cookie` value clearing the session cookie (`Max-Age=0`, same
/// attributes so the browser replaces the right cookie).
pub fn clear_cookie(name: &str) -> String {
    set_cookie(name, "", 0)
}

/// Response fields that tell shared caches (CDNs, surrogates) how to store a
/// response instead of `Cache-Control` (RFC 9213 and its forerunners): a
/// response carrying the session cookie loses them, so that its
/// `Cache-Control` ([`private_cache_control`]) decides.
pub const SHARED_CACHE_FIELDS: [&str; 3] = [
    "cdn-cache-control",
    "cloudflare-cdn-cache-control",
    "surrogate-control",
];

/// Longest origin `Cache-Control` rewritten by [`private_cache_control`], in
/// bytes; a longer one becomes `private`.
pub const MAX_CACHE_CONTROL_BYTES: usize = 4096;

/// The `Cache-Control` of a response the Worker adds a session cookie to
/// (`Set-Cookie` of a sign-in, a sign-out or a sliding re-issue), given the
/// origin's (`None`: absent): never storable by a shared cache, which would
/// hand one user's cookie to others, and the origin's intent for the
/// browser kept. A value with `no-store` stays as it is; otherwise the
/// directives for shared caches (`public`, `s-maxage`, `proxy-revalidate`)
/// go and `private` leads (`private="…"`, which leaves the rest storable,
/// becomes plain `private`). Absent, empty, unreadable (not visible ASCII,
/// an open quote) or over [`MAX_CACHE_CONTROL_BYTES`]: `private`.
///
/// ```
/// use session_http::cookie::private_cache_control as private;
/// assert_eq!(private(Some("public, max-age=86400")), "private, max-age=86400");
/// assert_eq!(private(Some("s-maxage=600, max-age=60")), "private, max-age=60");
/// assert_eq!(private(Some("no-store")), "no-store");
/// assert_eq!(private(None), "private");
/// ```
pub fn private_cache_control(origin: Option<&str>) -> String {
    const PRIVATE: &str = "private";
    let Some(value) = origin.filter(|v| {
        v.len() <= MAX_CACHE_CONTROL_BYTES
            && v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    }) else {
        return PRIVATE.to_owned();
    };
    let Some(directives) = cache_directives(value) else {
        return PRIVATE.to_owned();
    };
    let name = |d: &str| {
        let name = d.split('=').next().unwrap_or_default();
        trim_ows_str(name).to_ascii_lowercase()
    };
    if directives.iter().any(|d| name(d) == "no-store") {
        return trim_ows_str(value).to_owned();
    }
    let kept = directives.into_iter().filter(|d| {
        !matches!(
            name(d).as_str(),
            "public" | "private" | "s-maxage" | "proxy-revalidate"
        )
    });
    std::iter::once(PRIVATE)
        .chain(kept)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The directives of a `Cache-Control` value, split at the commas outside
/// quoted strings, trimmed, empty ones left out; `None` for an open quote.
fn cache_directives(value: &str) -> Option<Vec<&str>> {
    let (mut parts, mut start) = (Vec::new(), 0);
    let (mut quoted, mut escaped) = (false, false);
    for (i, b) in value.bytes().enumerate() {
        if quoted {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == b',' {
            parts.push(trim_ows_str(&value[start..i]));
            start = i + 1;
        }
    }
    if quoted {
        return None;
    }
    parts.push(trim_ows_str(&value[start..]));
    parts.retain(|p| !p.is_empty());
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "__Host-session";

    #[test]
    fn reads_cookies() {
        assert_eq!(
            get_cookie("a=1; __Host-session=tok; b=2", NAME),
            Some("tok")
        );
        assert_eq!(get_cookie("__Host-session=tok", NAME), Some("tok"));
        assert_eq!(get_cookie("a=1;__Host-session=tok;b=2", NAME), Some("tok"));
        assert_eq!(
            get_cookie("  a=1 ;\t__Host-session = tok \t; b", NAME),
            Some("tok")
        );
        assert_eq!(get_cookie("__Host-session=\"tok\"", NAME), Some("tok"));
        assert_eq!(get_cookie("__Host-session=", NAME), Some(""));
        assert_eq!(get_cookie("__Host-session=a=b", NAME), Some("a=b"));
        assert_eq!(get_cookie("a=1; b=2", NAME), None);
        assert_eq!(get_cookie("", NAME), None);
    }

    #[test]
    fn names_match_exactly() {
        assert_eq!(get_cookie("__host-session=x", NAME), None);
        assert_eq!(get_cookie("x__Host-session=x", NAME), None);
        assert_eq!(
            get_cookie("__Host-sessionx=x; __Host-session=y", NAME),
            Some("y")
        );
        assert_eq!(get_cookie("sid=x", ""), None);
        assert_eq!(get_cookie("=x", ""), None);
    }

    #[test]
    fn first_duplicate_wins() {
        assert_eq!(
            get_cookie("__Host-session=one; __Host-session=two", NAME),
            Some("one")
        );
    }

    #[test]
    fn junk_never_panics_and_is_bounded() {
        for h in [
            ";;;",
            "=",
            "==;=",
            "\"",
            "__Host-session=\"",
            "__Host-session=\"\"",
            "é=è; ü",
            "\u{0}=\u{0}",
        ] {
            let _ = get_cookie(h, NAME);
        }
        assert_eq!(get_cookie("__Host-session=\"", NAME), Some("\""));
        assert_eq!(get_cookie("__Host-session=\"\"", NAME), Some(""));
        let big_value = format!("{NAME}={}", "a".repeat(MAX_COOKIE_VALUE_BYTES + 1));
        assert_eq!(get_cookie(&big_value, NAME), None);
        let ok_value = format!("{NAME}={}", "a".repeat(MAX_COOKIE_VALUE_BYTES));
        assert_eq!(
            get_cookie(&ok_value, NAME).map(str::len),
            Some(MAX_COOKIE_VALUE_BYTES)
        );
        let big_header = format!("{NAME}=tok; pad={}", "a".repeat(MAX_COOKIE_HEADER_BYTES));
        assert_eq!(get_cookie(&big_header, NAME), None);
    }

    #[test]
    fn set_and_clear() {
        assert_eq!(
            set_cookie(NAME, "abc_-123", 3600),
            "__Host-session=abc_-123; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(
            clear_cookie(NAME),
            "__Host-session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        // What we set is what we read back.
        let set = set_cookie("sid", "v.1~x", 60);
        let pair = set.split(';').next().unwrap();
        assert_eq!(get_cookie(pair, "sid"), Some("v.1~x"));
    }

    #[test]
    fn cookie_name_and_value_syntax() {
        for ok in ["__Host-session", "sid", "a!#$%&'*+-.^_`|~1"] {
            assert!(is_cookie_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "a;b",
            "a=b",
            "a,b",
            "(a)",
            "a\"",
            "é",
            "a/b",
            "a:b",
            &"a".repeat(129),
        ] {
            assert!(!is_cookie_name(bad), "{bad}");
        }
        assert!(is_cookie_value(""));
        assert!(is_cookie_value("AZaz09-_.~!#$%&'()*+/:<=>?@[]^`{|}"));
        for bad in ["a b", "a;b", "a,b", "a\"b", "a\\b", "é", "\u{7f}"] {
            assert!(!is_cookie_value(bad), "{bad}");
        }
    }

    #[test]
    fn a_token_after_a_comma_is_never_read() {
        // Several Cookie lines a runtime joined with ", ", or a tossed
        // cookie `pref` whose value carries a session cookie: the same text.
        let joined = "a=1, __Host-session=tok; b=2";
        assert_eq!(get_cookie(joined, NAME), None);
        assert_eq!(get_cookie("a=1,__Host-session=tok", NAME), None);
        assert_eq!(get_cookie(joined, "a"), Some("1, __Host-session=tok"));
        let tossed = "pref=1, __Host-session=attacker; __Host-session=victim";
        assert_eq!(cookie_values(tossed, NAME).collect::<Vec<_>>(), ["victim"]);
        assert_eq!(get_cookie("a=x,y; __Host-session=t", "a"), Some("x,y"));
        let all: Vec<&str> = cookie_values(
            "__Host-session=one, x=1, __Host-session=two; __Host-session=3",
            NAME,
        )
        .collect();
        assert_eq!(all, ["one, x=1, __Host-session=two", "3"]);
        let many = vec!["__Host-session=v"; MAX_COOKIE_OCCURRENCES + 5].join("; ");
        assert_eq!(cookie_values(&many, NAME).count(), MAX_COOKIE_OCCURRENCES);
    }

    #[test]
    fn joined_lines_are_split_for_stripping() {
        let pairs = |h: &'static str| -> Vec<&'static [u8]> {
            cookie_pairs(h.as_bytes(), Split::JoinedLines)
                .map(trim_ows)
                .collect()
        };
        assert_eq!(
            pairs("a=1, __Host-session=tok; b=2"),
            [&b"a=1"[..], b"__Host-session=tok", b"b=2"]
        );
        assert_eq!(pairs("a=x,y; b=2"), [&b"a=x,y"[..], b"b=2"]);
        assert_eq!(pairs("a=1 ,\tb=2"), [&b"a=1"[..], b"b=2"]);
    }

    #[test]
    fn strip_cookie_removes_every_occurrence_from_every_line() {
        use http::header::{HeaderValue, COOKIE};
        use http::HeaderMap;
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1, __Host-session=tok; b=2"),
        );
        h.append(COOKIE, HeaderValue::from_static("__Host-session=again"));
        h.append(COOKIE, HeaderValue::from_static("c=3,  d=4"));
        h.append(
            COOKIE,
            HeaderValue::from_bytes("name=Jos\u{e9}; __Host-session=x".as_bytes()).unwrap(),
        );
        strip_cookie(&mut h, NAME);
        let lines: Vec<&[u8]> = h.get_all(COOKIE).iter().map(|v| v.as_bytes()).collect();
        assert_eq!(
            lines,
            [&b"a=1; b=2"[..], b"c=3,  d=4", "name=Jos\u{e9}".as_bytes()],
        );
        let mut only = HeaderMap::new();
        only.insert(
            COOKIE,
            HeaderValue::from_static("__Host-session=x, __Host-session=y"),
        );
        strip_cookie(&mut only, NAME);
        assert!(only.get(COOKIE).is_none());
    }

    #[test]
    fn a_response_with_the_cookie_is_private() {
        for (origin, expected) in [
            (None, "private"),
            (Some(""), "private"),
            (Some(" , "), "private"),
            (Some("public, max-age=86400"), "private, max-age=86400"),
            (Some("PUBLIC,MAX-AGE=86400"), "private, MAX-AGE=86400"),
            (Some("max-age=60, s-maxage=600"), "private, max-age=60"),
            (Some("public, s-maxage = 600, proxy-revalidate"), "private"),
            (Some("private"), "private"),
            (
                Some("max-age=5, private=\"set-cookie, x\""),
                "private, max-age=5",
            ),
            (
                Some("no-cache, must-revalidate"),
                "private, no-cache, must-revalidate",
            ),
            (
                Some("max-age=0, stale-while-revalidate=30"),
                "private, max-age=0, stale-while-revalidate=30",
            ),
            (
                Some("no-cache=\"a, public\", max-age=9"),
                "private, no-cache=\"a, public\", max-age=9",
            ),
            (
                Some("ext=\"q\\\"uote, public\""),
                "private, ext=\"q\\\"uote, public\"",
            ),
            // no-store is already out of every cache: kept as it is.
            (Some("no-store"), "no-store"),
            (Some(" public, No-Store "), "public, No-Store"),
            // Unreadable: private.
            (Some("public, max-age=\"86400"), "private"),
            (Some("public, max-age=86400\u{0}"), "private"),
            (Some("public, é"), "private"),
        ] {
            assert_eq!(private_cache_control(origin), expected, "{origin:?}");
        }
        let long = format!("public, max-age=1{}", ", x".repeat(MAX_CACHE_CONTROL_BYTES));
        assert_eq!(private_cache_control(Some(&long)), "private");
    }
}
