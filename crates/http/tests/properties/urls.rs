//! URLs (the request's, `ORIGIN_URL`, `LOGIN_URL`, `ALLOWED_ORIGINS`) and
//! the CSRF check of a cookie-authenticated request's `Origin` (contract
//! §6): parsing is idempotent and keeps path, query and fragment as
//! written; origins read as their ASCII serialization; an unsafe method
//! passes exactly with the request's own origin or an allowed one.

use proptest::prelude::*;
use session_http::csrf::{csrf_ok, normalize_origin};
use session_http::http_url::HttpUrl;

/// `(written, expected origin)` of an http(s) origin in any case, with or
/// without its default port.
fn origin() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(&["http", "https", "HTTP", "hTTps"][..]),
        "[a-z0-9-]{1,8}(\\.[a-z0-9-]{1,8}){0,2}",
        prop::option::of(prop::sample::select(&[80u16, 443, 8080, 65535, 0][..])),
        any::<bool>(),
    )
        .prop_map(|(scheme, host, port, upper)| {
            let scheme_l = scheme.to_ascii_lowercase();
            let written_host = if upper {
                host.to_ascii_uppercase()
            } else {
                host.clone()
            };
            let default = if scheme_l == "https" { 443 } else { 80 };
            let written = format!(
                "{scheme}://{written_host}{}",
                port.map(|p| format!(":{p}")).unwrap_or_default()
            );
            let expected = format!(
                "{scheme_l}://{host}{}",
                port.filter(|&p| p != default)
                    .map(|p| format!(":{p}"))
                    .unwrap_or_default()
            );
            (written, expected)
        })
}

fn tail() -> impl Strategy<Value = (String, Option<String>, Option<String>)> {
    (
        "(/[A-Za-z0-9%._~;=,!$&'()*+:@-]{0,6}){0,3}",
        prop::option::of("[A-Za-z0-9%=&+/?._-]{0,10}"),
        prop::option::of("[A-Za-z0-9%=&+/?#._-]{0,10}"),
    )
}

proptest! {
    #![proptest_config(crate::cases(512))]

    /// Any text: refused, or a URL whose serialization parses to itself and
    /// is its origin, path (from `/`), query and fragment in order.
    #[test]
    fn url_parsing_is_idempotent(text in prop_oneof![any::<String>(), "(?i:https?)://[!-~]{0,30}"]) {
        if let Ok(url) = HttpUrl::parse(&text) {
            // The serialization drops credentials (`had_credentials` tells).
            let again = HttpUrl::parse(url.as_str()).unwrap();
            prop_assert_eq!(again.as_str(), url.as_str());
            prop_assert!(!again.had_credentials());
            prop_assert!(url.path().starts_with('/'));
            prop_assert!(url.scheme() == "http" || url.scheme() == "https");
            let mut rebuilt = format!("{}{}", url.origin(), url.path());
            if let Some(q) = url.query() {
                rebuilt.push('?');
                rebuilt.push_str(q);
            }
            if let Some(f) = url.fragment() {
                rebuilt.push('#');
                rebuilt.push_str(f);
            }
            prop_assert_eq!(rebuilt, url.as_str());
        }
    }

    /// A written URL: its origin normalized, its path, query and fragment
    /// kept as written (an empty path reads `/`).
    #[test]
    fn urls_keep_what_follows_the_origin((written, expected) in origin(), (path, query, fragment) in tail()) {
        let mut text = format!("{written}{path}");
        if let Some(q) = &query {
            text.push('?');
            text.push_str(q);
        }
        if let Some(f) = &fragment {
            text.push('#');
            text.push_str(f);
        }
        let url = HttpUrl::parse(&text).unwrap();
        prop_assert_eq!(url.origin(), expected.as_str());
        prop_assert_eq!(url.path(), if path.is_empty() { "/" } else { path.as_str() });
        let (q, f) = match (&query, &fragment) {
            (Some(q), f) => (Some(q.as_str()), f.as_deref()),
            (None, f) => (None, f.as_deref()),
        };
        // A `#` in the query starts the fragment.
        match q.and_then(|q| q.split_once('#')) {
            Some((q, rest)) => {
                prop_assert_eq!(url.query(), Some(q));
                prop_assert!(url.fragment().is_some_and(|got| got.starts_with(rest)));
            }
            None => {
                prop_assert_eq!(url.query(), q);
                prop_assert_eq!(url.fragment(), f);
            }
        }
    }

    /// Origins: the ASCII serialization, idempotent; a path, query,
    /// fragment or credentials make it none.
    #[test]
    fn origins_normalize_idempotently((written, expected) in origin(), extra in prop::sample::select(&["", "/", "/x", "?q", "#f", "//"][..]), text in any::<String>()) {
        let got = normalize_origin(&format!("{written}{extra}"));
        prop_assert_eq!(got.clone(), matches!(extra, "" | "/").then(|| expected.clone()));
        prop_assert_eq!(normalize_origin(&expected), Some(expected.clone()));
        let credentials = written.replacen("://", "://user@", 1);
        prop_assert_eq!(normalize_origin(&credentials), None);
        if let Some(n) = normalize_origin(&text) {
            prop_assert_eq!(normalize_origin(&n), Some(n.clone()));
        }
    }

    /// The CSRF check: `GET`, `HEAD` and `OPTIONS` (exactly) always pass;
    /// any other method passes exactly when `Origin` names the request's own
    /// origin or an allowed one, however it is written.
    #[test]
    fn an_unsafe_method_needs_its_own_or_an_allowed_origin(
        method in prop::sample::select(&["GET", "HEAD", "OPTIONS", "POST", "get", "PATCH", "DELETE", "Options"][..]),
        own in origin(),
        allowed in prop::collection::vec(origin(), 0..3),
        sent in prop::option::of(prop_oneof![
            3 => origin().prop_map(|(w, _)| w),
            1 => prop::sample::select(&["null", "", "https://evil.example", "https://a.example/path"][..]).prop_map(str::to_owned),
            1 => any::<String>(),
        ]),
        pick in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let allowed_list: Vec<String> = allowed.iter().map(|(_, e)| e.clone()).collect();
        // Sometimes send one of the origins that must pass.
        let sent = match pick {
            Some(i) => {
                let choices: Vec<&String> = std::iter::once(&own.0).chain(allowed.iter().map(|(w, _)| w)).collect();
                Some(choices[i.index(choices.len())].clone())
            }
            None => sent,
        };
        let request_url = format!("{}/app/x?y=1", own.0);
        let passes = csrf_ok(method, sent.as_deref(), &request_url, &allowed_list);
        let safe = matches!(method, "GET" | "HEAD" | "OPTIONS");
        let named = sent.as_deref().and_then(normalize_origin);
        let expected = safe || named.is_some_and(|o| o == own.1 || allowed_list.contains(&o));
        prop_assert_eq!(passes, expected, "{} with Origin {:?}", method, sent);
        if pick.is_some() {
            prop_assert_eq!(passes, true);
        }
    }
}
