//! The origin's handoff headers (contract §6) and the identity headers:
//! `X-Session-Issue` creates a session exactly when its value is a valid
//! new session, else it is logged (naming why, never the value) and
//! ignored; `X-Session-Revoke` revokes exactly for `current` or `all`; every
//! spelling of both is removed from the response; the `X-Session-*` a
//! client sends never reach the origin; the identity headers read back.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use session_core::testing::{ManualClock, MemoryKv, SeededRandom};
use session_core::{ClientInfo, KvRepo, NewSession, SessionService};
use session_http::guard::{decide, finish, Finish, GuardDecision, MAX_ISSUE_BYTES};
use session_http::identity::{
    decode_meta, decode_user, encode_meta, encode_user, is_handoff_header, strip_session_headers,
};
use session_http::request::RequestHead;

use crate::spelled;
use crate::support::{self, TOKEN_KEYS};

const COOKIE: &str = "__Host-session";
/// Every generated string value starts with it: a log line holding it
/// echoed a value.
const MARK: &str = "Vq";

use support::{Ops, World as Env};

impl Env {
    fn new() -> Env {
        Env::with_allowed("")
    }

    /// With `ALLOWED_ORIGINS` (empty: unset).
    fn with_allowed(allowed: &str) -> Env {
        let config = support::config(
            &[
                ("TOKEN_KEYS", TOKEN_KEYS),
                ("GUARD_RULES", r#"[{"path":"/pub/**","access":"public"}]"#),
                ("ORIGIN_URL", "https://origin.internal"),
            ],
            &[("ALLOWED_ORIGINS", allowed)],
        );
        Env::of(config, 1_700_000_000_000, 7)
    }

    fn login(&self, user: &str) -> String {
        let app = self.app();
        let (token, _) =
            pollster::block_on(app.sessions().unwrap().create(NewSession::for_user(user))).unwrap();
        token.into_string()
    }

    fn works(&self, token: &str) -> bool {
        pollster::block_on(self.app().sessions().unwrap().verify(token)).is_ok()
    }

    /// A request on `path` with `token` as bearer, forwarded, and the
    /// origin answering `response` headers.
    fn round_trip(&self, path: &str, token: Option<&str>, response: &[(String, String)]) -> Finish {
        let mut headers = HeaderMap::new();
        if let Some(t) = token {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
            );
        }
        let head = RequestHead::new(
            Method::GET,
            format!("https://app.example{path}").parse().unwrap(),
            headers,
            None,
        );
        let app = self.app();
        let GuardDecision::Forward(forward) = pollster::block_on(decide(&app, &head)) else {
            panic!("not forwarded");
        };
        let finished = pollster::block_on(finish(&app, &head, &forward, response.iter().cloned()));
        for line in &finished.logs {
            assert!(!line.contains("es1."), "a token in a log line: {line}");
        }
        finished
    }
}

fn issued_token(set_cookie: &str) -> Option<&str> {
    let pair = set_cookie.split(';').next()?;
    let (name, value) = pair.split_once('=')?;
    (name == COOKIE && !value.is_empty()).then_some(value)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0u64..40_000_000).prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z é]{0,8}".prop_map(|s| Value::from(format!("{MARK}{s}"))),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `X-Session-Issue` values: new sessions mostly right, some fields wrong,
/// cut short, not ASCII, too long, or any text.
fn issue_value() -> impl Strategy<Value = String> {
    let field = |k: &'static str| -> BoxedStrategy<Value> {
        let typed: BoxedStrategy<Value> = match k {
            "userId" => "[a-z0-9@.]{1,12}".prop_map(Value::from).boxed(),
            "label" => "[a-z ]{0,12}"
                .prop_map(|s| Value::from(format!("{MARK}{s}")))
                .boxed(),
            "meta" => Just(json!({"roles": ["admin"]})).boxed(),
            _ => (0u64..40_000_000).prop_map(Value::from).boxed(),
        };
        prop_oneof![4 => typed, 1 => json_value()].boxed()
    };
    let object = (
        prop::option::weighted(0.9, field("userId")),
        prop::option::of(field("label")),
        prop::option::of(field("meta")),
        prop::option::of(field("idleTtl")),
        prop::option::of(field("absoluteTtl")),
        prop::option::weighted(
            0.1,
            (
                "[a-z]{1,6}".prop_map(|k| format!("{MARK}{k}")),
                json_value(),
            ),
        ),
    )
        .prop_map(|(u, l, m, i, a, extra)| {
            let mut o = Map::new();
            for (k, v) in [
                ("userId", u),
                ("label", l),
                ("meta", m),
                ("idleTtl", i),
                ("absoluteTtl", a),
            ] {
                if let Some(v) = v {
                    o.insert(k.into(), v);
                }
            }
            if let Some((k, v)) = extra {
                o.insert(k, v);
            }
            Value::Object(o).to_string()
        })
        .boxed();
    prop_oneof![
        8 => object.clone(),
        // Cut short (at a character: a byte index could fall inside `é`).
        1 => (object.clone(), any::<prop::sample::Index>()).prop_map(|(s, i)| s.chars().take(i.index(s.chars().count())).collect()),
        // Two lines as the runtime joins them, or one split at a comma.
        1 => (object.clone(), object.clone()).prop_map(|(a, b)| format!("{a}, {b}")),
        1 => object.prop_map(|s| s.replacen(',', ", ", 1)),
        1 => "[ -~]{0,40}",
        1 => any::<String>(),
        1 => Just(format!(r#"{{"userId":"u","label":"{}"}}"#, "x".repeat(MAX_ISSUE_BYTES))),
    ]
}

/// Whether the core would create a session from `value`: the reference of
/// the header's own rules (visible ASCII, at most 8 KiB, no `, ` where two
/// lines may have been joined, JSON), then the new session's (tested
/// against the contract in the core's properties).
fn should_issue(value: &str) -> bool {
    let visible = value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    if !visible || value.len() > MAX_ISSUE_BYTES || value.contains(", ") {
        return false;
    }
    let Ok(json) = serde_json::from_str::<Value>(value) else {
        return false;
    };
    let Ok(new) = NewSession::from_json(json, ClientInfo::default()) else {
        return false;
    };
    let clock = ManualClock::new(0);
    let layout = std::rc::Rc::new(session_core::KeyLayout::default());
    let repo = KvRepo::new(
        MemoryKv::new(clock.clone()),
        clock.clone(),
        layout,
        Default::default(),
    );
    let probe = SessionService::new(
        repo,
        clock,
        SeededRandom::new(1),
        session_core::KeyRing::parse(TOKEN_KEYS).unwrap(),
        "",
    );
    pollster::block_on(probe.create(new)).is_ok()
}

/// Header names: the handoff headers in every spelling, ours, others.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        spelled("x-session-issue"),
        spelled("x-session-revoke"),
        spelled("x-session-id"),
        spelled("x-session-user"),
        "x-session-[a-z]{0,6}",
        "[a-z][a-z0-9_-]{0,12}",
        Just("x-session".to_owned()),
        Just("x-sessionissue".to_owned()),
    ]
}

fn fold(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

proptest! {
    #![proptest_config(crate::cases(256))]

    /// `X-Session-Issue: v`: a session is created and its cookie set exactly
    /// when `v` is a valid new session; else a log line says why without
    /// the value, and nothing is written.
    #[test]
    fn an_issue_header_creates_a_session_exactly_when_valid(value in issue_value()) {
        let env = Env::new();
        env.kv.reset_counts();
        let fin = env.round_trip("/pub/login", None, &[("X-Session-Issue".into(), value.clone())]);
        prop_assert!(fin.remove_headers.iter().any(|h| h == "X-Session-Issue"));
        let token = fin.set_cookies.first().and_then(|c| issued_token(c));
        if should_issue(&value) {
            let token = token.expect("a cookie for the new session");
            let sent: Value = serde_json::from_str(&value).unwrap();
            let session = pollster::block_on(env.app().sessions().unwrap().verify(token)).unwrap();
            prop_assert_eq!(Some(session.user_id.as_str()), sent["userId"].as_str());
            prop_assert!(fin.logs.is_empty(), "{:?}", fin.logs);
        } else {
            prop_assert!(token.is_none(), "issued for {:?}", value);
            prop_assert_eq!(env.kv.counts().writes, 0);
            prop_assert_eq!(fin.logs.len(), 1, "{:?}", fin.logs);
            let line = &fin.logs[0];
            prop_assert!(line.starts_with("X-Session-Issue ignored: "), "{}", line);
            prop_assert!(!line.contains(MARK), "a value in the log: {}", line);
            let reason = &line["X-Session-Issue ignored: ".len()..];
            // A known field by name, an unknown one (its name is the
            // origin's text, kept out: it starts with MARK) without.
            let named = ["not valid JSON", "longer than", "the value is not visible ASCII", "the value holds \", \"", "body:", "userId:", "label:", "meta:", "idleTtl:", "absoluteTtl:", "a field is not known"]
                .iter()
                .any(|r| reason.starts_with(r));
            prop_assert!(named, "the reason names no field: {}", line);
        }
    }

    /// `X-Session-Revoke: v` on a request with a session: it and the cookie
    /// go exactly when every part of `v` between commas (lines the runtime
    /// joined) is `current` or `all` (any case, spaces around), all of the
    /// user's when one is `all`; otherwise nothing changes, a log line says
    /// so, and the origin's answer is replaced by 502.
    #[test]
    fn a_revoke_header_revokes_exactly_for_current_or_all(
        value in prop_oneof![
            prop::sample::select(&["current", "all", "Current", " ALL ", "\tall", "all,current", "current all", "none", "", "alll", "curren t", "current\u{a0}"][..]).prop_map(str::to_owned),
            prop::collection::vec(prop::sample::select(&["current", "all", "CURRENT", "x", "", " all"][..]), 1..4).prop_map(|v| v.join(", ")),
            "[ -~]{0,10}",
        ],
    ) {
        let env = Env::new();
        let token = env.login("u");
        let other = env.login("u");
        let fin = env.round_trip("/app", Some(&token), &[("x-session-revoke".into(), value.clone())]);
        let parts: Vec<String> = value.split(',').map(|p| p.trim_matches([' ', '\t']).to_ascii_lowercase()).collect();
        if parts.iter().all(|p| p == "current" || p == "all") {
            let all = parts.iter().any(|p| p == "all");
            prop_assert!(!env.works(&token));
            prop_assert_eq!(env.works(&other), !all);
            prop_assert_eq!(fin.set_cookies, vec![format!("{COOKIE}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax")]);
            prop_assert!(fin.failure.is_none());
        } else {
            prop_assert!(env.works(&token) && env.works(&other));
            prop_assert!(fin.set_cookies.is_empty());
            prop_assert_eq!(fin.logs.len(), 1, "{:?}", fin.logs);
            prop_assert!(fin.logs[0].starts_with("X-Session-Revoke not carried out"));
            prop_assert_eq!(fin.failure.map(|p| p.code.as_str()), Some("origin_unavailable"));
        }
    }

    /// A handoff answering `method` with the session cookie or not, an
    /// `Origin` and a `Sec-Fetch-Site`: acted on exactly when the method is
    /// safe, or the request is not cross-site (with the cookie: an own or
    /// allowed `Origin`; without: no other `Origin`, no `cross-site`); else
    /// 403 `csrf` and nothing written.
    #[test]
    fn a_handoff_is_acted_on_exactly_when_not_cross_site(
        method in prop::sample::select(&["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "get", "PROPFIND"][..]),
        with_cookie in any::<bool>(),
        origin in prop::option::of(prop::sample::select(&[
            "https://app.example", "HTTPS://App.Example:443", "https://partner.example",
            "https://evil.example", "http://app.example", "https://app.example/x", "null", "",
        ][..])),
        site in prop::option::of(prop::sample::select(&["same-origin", "same-site", "none", "cross-site", "Cross-Site", "x"][..])),
    ) {
        let env = Env::with_allowed("https://partner.example");
        let ours = |o: &str| ["https://app.example", "HTTPS://App.Example:443", "https://partner.example"].contains(&o);
        let expected = ["GET", "HEAD", "OPTIONS"].contains(&method)
            || if with_cookie {
                origin.is_some_and(ours)
            } else {
                origin.is_none_or(ours) && !site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site"))
            };
        let mut headers = HeaderMap::new();
        if with_cookie {
            headers.insert("cookie", HeaderValue::from_static("__Host-session=es1.k1.stale"));
        }
        if let Some(o) = origin {
            headers.insert("origin", HeaderValue::from_static(o));
        }
        if let Some(s) = site {
            headers.insert("sec-fetch-site", HeaderValue::from_static(s));
        }
        let head = RequestHead::new(
            Method::from_bytes(method.as_bytes()).unwrap(),
            "https://app.example/pub/login".parse().unwrap(),
            headers,
            None,
        );
        let app = env.app();
        let GuardDecision::Forward(forward) = pollster::block_on(decide(&app, &head)) else {
            panic!("not forwarded");
        };
        env.kv.reset_counts();
        let response = [("X-Session-Issue".to_owned(), r#"{"userId":"u"}"#.to_owned())];
        let fin = pollster::block_on(finish(&app, &head, &forward, response));
        prop_assert!(fin.remove_headers.iter().any(|h| h == "X-Session-Issue"));
        if expected {
            prop_assert!(fin.failure.is_none(), "{:?}", fin.logs);
            prop_assert_eq!(fin.set_cookies.len(), 1);
        } else {
            prop_assert_eq!(fin.failure.map(|p| p.code.as_str()), Some("csrf"));
            prop_assert!(fin.set_cookies.is_empty());
            prop_assert_eq!(env.kv.counts().total(), 0);
        }
    }

    /// Every spelling of the handoff headers is removed from the response
    /// (case, `_` for `-`), and nothing else; only the canonical spelling
    /// (any case) acts.
    #[test]
    fn every_spelling_of_the_handoff_headers_is_removed(names in prop::collection::vec(header_name(), 0..5)) {
        let env = Env::new();
        let response: Vec<(String, String)> = names.iter().map(|n| (n.clone(), "{\"userId\":\"u\"}".to_owned())).collect();
        let fin = env.round_trip("/pub/x", None, &response);
        let doomed = |n: &str| matches!(fold(n).as_str(), "x-session-issue" | "x-session-revoke");
        for n in &names {
            prop_assert_eq!(is_handoff_header(n), doomed(n), "{}", n);
            prop_assert_eq!(fin.remove_headers.iter().any(|r| r.eq_ignore_ascii_case(n)), doomed(n), "{}", n);
        }
        let canonical = |h: &str| names.iter().filter(|n| n.eq_ignore_ascii_case(h)).count();
        // The value is an issue's: as a revoke it is unreadable, and nothing is done.
        let revokes = canonical("x-session-revoke");
        prop_assert_eq!(fin.set_cookies.len(), usize::from(canonical("x-session-issue") == 1 && revokes == 0));
        prop_assert_eq!(fin.failure.is_some(), revokes > 0);
    }

    /// Client-sent headers whose name, without case and with `_` as `-`,
    /// starts with `x-session-` are all removed; every other stays.
    #[test]
    fn client_session_headers_are_stripped(names in prop::collection::vec(header_name(), 0..6)) {
        let mut headers = HeaderMap::new();
        for n in &names {
            headers.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_static("spoof"));
        }
        strip_session_headers(&mut headers);
        for n in &names {
            prop_assert_eq!(headers.contains_key(n.as_str()), !fold(n).starts_with("x-session-"), "{}", n);
        }
    }

    /// `X-Session-User` is the userId as `encodeURIComponent` writes it
    /// (visible ASCII, read back exactly); `X-Session-Meta` is base64url of
    /// the meta JSON, read back exactly.
    #[test]
    fn identity_headers_read_back(user in any::<String>(), meta in json_value()) {
        let encoded = encode_user(&user);
        let reference: String = user
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect();
        prop_assert_eq!(&encoded, &reference);
        prop_assert!(HeaderValue::from_str(&encoded).is_ok());
        prop_assert_eq!(decode_user(&encoded), Some(user));
        let meta = json!({ "m": meta });
        let encoded = encode_meta(&meta.to_string());
        prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert_eq!(decode_meta(&encoded), Some(meta));
    }
}
