//! The headers a forwarded request carries to the origin, for any request
//! headers: every client `X-Session-*` and override header gone (any case,
//! `_` for `-`), the session cookie and our bearer credentials gone unless
//! `FORWARD_TOKEN=true`, everything else kept byte for byte, and exactly
//! the identity headers of the session added. The oracle is the guard's
//! header rebuild as it was before the Worker started applying a plan
//! ([`HeaderPlan`]) to the request's own headers (`forward_headers`, kept
//! here only): the plan applied to the request must be exactly it.

use http::header::{HeaderName, HeaderValue, AUTHORIZATION, COOKIE};
use http::{HeaderMap, Method};
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use proptest::prelude::*;
use session_core::{NewSession, Session};
use session_http::bearer::strip_our_authorization;
use session_http::config::Config;
use session_http::cookie::strip_cookie;
use session_http::guard::{decide, Forward, GuardDecision, HeaderPlan, MAX_DELETES};
use session_http::http_url::HttpUrl;
use session_http::identity::{
    auth_time, encode_meta, encode_user, strip_override_headers, strip_session_headers,
};
use session_http::request::RequestHead;

use crate::spelled;
use crate::support::{self, Ops, World, ASSERTION_K1, TOKEN_KEYS};

// --- the oracle ----------------------------------------------------------

/// The headers forwarded before identity headers, as the guard rebuilt them
/// from the request's (the function the plan replaced).
fn oracle(config: &Config, request: &HeaderMap) -> HeaderMap {
    let mut headers = request.clone();
    strip_session_headers(&mut headers);
    strip_override_headers(&mut headers);
    if !config.forward_token {
        strip_cookie(&mut headers, &config.cookie_name);
        strip_our_authorization(&mut headers);
    }
    headers
}

/// Independent of the crate: a name as CGI-style origins read it.
fn folded(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

fn spoofable(name: &str) -> bool {
    let n = folded(name);
    n.starts_with("x-session-")
        || [
            "x-http-method-override",
            "x-http-method",
            "x-method-override",
            "x-original-url",
            "x-rewrite-url",
        ]
        .contains(&n.as_str())
}

/// Names of the pairs of a `Cookie` value split at `;` and at every `,`
/// (more than the guard splits at: whatever it keeps must pass this).
fn cookie_names(value: &[u8]) -> Vec<Vec<u8>> {
    value
        .split(|&b| b == b';' || b == b',')
        .filter_map(|p| {
            let eq = p.iter().position(|&b| b == b'=')?;
            Some(trim(&p[..eq]).to_vec())
        })
        .collect()
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Whether an `Authorization` value holds `Bearer es1.…` among its
/// comma-separated credentials.
fn holds_our_bearer(value: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|c| {
        let c = trim(c);
        c.len() > 7
            && c[..6].eq_ignore_ascii_case(b"bearer")
            && (c[6] == b' ' || c[6] == b'\t')
            && trim(&c[6..]).starts_with(b"es1.")
    })
}

/// The invariants every forwarded header list keeps, whatever produced it.
fn check_stripped(
    config: &Config,
    request: &HeaderMap,
    sent: &HeaderMap,
) -> Result<(), TestCaseError> {
    for name in sent.keys() {
        prop_assert!(!spoofable(name.as_str()), "{} forwarded", name);
    }
    for (name, _) in request {
        let n = name.as_str();
        if spoofable(n) || (!config.forward_token && (name == COOKIE || name == AUTHORIZATION)) {
            continue;
        }
        let before: Vec<&HeaderValue> = request.get_all(name).iter().collect();
        let after: Vec<&HeaderValue> = sent.get_all(name).iter().collect();
        prop_assert_eq!(before, after, "{} not kept byte for byte", n);
    }
    if !config.forward_token {
        for value in sent.get_all(COOKIE) {
            prop_assert!(
                !cookie_names(value.as_bytes()).contains(&config.cookie_name.as_bytes().to_vec()),
                "session cookie forwarded"
            );
        }
        for value in sent.get_all(AUTHORIZATION) {
            prop_assert!(!holds_our_bearer(value.as_bytes()), "our bearer forwarded");
        }
    }
    Ok(())
}

// --- the generators ------------------------------------------------------

const NAMES: &[&str] = &[
    "x-session-id",
    "x-session-user",
    "x-session-meta",
    "x-session-auth-time",
    "x-session-assertion",
    "x-session-issue",
    "x-session-revoke",
    "x-session-",
    "x-session-anything",
    "x-sessionx",
    "x-session",
    "x-sessions-id",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
    "x-http-methods",
    "cookie",
    "authorization",
    "proxy-authorization",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-type",
    "accept",
    "set-cookie",
    "cf-connecting-ip",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(NAMES).prop_flat_map(spelled),
        1 => "[a-z0-9!#$%&'*+.^_`|~-]{1,12}",
    ]
}

const COOKIE_NAMES: &[&str] = &["__Host-session", "sid", "theme", "__host-session", "a"];

/// A `Cookie` value: pairs named like either session cookie among others,
/// joined by `;` or by the `, ` of lines a runtime joined.
fn cookie_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(&["; ", ";", ", ", ",", " ; "][..]),
            prop::sample::select(COOKIE_NAMES),
            prop_oneof![
                2 => "es1\\.k1\\.[A-Za-z0-9_-]{4,12}",
                2 => "[A-Za-z0-9._~-]{0,8}",
                1 => prop::sample::select(&["\"q\"", "x, sid=y", "a=b", "é"][..]).prop_map(str::to_owned),
            ],
        ),
        0..5,
    )
    .prop_map(|pairs| {
        let mut line = String::new();
        for (k, (sep, name, value)) in pairs.into_iter().enumerate() {
            if k > 0 {
                line.push_str(sep);
            }
            line.push_str(&format!("{name}={value}"));
        }
        line
    })
}

/// An `Authorization` value: ours, the origin's, or several joined.
fn authorization_value() -> impl Strategy<Value = String> {
    let credential = prop_oneof![
        2 => "es1\\.[A-Za-z0-9_.-]{0,16}".prop_map(|t| format!("Bearer {t}")),
        1 => "[A-Za-z0-9]{1,8}".prop_map(|t| format!("bearer\t  es1.{t}")),
        1 => Just("Basic dXNlcjpwYXNz".to_owned()),
        1 => Just("Bearer eyJhbGciOi.origin.jwt".to_owned()),
        1 => Just("Bearer es1".to_owned()),
    ];
    prop::collection::vec(credential, 1..4).prop_map(|c| c.join(", "))
}

/// Any bytes a header value may hold: visible ASCII, spaces and tabs, and
/// bytes above 0x7F (a runtime hands them as a ByteString).
fn other_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[ -~]{0,16}".prop_map(String::into_bytes),
        1 => prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, Just(b'\t')], 0..12),
    ]
}

fn header() -> impl Strategy<Value = (String, Vec<u8>)> {
    name().prop_flat_map(|name| {
        let value = match name.to_ascii_lowercase().as_str() {
            "cookie" => prop_oneof![4 => cookie_value().prop_map(String::into_bytes), 1 => other_value()].boxed(),
            "authorization" => prop_oneof![4 => authorization_value().prop_map(String::into_bytes), 1 => other_value()].boxed(),
            _ => other_value().boxed(),
        };
        (Just(name), value)
    })
}

/// Request headers as the runtime hands them, repeats kept in order.
fn headers() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec(header(), 0..14).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(&value),
            ) {
                map.append(n, v);
            }
        }
        map
    })
}

fn config(cookie_name: &str, forward_token: bool, extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![
        ("TOKEN_KEYS", TOKEN_KEYS),
        (
            "GUARD_RULES",
            r#"[{"path":"/pub/**","access":"public"},{"path":"/app/**","access":"session"}]"#,
        ),
        ("ORIGIN_URL", "https://origin.internal"),
        ("COOKIE_NAME", cookie_name),
        (
            "FORWARD_TOKEN",
            if forward_token { "true" } else { "false" },
        ),
    ];
    vars.extend_from_slice(extra);
    support::config(&vars, &[])
}

fn head(path: &str, headers: HeaderMap) -> RequestHead {
    RequestHead::new(
        Method::GET,
        HttpUrl::parse(&format!("https://edge.example{path}")).unwrap(),
        headers,
        None,
    )
}

/// The headers `forward` sends for the request `head`: its plan applied to
/// the request's headers, as the Worker applies it to the request's own.
fn sent(head: &RequestHead, forward: &Forward) -> HeaderMap {
    forward.headers.apply(&head.headers)
}

fn forwarded(w: &World, head: &RequestHead) -> Forward {
    match pollster::block_on(decide(&w.app(), head)) {
        GuardDecision::Forward(f) => f,
        GuardDecision::Respond(r) => panic!("{} {}", r.status(), String::from_utf8_lossy(r.body())),
    }
}

/// The identity headers of `session`, as the contract writes them.
fn identity(session: &Session) -> [(&'static str, String); 4] {
    [
        ("x-session-id", session.id.to_string()),
        ("x-session-user", encode_user(&session.user_id)),
        // The compact JSON of the meta's value: what the record holds.
        (
            "x-session-meta",
            encode_meta(&session.meta.to_value().to_string()),
        ),
        ("x-session-auth-time", auth_time(session).to_string()),
    ]
}

proptest! {
    #![proptest_config(crate::cases(1024))]

    /// For any request headers and either setting of `FORWARD_TOKEN` and
    /// `COOKIE_NAME`: the oracle's headers, which keep the invariants.
    #[test]
    fn forwarded_headers_are_the_oracles(
        request in headers(),
        cookie_name in prop::sample::select(&["__Host-session", "sid"][..]),
        forward_token in any::<bool>(),
    ) {
        let config = config(cookie_name, forward_token, &[]);
        let expected = oracle(&config, &request);
        check_stripped(&config, &request, &expected)?;
        prop_assert_eq!(HeaderPlan::of(&config, &request).apply(&request), expected.clone());
        // A public path forwards exactly these, no identity added.
        let w = World::of(config, 1_700_000_000_000, 3);
        let h = head("/pub/x", request);
        let f = forwarded(&w, &h);
        prop_assert_eq!(sent(&h, &f), expected);
    }
}

proptest! {
    #![proptest_config(crate::cases(256))]

    /// A session request (token as a cookie among others, or as a bearer
    /// credential): the oracle's headers plus exactly the identity headers
    /// (unless `IDENTITY_HEADERS=assertion`) and, with `ASSERTION_KEYS`, one
    /// `X-Session-Assertion`, the only header of the three modes' lists
    /// that differ.
    #[test]
    fn a_session_request_adds_exactly_the_identity_headers(
        soup in headers(),
        by_bearer in any::<bool>(),
        before in cookie_value(),
        after in cookie_value(),
        forward_token in any::<bool>(),
        mode in 0u8..3,
        user in "[a-z@. é]{1,12}",
    ) {
        let extra: &[(&str, &str)] = match mode {
            0 => &[],
            1 => &[("ASSERTION_KEYS", ASSERTION_K1)],
            _ => &[("ASSERTION_KEYS", ASSERTION_K1), ("IDENTITY_HEADERS", "assertion")],
        };
        let config = config("__Host-session", forward_token, extra);
        let w = World::of(config, 1_700_000_000_000, 5);
        let (token, session) = pollster::block_on(
            w.app().sessions().unwrap().create(NewSession::for_user(&user)),
        )
        .unwrap();
        let token = token.into_string();
        // The soup carries no credential of its own: ours is the one read.
        let mut request = HeaderMap::new();
        for (name, value) in &soup {
            if name != COOKIE && name != AUTHORIZATION {
                request.append(name, value.clone());
            }
        }
        let without_session = |line: &str| {
            line.split([';', ','])
                .filter(|p| !p.trim().starts_with("__Host-session="))
                .collect::<Vec<_>>()
                .join(";")
        };
        let line = format!(
            "{}; __Host-session={}; {}",
            without_session(&before),
            token,
            without_session(&after)
        );
        if by_bearer {
            request.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {}", token)).unwrap());
        }
        request.append(COOKIE, HeaderValue::from_str(&line).unwrap());
        let h = head("/app/x", request.clone());
        let mut f = forwarded(&w, &h);
        prop_assert_eq!(f.session.as_ref().map(|s| s.id.as_str()), Some(session.id.as_str()));
        if let Some(pending) = f.assertion.take() {
            let key = SigningKey::from_pkcs8_der(pending.key().pkcs8_der()).unwrap();
            let signature: Signature = key.sign(pending.signing_input());
            f.add_assertion(pending, &signature.to_bytes()).unwrap();
        }
        let mut got = sent(&h, &f);
        prop_assert_eq!(got.get_all("x-session-assertion").iter().count(), usize::from(mode > 0));
        got.remove("x-session-assertion");
        let mut expected = oracle(&w.config, &request);
        check_stripped(&w.config, &request, &expected)?;
        if mode < 2 {
            for (name, value) in identity(&session) {
                expected.append(name, HeaderValue::from_str(&value).unwrap());
            }
        }
        prop_assert_eq!(got, expected);
    }
}

/// A value `http` refuses (a control byte), which the runtime hands over.
fn unreadable_value() -> impl Strategy<Value = Vec<u8>> {
    (
        "[ -~]{0,6}",
        prop_oneof![0x01u8..0x09, 0x0bu8..0x0d, 0x0eu8..0x20, Just(0x7f)],
        "[ -~]{0,6}",
    )
        .prop_map(|(a, c, b)| {
            let mut v = a.into_bytes();
            v.push(c);
            v.extend(b.into_bytes());
            v
        })
}

/// A name with a byte outside ASCII, as the runtime hands it to JS: each
/// such byte as U+FFFD (the bytes it holds stay the client's). Some start
/// like ours: `x-session-user\u{fffd}`.
fn unnamable_name() -> impl Strategy<Value = String> {
    (name(), "[a-z-]{0,3}").prop_map(|(n, tail)| format!("{n}\u{fffd}{tail}"))
}

/// Headers as the runtime's `Headers` holds them (lower-case names, any
/// bytes but CR, LF and NUL), some of which `http` cannot read. Up to 40, so
/// that plans above `MAX_DELETES` removals occur.
fn runtime_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    prop::collection::vec(
        prop_oneof![
            8 => header(),
            2 => (name(), unreadable_value()),
            1 => (unnamable_name(), other_value()),
        ],
        0..40,
    )
    .prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect()
    })
}

proptest! {
    #![proptest_config(crate::cases(1024))]

    /// Headers the runtime hands but `http` cannot read never reached the
    /// guard: the plan, told their names as the Worker's adapter does,
    /// removes them, and the request's `Headers` with the plan applied (a
    /// model of the JS: delete each name, which cannot match a name holding
    /// bytes outside ASCII, or with `rebuild` keep only token names not
    /// removed; then append each pair) is exactly the oracle's list of the
    /// readable headers.
    #[test]
    fn unreadable_headers_are_not_forwarded(
        runtime in runtime_headers(),
        forward_token in any::<bool>(),
    ) {
        let config = config("__Host-session", forward_token, &[]);
        let mut readable = HeaderMap::new();
        let mut unread = Vec::new();
        for (name, value) in &runtime {
            match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
                (Ok(n), Ok(v)) => {
                    readable.append(n, v);
                }
                _ => unread.push(name.clone()),
            }
        }
        let mut plan = HeaderPlan::of(&config, &readable);
        plan.remove_unread(&unread, &readable);
        let token = |n: &str| HeaderName::from_bytes(n.as_bytes()).is_ok();
        let removed = |n: &String| plan.remove().contains(n);
        let mut js: Vec<(String, Vec<u8>)> = runtime
            .iter()
            .filter(|(n, _)| {
                if plan.rebuild() {
                    token(n) && !removed(n)
                } else {
                    !(token(n) && removed(n))
                }
            })
            .cloned()
            .collect();
        js.extend(plan.add().iter().map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())));
        let expected = oracle(&config, &readable);
        let mut got = HeaderMap::new();
        for (name, value) in js {
            let value = HeaderValue::from_bytes(&value);
            prop_assert!(value.is_ok(), "an unreadable {} forwarded", name);
            let header = HeaderName::from_bytes(name.as_bytes());
            prop_assert!(header.is_ok(), "a name that is not a token forwarded: {:?}", name);
            got.append(header.unwrap(), value.unwrap());
        }
        prop_assert_eq!(got, expected);
    }
}

/// A name with a byte outside ASCII cannot be deleted by name from the
/// runtime's `Headers`: the plan says to rebuild instead, even with one
/// removal.
#[test]
fn a_name_outside_ascii_makes_the_worker_rebuild() {
    let config = config("__Host-session", false, &[]);
    let request = HeaderMap::new();
    let mut plan = HeaderPlan::of(&config, &request);
    assert!(!plan.rebuild());
    plan.remove_unread(&["x-session-user\u{fffd}".to_owned()], &request);
    assert_eq!(plan.remove(), ["x-session-user\u{fffd}"]);
    assert!(plan.rebuild());
}

/// Deletes one by one up to `MAX_DELETES` removals, one pass above; the
/// thousands of names a client can send are each removed once.
#[test]
fn many_removals_are_made_in_one_pass_each_once() {
    let config = config("__Host-session", false, &[]);
    let request = HeaderMap::new();
    let names = |n: usize| -> Vec<String> { (0..n).map(|i| format!("H{i}")).collect() };
    let mut few = HeaderPlan::of(&config, &request);
    few.remove_unread(&names(MAX_DELETES), &request);
    assert_eq!(few.remove().len(), MAX_DELETES);
    assert!(!few.rebuild());

    let mut many = HeaderPlan::of(&config, &request);
    let twice: Vec<String> = names(12_000)
        .into_iter()
        .flat_map(|n| [n.clone(), n])
        .collect();
    many.remove_unread(&twice, &request);
    assert_eq!(many.remove().len(), 12_000);
    assert_eq!(many.remove()[11_999], "h11999");
    assert!(many.rebuild());
}
