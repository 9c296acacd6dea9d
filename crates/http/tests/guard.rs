//! The guard's decisions and the origin handoff, natively, against the
//! in-memory KV with a manual clock (contract section 6).

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::{HeaderName, HeaderValue, SET_COOKIE};
use http::{HeaderMap, Method, Response, StatusCode};
use pollster::block_on;
use serde_json::{json, Value};
use session_core::testing::{KvOpCounts, StoreOp};
use session_core::{NewSession, Session, Slide, StoreError};
use session_http::app::App;
use session_http::config::Config;
use session_http::request::RequestHead;

mod support;
use session_http::auth::TokenSource;
use session_http::guard::{decide, finish, Finish, Forward, GuardDecision};
use session_http::http_url::HttpUrl;
use session_http::identity::{decode_meta, decode_user};
use session_http::rules::Access;

const T0: i64 = 1_700_000_000_000;
const COOKIE: &str = "__Host-session";
const RULES: &str = r#"[
  {"path": "/assets/**", "access": "public"},
  {"path": "/public", "methods": ["GET"], "access": "public"},
  {"path": "/admin/**", "access": "role:admin"},
  {"path": "/app/**", "access": "session"}
]"#;

fn key_ring() -> String {
    format!("k1:{}", STANDARD.encode([7u8; 32]))
}

/// One isolate over an in-memory KV.
use support::{forwarded, responded, Ops, TestApp, World as Env};

impl Env {
    /// Base vars, overridden by `extra` (an empty value unsets a var).
    fn new(extra: &[(&str, &str)]) -> Env {
        let keys = key_ring();
        let base = [
            ("TOKEN_KEYS", keys.as_str()),
            ("GUARD_RULES", RULES),
            ("SESSION_IDLE_TTL", "3600"),
            ("SESSION_ABSOLUTE_TTL", "86400"),
            ("LOGIN_URL", "/login"),
            ("ALLOWED_ORIGINS", "https://partner.example"),
            ("ORIGIN_URL", "https://origin.internal/base"),
        ];
        Env::of(support::config(&base, extra), T0, 42)
    }

    /// A request served by another isolate (its own ledger).
    fn other_isolate(&self) -> TestApp<'_> {
        App::new(
            &self.config,
            self.kv.clone(),
            self.clock.clone(),
            self.random.clone(),
        )
    }

    fn create(&self, new: NewSession) -> (String, Session) {
        let app = self.app();
        let (token, session) =
            block_on(app.sessions().expect("configured").create(new)).expect("create");
        self.kv.reset_counts();
        (token.into_string(), session)
    }

    fn login(&self, user: &str) -> (String, Session) {
        self.create(NewSession::for_user(user))
    }

    fn login_with_roles(&self, user: &str, roles: &[&str]) -> (String, Session) {
        self.create(NewSession {
            meta: Some(json!({ "roles": roles })),
            ..NewSession::for_user(user)
        })
    }

    /// Verifies a token without counting: `Ok(session)` or the error code.
    fn check(&self, token: &str) -> Result<Session, String> {
        let app = self.app();
        let r = block_on(app.sessions().expect("configured").verify(token))
            .map_err(|e| format!("{e:?}"));
        self.kv.reset_counts();
        r
    }

    fn decide(&self, head: &RequestHead) -> GuardDecision {
        block_on(decide(&self.app(), head))
    }

    /// What the Worker does: hands the origin response's headers to
    /// `finish`, then removes what it says from them.
    fn finish(&self, head: &RequestHead, fwd: &Forward, response: &mut HeaderMap) -> Finish {
        let pairs: Vec<(String, String)> = response
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let finished = block_on(finish(&self.app(), head, fwd, pairs));
        for name in &finished.remove_headers {
            response.remove(name.as_str());
        }
        for line in &finished.logs {
            assert!(!line.contains("es1."), "token in a log line: {line}");
        }
        finished
    }

    fn ops(&self) -> KvOpCounts {
        self.kv.counts()
    }
}

fn ops(reads: usize, writes: usize, deletes: usize, lists: usize) -> KvOpCounts {
    KvOpCounts {
        reads,
        writes,
        deletes,
        lists,
    }
}

/// A request to `path` on `https://app.example.com`, seen from France.
fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> RequestHead {
    let mut head = support::head(method, &format!("https://app.example.com{path}"), headers);
    head.country = Some("fr".into());
    head
}

fn cookie(token: &str) -> String {
    format!("{COOKIE}={token}")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// What the Worker sends for `head`: the guard's forward, and the headers
/// its plan makes of the request's.
#[track_caller]
fn forwarded_with_headers(env: &Env, head: &RequestHead) -> (Forward, HeaderMap) {
    let f = forwarded(env.decide(head));
    let sent = f.headers.apply(&head.headers);
    (f, sent)
}

/// `(status, code)` of a problem response.
#[track_caller]
fn problem(d: GuardDecision) -> (u16, String) {
    let r = responded(d);
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{}",
        r.status()
    );
    let body: Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(body["status"], r.status().as_u16());
    (
        r.status().as_u16(),
        body["code"].as_str().unwrap().to_owned(),
    )
}

/// `(status, code)` of the HTML page a browser is refused with.
#[track_caller]
fn page(d: GuardDecision) -> (u16, String) {
    page_of(&responded(d))
}

#[track_caller]
fn page_of(r: &Response<Vec<u8>>) -> (u16, String) {
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    let body = String::from_utf8(r.body().clone()).unwrap();
    let code = body
        .split_once(r#"<code id="code">"#)
        .and_then(|(_, rest)| rest.split_once("</code>"))
        .expect("the page shows the code")
        .0;
    assert!(body.contains(&format!("<title>{} ", r.status().as_u16())));
    (r.status().as_u16(), code.to_owned())
}

fn set_cookies(r: &Response<Vec<u8>>) -> Vec<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).map(|v| v.to_str().unwrap())
}

fn cleared() -> String {
    format!("{COOKIE}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax")
}

fn issue_header(json: &Value) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "x-session-issue",
        HeaderValue::from_str(&json.to_string()).unwrap(),
    );
    h.insert("content-type", HeaderValue::from_static("text/html"));
    h
}

fn revoke_header(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("X-Session-Revoke", HeaderValue::from_str(value).unwrap());
    h.insert("content-type", HeaderValue::from_static("text/html"));
    h
}

/// The token of a `Set-Cookie` issuing our cookie, and its Max-Age.
fn issued(set_cookie: &str) -> (String, u64) {
    let rest = set_cookie
        .strip_prefix(&format!("{COOKIE}="))
        .expect("our cookie");
    let (token, attrs) = rest.split_once("; Max-Age=").unwrap();
    let (max_age, tail) = attrs.split_once(';').unwrap();
    assert_eq!(tail, " Path=/; HttpOnly; Secure; SameSite=Lax");
    (token.to_owned(), max_age.parse().unwrap())
}

// ---------------------------------------------------------------------------
// Access rules

#[test]
fn access_table_without_a_token() {
    let env = Env::new(&[]);
    let long = format!("/{}", "a".repeat(9000));
    type Case<'a> = (&'a str, &'a str, Result<Access, (u16, &'a str)>);
    let cases: &[Case] = &[
        ("GET", "/assets/app.js", Ok(Access::Public)),
        ("POST", "/assets/upload", Ok(Access::Public)),
        ("GET", "/public", Ok(Access::Public)),
        ("HEAD", "/public", Ok(Access::Public)),
        ("POST", "/public", Err((401, "unauthorized"))),
        ("GET", "/app/page", Err((401, "unauthorized"))),
        ("GET", "/elsewhere", Err((401, "unauthorized"))),
        ("GET", "/", Err((401, "unauthorized"))),
        ("DELETE", "/admin/users/1", Err((401, "unauthorized"))),
        // A path straddling two rules gets the stricter one.
        ("GET", "/assets/..%2Fapp/secret", Err((401, "unauthorized"))),
        ("GET", "/ASSETS/../app/x", Err((401, "unauthorized"))),
        ("GET", &long, Err((400, "invalid_request"))),
    ];
    for (method, path, expected) in cases {
        let d = env.decide(&req(method, path, &[("accept", "application/json")]));
        match expected {
            Ok(access) => {
                let f = forwarded(d);
                assert_eq!(&f.access, access, "{method} {path}");
                assert!(f.session.is_none() && f.slide.is_none() && f.set_cookie.is_none());
                assert_eq!(f.token_source, None);
            }
            Err((status, code)) => {
                assert_eq!(problem(d), (*status, code.to_string()), "{method} {path}");
            }
        }
        assert_eq!(env.ops().total(), 0, "{method} {path}");
    }
}

#[test]
fn access_table_with_sessions_and_roles() {
    let env = Env::new(&[]);
    let (user, _) = env.login_with_roles("u1", &["editor"]);
    let (admin, _) = env.login_with_roles("u2", &["editor", "admin"]);
    let (no_meta, _) = env.login("u3");
    let cases = [
        (&user, "/app/x", Some("u1")),
        (&user, "/other", Some("u1")),
        (&user, "/admin/x", None),
        (&no_meta, "/admin/x", None),
        (&admin, "/admin/x", Some("u2")),
        (&admin, "/app/x", Some("u2")),
    ];
    for (token, path, forwarded_as) in cases {
        env.kv.reset_counts();
        let head = req("GET", path, &[("authorization", &bearer(token))]);
        let d = env.decide(&head);
        match forwarded_as {
            Some(user) => {
                let f = forwarded(d);
                assert_eq!(f.session.as_ref().unwrap().user_id, user);
                let sent = f.headers.apply(&head.headers);
                assert_eq!(header(&sent, "x-session-user"), Some(user));
                assert_eq!(f.token_source, Some(TokenSource::Bearer));
            }
            None => assert_eq!(problem(d), (403, "forbidden".into()), "{path}"),
        }
        assert_eq!(env.ops(), ops(1, 0, 0, 0), "{path}");
    }
    // A role held as a non-string, or roles not an array, do not count.
    let (odd, _) = env.create(NewSession {
        meta: Some(json!({"roles": "admin", "role": ["admin"]})),
        ..NewSession::for_user("u4")
    });
    let d = env.decide(&req("GET", "/admin/x", &[("authorization", &bearer(&odd))]));
    assert_eq!(problem(d), (403, "forbidden".into()));
}

#[test]
fn upstream_url_keeps_path_and_query() {
    let env = Env::new(&[]);
    let f = forwarded(env.decide(&req("GET", "/assets/a%20b.js?v=1&x=%2F", &[])));
    assert_eq!(
        f.url.as_str(),
        "https://origin.internal/base/assets/a%20b.js?v=1&x=%2F"
    );
    let env = Env::new(&[("ORIGIN_URL", "")]);
    let f = forwarded(env.decide(&req("GET", "/assets/a.js?v=1", &[])));
    assert_eq!(f.url.as_str(), "https://app.example.com/assets/a.js?v=1");
}

// ---------------------------------------------------------------------------
// Headers sent to the origin

#[test]
fn identity_headers_replace_spoofed_ones() {
    let env = Env::new(&[]);
    let (token, session) = env.create(NewSession {
        meta: Some(json!({"roles": ["admin"], "name": "Zoë", "n": 1})),
        ..NewSession::for_user("alice@example.com/é ü")
    });
    let spoofed = [
        ("X-Session-Id", "forged"),
        ("X-SESSION-USER", "admin"),
        ("x-Session-Meta", "e30"),
        ("X-Session-Issue", r#"{"userId":"mallory"}"#),
        ("x-session-revoke", "all"),
        ("X-Session-Anything", "1"),
        ("X-Sessionx", "kept"),
        ("Accept", "text/html"),
        ("Accept", "application/json"),
    ];
    let mut headers = spoofed.to_vec();
    let auth = bearer(&token);
    headers.push(("authorization", &auth));
    let (_, sent) = forwarded_with_headers(&env, &req("GET", "/app/page", &headers));
    let h = &sent;
    assert_eq!(header(h, "x-session-id"), Some(session.id.as_str()));
    assert_eq!(
        header(h, "x-session-user"),
        Some("alice%40example.com%2F%C3%A9%20%C3%BC")
    );
    assert_eq!(
        decode_user(header(h, "x-session-user").unwrap()).as_deref(),
        Some("alice@example.com/é ü")
    );
    let meta = header(h, "x-session-meta").unwrap();
    assert!(!meta.contains(['=', '+', '/']), "{meta}");
    assert_eq!(
        decode_meta(meta),
        Some(json!({"roles": ["admin"], "name": "Zoë", "n": 1}))
    );
    for name in ["x-session-id", "x-session-user", "x-session-meta"] {
        assert_eq!(h.get_all(name).iter().count(), 1, "{name}");
    }
    assert!(h.get("x-session-issue").is_none());
    assert!(h.get("x-session-revoke").is_none());
    assert!(h.get("x-session-anything").is_none());
    assert_eq!(header(h, "x-sessionx"), Some("kept"));
    assert_eq!(h.get_all("accept").iter().count(), 2);
    assert!(h.get("authorization").is_none());
}

#[test]
fn spoofed_headers_are_stripped_on_public_paths_too() {
    let env = Env::new(&[("TOKEN_KEYS", "")]);
    let (_, sent) = forwarded_with_headers(
        &env,
        &req(
            "POST",
            "/assets/x",
            &[
                ("X-Session-Id", "forged"),
                ("X-SESSION-USER", "admin"),
                ("x-session-meta", "e30"),
                ("X-Session-Issue", "{}"),
                ("X-Session-Revoke", "current"),
                ("content-type", "text/plain"),
            ],
        ),
    );
    let names: Vec<&str> = sent.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["content-type"]);
    assert_eq!(env.ops().total(), 0);
}

#[test]
fn tokens_are_not_forwarded_by_default() {
    let env = Env::new(&[]);
    let (token, _) = env.login("u1");
    // Cookie among others: removed, the others kept.
    let c = format!("a=1; {}; b=2", cookie(&token));
    let (f, sent) = forwarded_with_headers(&env, &req("GET", "/app/x", &[("cookie", &c)]));
    assert_eq!(header(&sent, "cookie"), Some("a=1; b=2"));
    assert_eq!(f.token_source, Some(TokenSource::Cookie));
    // Cookie alone: the header goes.
    let (_, sent) =
        forwarded_with_headers(&env, &req("GET", "/app/x", &[("cookie", &cookie(&token))]));
    assert!(sent.get("cookie").is_none());
    // Split Cookie headers (HTTP/2): each cleaned, duplicates of ours gone.
    let c2 = format!("{}; c=3", cookie("stale"));
    let (_, sent) = forwarded_with_headers(
        &env,
        &req(
            "GET",
            "/app/x",
            &[
                ("cookie", &cookie(&token)),
                ("cookie", &c2),
                ("cookie", "d=4"),
            ],
        ),
    );
    let values: Vec<&str> = sent
        .get_all("cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(values, ["c=3", "d=4"]);
    // Bearer: Authorization removed; the cookie too when both are sent.
    let both = [
        ("authorization", bearer(&token)),
        ("cookie", format!("{}; z=9", cookie(&token))),
    ];
    let both: Vec<(&str, &str)> = both.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (f, sent) = forwarded_with_headers(&env, &req("POST", "/app/x", &both));
    assert_eq!(f.token_source, Some(TokenSource::Bearer));
    assert!(sent.get("authorization").is_none());
    assert_eq!(header(&sent, "cookie"), Some("z=9"));

    // Public paths: our token is removed as well, the origin's credentials kept.
    let (_, sent) = forwarded_with_headers(
        &env,
        &req(
            "GET",
            "/assets/x",
            &[("authorization", &bearer(&token)), ("cookie", &c)],
        ),
    );
    assert!(sent.get("authorization").is_none());
    assert_eq!(header(&sent, "cookie"), Some("a=1; b=2"));
    for kept in [
        "Basic dXNlcjpwYXNz",
        "Bearer eyJhbGciOi.origin.jwt",
        "Bearer es1",
    ] {
        let (_, sent) =
            forwarded_with_headers(&env, &req("GET", "/assets/x", &[("authorization", kept)]));
        assert_eq!(header(&sent, "authorization"), Some(kept));
    }
    // A forged token with our prefix is not forwarded either.
    let (_, sent) = forwarded_with_headers(
        &env,
        &req(
            "GET",
            "/assets/x",
            &[("authorization", "bearer   es1.k1.forged")],
        ),
    );
    assert!(sent.get("authorization").is_none());
    // A Cookie header that is not ASCII is still cleaned, byte-wise.
    let mut head = req("GET", "/assets/x", &[]);
    let raw = format!("x=\u{e9}; {}; y=2", cookie(&token));
    head.headers
        .insert("cookie", HeaderValue::from_bytes(raw.as_bytes()).unwrap());
    let (_, sent) = forwarded_with_headers(&env, &head);
    assert_eq!(
        sent.get("cookie").unwrap().as_bytes(),
        "x=\u{e9}; y=2".as_bytes()
    );
    assert_eq!(
        env.ops(),
        ops(4, 0, 0, 0),
        "4 guarded decisions, 1 read each"
    );
}

#[test]
fn forward_token_true_keeps_cookie_and_authorization() {
    let env = Env::new(&[("FORWARD_TOKEN", "true")]);
    let (token, session) = env.login("u1");
    let c = format!("a=1; {}", cookie(&token));
    let (_, sent) = forwarded_with_headers(&env, &req("GET", "/app/x", &[("cookie", &c)]));
    assert_eq!(header(&sent, "cookie"), Some(c.as_str()));
    assert_eq!(header(&sent, "x-session-id"), Some(session.id.as_str()));
    let (_, sent) = forwarded_with_headers(
        &env,
        &req("GET", "/app/x", &[("authorization", &bearer(&token))]),
    );
    assert_eq!(
        header(&sent, "authorization"),
        Some(bearer(&token).as_str())
    );
    // Spoofed identity is still stripped.
    let (f, sent) = forwarded_with_headers(
        &env,
        &req("GET", "/assets/x", &[("x-session-user", "admin")]),
    );
    assert!(sent.get("x-session-user").is_none());
    // And Debug never shows header values.
    let dbg = format!("{f:?}");
    assert!(!dbg.contains("es1."), "{dbg}");

    let bad = Config::from_vars(|k| (k == "FORWARD_TOKEN").then(|| "yes".to_owned()));
    assert_eq!(bad.unwrap_err().var, "FORWARD_TOKEN");
}

// ---------------------------------------------------------------------------
// Refusals

#[test]
fn unauthorized_invalid_and_expired_tokens() {
    let env = Env::new(&[]);
    let (token, session) = env.login("u1");
    let api = ("accept", "application/json");

    // No token at all: 401 unauthorized, no cookie cleared.
    let r = responded(env.decide(&req("GET", "/app/x", &[api])));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookies(&r).is_empty());
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    // An empty cookie is no token.
    let d = env.decide(&req(
        "GET",
        "/app/x",
        &[api, ("cookie", &format!("{COOKIE}="))],
    ));
    assert_eq!(problem(d), (401, "unauthorized".into()));
    assert_eq!(env.ops().total(), 0);

    // Malformed and forged tokens: invalid_token without any KV call.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    // Same token, unknown key id.
    let other_key = token.replacen("es1.k1.", "es1.k9.", 1);
    for bad in [
        "garbage",
        "es1.k1.x.y.z",
        forged.as_str(),
        other_key.as_str(),
    ] {
        let d = env.decide(&req(
            "GET",
            "/app/x",
            &[api, ("authorization", &bearer(bad))],
        ));
        assert_eq!(problem(d), (401, "invalid_token".into()), "{bad}");
        let r = responded(env.decide(&req("GET", "/app/x", &[api, ("cookie", &cookie(bad))])));
        assert_eq!(r.status(), 401);
        assert_eq!(set_cookies(&r), [cleared()], "invalid cookie is cleared");
        assert!(!String::from_utf8_lossy(r.body()).contains(bad));
    }
    assert_eq!(env.ops().total(), 0);

    // Revoked: one read, invalid_token.
    block_on(env.app().sessions().unwrap().destroy(&session.id)).unwrap();
    env.kv.reset_counts();
    let r = responded(env.decide(&req("GET", "/app/x", &[api, ("cookie", &cookie(&token))])));
    assert_eq!(r.status(), 401);
    assert_eq!(set_cookies(&r), [cleared()]);
    assert_eq!(env.ops(), ops(1, 0, 0, 0));
    let d = env.decide(&req(
        "GET",
        "/app/x",
        &[api, ("authorization", &bearer(&token))],
    ));
    assert_eq!(problem(d), (401, "invalid_token".into()));

    // Expired: session_expired; bearer leaves cookies alone.
    let (token, _) = env.login("u2");
    env.clock.advance_secs(3600);
    let d = env.decide(&req(
        "GET",
        "/app/x",
        &[api, ("authorization", &bearer(&token))],
    ));
    let r = responded(d);
    assert!(set_cookies(&r).is_empty());
    assert_eq!(
        r.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    let body: Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(body["code"], "session_expired");
    let r = responded(env.decide(&req("GET", "/app/x", &[api, ("cookie", &cookie(&token))])));
    assert_eq!(set_cookies(&r), [cleared()]);
}

#[test]
fn navigations_are_redirected_to_the_login_page() {
    let env = Env::new(&[]);
    let html = ("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8");
    let r = responded(env.decide(&req("GET", "/app/page?tab=2&x=%C3%A9", &[html])));
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2Fapp%2Fpage%3Ftab%3D2%26x%3D%25C3%25A9"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(set_cookies(&r).is_empty());
    // Case of the media type does not matter.
    let r = responded(env.decide(&req("GET", "/app", &[("accept", "TEXT/HTML")])));
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/login?next=%2Fapp");

    // An expired cookie on a navigation: 302 and the cookie is cleared.
    let (token, _) = env.login("u1");
    env.clock.advance_secs(4000);
    let r = responded(env.decide(&req("GET", "/app", &[html, ("cookie", &cookie(&token))])));
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(set_cookies(&r), [cleared()]);

    // Not navigations: plain 401, as a page for what accepts HTML.
    for (method, accept) in [("POST", "text/html"), ("HEAD", "text/html")] {
        let d = env.decide(&req(method, "/app", &[("accept", accept)]));
        assert_eq!(page(d), (401, "unauthorized".into()), "{method} {accept}");
    }
    for (method, accept) in [("GET", "application/json"), ("GET", "*/*")] {
        let d = env.decide(&req(method, "/app", &[("accept", accept)]));
        assert_eq!(
            problem(d),
            (401, "unauthorized".into()),
            "{method} {accept}"
        );
    }
    let d = env.decide(&req("GET", "/app", &[]));
    assert_eq!(problem(d), (401, "unauthorized".into()));

    // Without LOGIN_URL: 401 even for navigations, as the page.
    let env = Env::new(&[("LOGIN_URL", "")]);
    let d = env.decide(&req("GET", "/app", &[html]));
    assert_eq!(page(d), (401, "unauthorized".into()));

    // An absolute LOGIN_URL keeps its own query.
    let env = Env::new(&[("LOGIN_URL", "https://id.example/login?client=web")]);
    let r = responded(env.decide(&req("GET", "//evil.example/x", &[html])));
    assert_eq!(
        r.headers()["location"],
        "https://id.example/login?client=web&next=%2Fevil.example%2Fx"
    );
}

#[test]
fn csrf_matrix_with_kv_costs() {
    let env = Env::new(&[]);
    let (token, _) = env.login("u1");
    let c = cookie(&token);
    let b = bearer(&token);
    // (method, credential header, Origin, expected, KV reads)
    type Case<'a> = (
        &'a str,
        (&'a str, &'a str),
        Option<&'a str>,
        Result<(), &'a str>,
        usize,
    );
    let cases: &[Case] = &[
        (
            "POST",
            ("cookie", &c),
            Some("https://app.example.com"),
            Ok(()),
            1,
        ),
        (
            "POST",
            ("cookie", &c),
            Some("https://APP.example.com:443"),
            Ok(()),
            1,
        ),
        (
            "PUT",
            ("cookie", &c),
            Some("https://partner.example"),
            Ok(()),
            1,
        ),
        (
            "DELETE",
            ("cookie", &c),
            Some("https://evil.example"),
            Err("csrf"),
            0,
        ),
        (
            "POST",
            ("cookie", &c),
            Some("http://app.example.com"),
            Err("csrf"),
            0,
        ),
        ("POST", ("cookie", &c), Some("null"), Err("csrf"), 0),
        ("POST", ("cookie", &c), None, Err("csrf"), 0),
        ("PATCH", ("cookie", &c), None, Err("csrf"), 0),
        (
            "POST",
            ("cookie", "__Host-session=garbage"),
            None,
            Err("csrf"),
            0,
        ),
        ("POST", ("authorization", &b), None, Ok(()), 1),
        (
            "POST",
            ("authorization", &b),
            Some("https://evil.example"),
            Ok(()),
            1,
        ),
        ("GET", ("cookie", &c), None, Ok(()), 1),
        (
            "GET",
            ("cookie", &c),
            Some("https://evil.example"),
            Ok(()),
            1,
        ),
        ("HEAD", ("cookie", &c), None, Ok(()), 1),
        (
            "OPTIONS",
            ("cookie", &c),
            Some("https://evil.example"),
            Ok(()),
            1,
        ),
    ];
    for (method, cred, origin, expected, reads) in cases {
        env.kv.reset_counts();
        let mut headers = vec![*cred];
        if let Some(o) = origin {
            headers.push(("origin", o));
        }
        let d = env.decide(&req(method, "/app/x", &headers));
        match expected {
            Ok(()) => {
                forwarded(d);
            }
            Err(code) => assert_eq!(problem(d), (403, code.to_string()), "{method} {origin:?}"),
        }
        assert_eq!(
            env.ops(),
            ops(*reads, 0, 0, 0),
            "{method} {cred:?} {origin:?}"
        );
    }
    // Public paths are not the guard's to protect.
    let d = env.decide(&req("POST", "/assets/x", &[("cookie", &c)]));
    forwarded(d);
}

#[test]
fn missing_or_invalid_token_keys() {
    for keys in ["", "garbage"] {
        let env = Env::new(&[("TOKEN_KEYS", keys)]);
        let (f, sent) = forwarded_with_headers(
            &env,
            &req("GET", "/assets/x", &[("cookie", "__Host-session=x")]),
        );
        assert!(f.session.is_none());
        assert!(sent.get("cookie").is_none());
        for path in ["/app/x", "/other", "/admin/x"] {
            let d = env.decide(&req("GET", path, &[("accept", "text/html")]));
            assert_eq!(page(d), (503, "misconfigured".into()), "{keys:?} {path}");
            let d = env.decide(&req("GET", path, &[]));
            assert_eq!(problem(d), (503, "misconfigured".into()), "{keys:?} {path}");
        }
        assert_eq!(env.ops().total(), 0);
        // The handoff is ignored with a log line.
        let mut h = issue_header(&json!({"userId": "u"}));
        let fin = env.finish(&req("GET", "/assets/x", &[]), &f, &mut h);
        assert!(fin.set_cookies.is_empty());
        assert_eq!(fin.logs.len(), 1, "{:?}", fin.logs);
        assert!(h.get("x-session-issue").is_none());
    }
}

#[test]
fn store_failure_fails_closed() {
    let env = Env::new(&[]);
    let (token, _) = env.login("u1");
    env.kv
        .fail_with(Some(StoreError::Unavailable("KV is down".into())));
    for headers in [
        [("cookie", cookie(&token))],
        [("authorization", bearer(&token))],
    ] {
        let (k, v) = &headers[0];
        let r = responded(env.decide(&req("GET", "/app/x", &[(k, v), ("accept", "text/html")])));
        assert_eq!(page_of(&r), (503, "store_unavailable".into()));
        assert!(!String::from_utf8_lossy(r.body()).contains("KV is down"));
        assert!(set_cookies(&r).is_empty());
        let r = responded(env.decide(&req("GET", "/app/x", &[(k, v)])));
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["code"], "store_unavailable");
        assert!(!body.to_string().contains("KV is down"));
        assert!(set_cookies(&r).is_empty());
    }
    // Public paths still work (no KV call).
    forwarded(env.decide(&req("GET", "/assets/x", &[])));
    // Forged tokens are refused before the store is asked.
    let d = env.decide(&req(
        "GET",
        "/app/x",
        &[("authorization", "Bearer es1.k1.a.b.c")],
    ));
    assert_eq!(problem(d), (401, "invalid_token".into()));
}

#[test]
fn exact_kv_costs() {
    let env = Env::new(&[]);
    let (token, _) = env.login("u1");
    forwarded(env.decide(&req("GET", "/app/x", &[("cookie", &cookie(&token))])));
    assert_eq!(env.ops(), ops(1, 0, 0, 0));
    env.kv.reset_counts();
    forwarded(env.decide(&req("GET", "/assets/x", &[("cookie", &cookie(&token))])));
    assert_eq!(env.ops().total(), 0);
    // Even when sliding is due, decide does not write.
    env.clock.advance_secs(3000);
    let f = forwarded(env.decide(&req("GET", "/app/x", &[("cookie", &cookie(&token))])));
    assert!(f.slide.is_some());
    assert_eq!(env.ops(), ops(1, 0, 0, 0));
}

// ---------------------------------------------------------------------------
// Sliding expiration

#[test]
fn sliding_expiration() {
    let env = Env::new(&[]);
    let (token, session) = env.login("u1");
    assert_eq!(session.lifetime.expires_at, T0 + 3_600_000);

    // Not due: more than half the idle TTL (1800 s) left.
    env.clock.advance_secs(1799);
    let head = req("GET", "/app/x", &[("cookie", &cookie(&token))]);
    let f = forwarded(env.decide(&head));
    assert!(f.slide.is_none() && f.set_cookie.is_none());
    let fin = env.finish(&head, &f, &mut HeaderMap::new());
    assert!(fin.after.is_none() && fin.set_cookies.is_empty() && fin.logs.is_empty());

    // Due: the session slides to now + idle TTL; the cookie follows.
    env.clock.advance_secs(2);
    let now = T0 + 1_801_000;
    let (f, sent) = forwarded_with_headers(&env, &head);
    let touched = f.slide.clone().expect("due");
    assert_eq!(touched.lifetime.expires_at, now + 3_600_000);
    assert_eq!(touched.id, session.id);
    let (same, max_age) = issued(f.set_cookie.as_deref().unwrap());
    assert_eq!(same, token);
    assert_eq!(max_age, 3600);
    // Identity headers come from the session either way.
    assert_eq!(header(&sent, "x-session-id"), Some(session.id.as_str()));

    assert_eq!(env.ops(), ops(2, 0, 0, 0), "two decisions, one read each");
    env.kv.reset_counts();
    let mut response = HeaderMap::new();
    let fin = env.finish(&head, &f, &mut response);
    // The final list the Worker appends: the sliding re-issue.
    assert_eq!(
        fin.set_cookies,
        Vec::from_iter(f.set_cookie.clone()),
        "the sliding cookie is in the final list"
    );
    assert!(fin.keeps_sliding());
    let save = fin.after.expect("sliding write");
    assert_eq!(env.ops().total(), 0, "finish without handoff costs nothing");
    let slid = support::run_after(&save, &env.app()).unwrap();
    assert!(matches!(slid, Slide::Written(_)));
    assert_eq!(
        env.check(&token).unwrap().lifetime.expires_at,
        now + 3_600_000
    );
    // And the old expiry no longer applies.
    env.clock.advance_secs(2000);
    assert!(env.check(&token).is_ok());

    // Bearer: slides, but no cookie.
    env.clock.advance_secs(1000);
    let head = req("GET", "/app/x", &[("authorization", &bearer(&token))]);
    let f = forwarded(env.decide(&head));
    assert!(f.slide.is_some());
    assert!(f.set_cookie.is_none());
    let fin = env.finish(&head, &f, &mut HeaderMap::new());
    assert!(fin.after.is_some() && fin.set_cookies.is_empty());
}

#[test]
fn sliding_is_capped_at_the_absolute_expiry() {
    let env = Env::new(&[]);
    let (token, session) = env.create(NewSession {
        idle_ttl: Some(3600),
        absolute_ttl: Some(4000),
        ..NewSession::for_user("u1")
    });
    assert_eq!(session.lifetime.absolute_expires_at, T0 + 4_000_000);
    env.clock.advance_secs(2000);
    let f = forwarded(env.decide(&req("GET", "/app/x", &[("cookie", &cookie(&token))])));
    let touched = f.slide.expect("due");
    assert_eq!(
        touched.lifetime.expires_at,
        session.lifetime.absolute_expires_at
    );
    assert_eq!(issued(f.set_cookie.as_deref().unwrap()).1, 2000);
    block_on(env.app().sessions().unwrap().slide(&touched)).unwrap();
    // Once capped, nothing more to slide.
    env.clock.advance_secs(1500);
    let f = forwarded(env.decide(&req("GET", "/app/x", &[("cookie", &cookie(&token))])));
    assert!(f.slide.is_none() && f.set_cookie.is_none());
    env.clock.advance_secs(500);
    assert!(env.check(&token).unwrap_err().contains("Expired"));
}

// ---------------------------------------------------------------------------
// Origin handoff

#[test]
fn issue_creates_a_session_and_sets_its_cookie() {
    let env = Env::new(&[]);
    let head = req(
        "POST",
        "/assets/login",
        &[("user-agent", "Mozilla/5.0 test"), ("cookie", "other=1")],
    );
    let f = forwarded(env.decide(&head));
    let mut response = issue_header(&json!({
        "userId": "alice", "label": "laptop", "meta": {"roles": ["admin"]},
        "idleTtl": 600, "absoluteTtl": 7200
    }));
    let fin = env.finish(&head, &f, &mut response);
    assert!(fin.logs.is_empty(), "{:?}", fin.logs);
    assert!(response.get("x-session-issue").is_none());
    assert_eq!(header(&response, "content-type"), Some("text/html"));
    assert!(fin.after.is_none());
    assert_eq!(fin.set_cookies.len(), 1);
    let (token, max_age) = issued(&fin.set_cookies[0]);
    assert_eq!(max_age, 600);
    assert_eq!(env.ops(), ops(0, 2, 0, 0), "no current token: writes only");
    let s = env.check(&token).unwrap();
    assert_eq!(s.user_id, "alice");
    assert_eq!(s.label.as_deref(), Some("laptop"));
    assert!(s.has_role("admin"));
    assert_eq!(s.client.user_agent.as_deref(), Some("Mozilla/5.0 test"));
    assert_eq!(s.client.country.as_deref(), Some("FR"));
    assert_eq!(s.lifetime.absolute_expires_at, T0 + 7_200_000);
    assert!(!format!("{fin:?}").contains("es1."));

    // The new cookie works on a guarded path.
    let (_, sent) = forwarded_with_headers(
        &env,
        &req("GET", "/admin/x", &[("cookie", &cookie(&token))]),
    );
    assert_eq!(header(&sent, "x-session-user"), Some("alice"));
}

#[test]
fn issue_replaces_the_current_session() {
    let env = Env::new(&[]);
    let (old, _) = env.login("u1");
    // Guarded path, sliding due: the slide must not bring the old one back.
    env.clock.advance_secs(2000);
    let head = req(
        "POST",
        "/app/switch",
        &[
            ("cookie", &cookie(&old)),
            ("origin", "https://app.example.com"),
        ],
    );
    let f = forwarded(env.decide(&head));
    assert!(f.slide.is_some() && f.set_cookie.is_some());
    env.kv.reset_counts();
    let mut response = issue_header(&json!({"userId": "u1", "label": "new"}));
    let fin = env.finish(&head, &f, &mut response);
    assert!(fin.logs.is_empty(), "{:?}", fin.logs);
    assert!(
        !fin.keeps_sliding(),
        "sliding write and its cookie suppressed"
    );
    assert_eq!(fin.set_cookies.len(), 1, "only the new cookie");
    let (new, max_age) = issued(&fin.set_cookies[0]);
    assert_eq!(max_age, 3600);
    assert_ne!(new, old);
    assert_eq!(env.ops(), ops(0, 2, 2, 0));
    assert!(env.check(&old).unwrap_err().contains("InvalidToken"));
    assert_eq!(env.check(&new).unwrap().label.as_deref(), Some("new"));

    // Public path: the current token is verified now, then replaced.
    let (old, _) = env.login("u2");
    let head = req("POST", "/assets/login", &[("authorization", &bearer(&old))]);
    let f = forwarded(env.decide(&head));
    let mut response = issue_header(&json!({"userId": "u3"}));
    let fin = env.finish(&head, &f, &mut response);
    assert_eq!(env.ops(), ops(1, 2, 2, 0));
    assert!(env.check(&old).is_err());
    assert_eq!(
        env.check(&issued(&fin.set_cookies[0]).0).unwrap().user_id,
        "u3"
    );

    // Public path with a dead or forged token: ignored, the issue goes on.
    for stale in [old.as_str(), "garbage"] {
        let head = req(
            "POST",
            "/assets/login",
            &[
                ("cookie", &cookie(stale)),
                ("origin", "https://app.example.com"),
            ],
        );
        let f = forwarded(env.decide(&head));
        let fin = env.finish(&head, &f, &mut issue_header(&json!({"userId": "u4"})));
        assert!(fin.logs.is_empty(), "{:?}", fin.logs);
        assert_eq!(fin.set_cookies.len(), 1);
        env.kv.reset_counts();
    }
}

#[test]
fn revoke_current() {
    let env = Env::new(&[]);
    let (token, _) = env.login("u1");
    let (other, _) = env.login("u1");
    env.clock.advance_secs(2000);
    let head = req("GET", "/app/logout", &[("cookie", &cookie(&token))]);
    let f = forwarded(env.decide(&head));
    assert!(f.slide.is_some());
    let mut response = revoke_header("current");
    let fin = env.finish(&head, &f, &mut response);
    assert!(fin.logs.is_empty(), "{:?}", fin.logs);
    assert!(response.get("x-session-revoke").is_none());
    assert_eq!(fin.set_cookies, [cleared()]);
    assert!(fin.after.is_none(), "sliding write suppressed");
    assert_eq!(env.ops(), ops(1, 0, 2, 0));
    assert!(env.check(&token).is_err());
    assert!(env.check(&other).is_ok(), "other sessions untouched");

    // Public path: verified now; without any session only the cookie is cleared.
    let head = req(
        "POST",
        "/assets/logout",
        &[("authorization", &bearer(&other))],
    );
    let f = forwarded(env.decide(&head));
    let fin = env.finish(&head, &f, &mut revoke_header(" Current "));
    assert_eq!(fin.set_cookies, [cleared()]);
    assert!(env.check(&other).is_err());
    let head = req("POST", "/assets/logout", &[]);
    let f = forwarded(env.decide(&head));
    env.kv.reset_counts();
    let fin = env.finish(&head, &f, &mut revoke_header("current"));
    assert_eq!(fin.set_cookies, [cleared()]);
    assert!(fin.logs.is_empty());
    assert_eq!(env.ops().total(), 0);
}

#[test]
fn revoke_all() {
    let env = Env::new(&[]);
    let tokens: Vec<String> = (0..3).map(|_| env.login("u1").0).collect();
    let (stranger, _) = env.login("u2");
    let head = req(
        "DELETE",
        "/app/sessions",
        &[("authorization", &bearer(&tokens[1]))],
    );
    let f = forwarded(env.decide(&head));
    let fin = env.finish(&head, &f, &mut revoke_header("all"));
    assert!(fin.logs.is_empty(), "{:?}", fin.logs);
    assert_eq!(fin.set_cookies, [cleared()]);
    assert!(fin.after.is_none());
    for t in &tokens {
        assert!(env.check(t).is_err());
    }
    assert!(env.check(&stranger).is_ok());
}

#[test]
fn revoke_then_issue() {
    let env = Env::new(&[]);
    let (a, _) = env.login("u1");
    let (b, _) = env.login("u1");
    let head = req(
        "POST",
        "/assets/relogin",
        &[
            ("cookie", &cookie(&a)),
            ("origin", "https://app.example.com"),
        ],
    );
    let f = forwarded(env.decide(&head));
    let mut response = issue_header(&json!({"userId": "u1"}));
    response.insert("x-session-revoke", HeaderValue::from_static("all"));
    let fin = env.finish(&head, &f, &mut response);
    assert!(fin.logs.is_empty(), "{:?}", fin.logs);
    assert!(response.get("x-session-issue").is_none());
    assert!(response.get("x-session-revoke").is_none());
    // The new session survives the revocation, which ran first.
    assert_eq!(fin.set_cookies.len(), 1);
    let (new, _) = issued(&fin.set_cookies[0]);
    assert!(env.check(&new).is_ok());
    assert!(env.check(&a).is_err() && env.check(&b).is_err());
    assert!(fin.after.is_none());

    // Revoke current + issue: the old one is destroyed once.
    let (c, _) = env.login("u9");
    let head = req("GET", "/app/x", &[("cookie", &cookie(&c))]);
    let f = forwarded(env.decide(&head));
    env.kv.reset_counts();
    let mut response = issue_header(&json!({"userId": "u9"}));
    response.insert("x-session-revoke", HeaderValue::from_static("current"));
    let fin = env.finish(&head, &f, &mut response);
    assert_eq!(env.ops(), ops(0, 2, 2, 0));
    assert!(env.check(&c).is_err());
    assert!(env.check(&issued(&fin.set_cookies[0]).0).is_ok());
}

#[test]
fn malformed_handoff_headers_are_logged_and_ignored() {
    let env = Env::new(&[]);
    let (token, _) = env.login("u1");
    env.clock.advance_secs(2000);
    let head = req("GET", "/app/x", &[("cookie", &cookie(&token))]);
    let f = forwarded(env.decide(&head));
    assert!(f.set_cookie.is_some());
    let bad_issues: Vec<HeaderValue> = vec![
        HeaderValue::from_static("not json"),
        HeaderValue::from_static("{}"),
        HeaderValue::from_static(r#"{"userId":"u","admin":true}"#),
        HeaderValue::from_static(r#"{"userId":""}"#),
        HeaderValue::from_static(r#"{"userId":"u","idleTtl":10}"#),
        HeaderValue::from_static(r#"{"userId":"u","meta":"x"}"#),
        HeaderValue::from_bytes(b"{\"userId\":\"\xc3\xa9\"}").unwrap(),
        HeaderValue::from_str(&format!(r#"{{"userId":"{}"}}"#, "u".repeat(9000))).unwrap(),
    ];
    for value in bad_issues {
        env.kv.reset_counts();
        let mut response = HeaderMap::new();
        response.insert("x-session-issue", value.clone());
        let fin = env.finish(&head, &f, &mut response);
        assert!(response.is_empty(), "{value:?}");
        assert_eq!(fin.logs.len(), 1, "{value:?}: {:?}", fin.logs);
        assert!(
            fin.logs[0].starts_with("X-Session-Issue ignored: "),
            "{:?}",
            fin.logs
        );
        assert_eq!(
            fin.set_cookies,
            Vec::from_iter(f.set_cookie.clone()),
            "no new cookie: the sliding one only"
        );
        assert!(fin.keeps_sliding(), "sliding write and cookie kept");
        assert_eq!(env.ops().writes, 0, "{value:?}");
    }
    // Twice: ignored.
    let mut response = HeaderMap::new();
    response.append(
        "x-session-issue",
        HeaderValue::from_static(r#"{"userId":"a"}"#),
    );
    response.append(
        "x-session-issue",
        HeaderValue::from_static(r#"{"userId":"b"}"#),
    );
    let fin = env.finish(&head, &f, &mut response);
    assert!(response.is_empty());
    assert!(fin.logs[0].contains("2 times"), "{:?}", fin.logs);
    // A bad revoke value: nothing revoked, the answer replaced (see
    // joined_revoke_lines_act_on_the_strongest_or_replace_the_answer).
    for value in ["everything", "current, none", ""] {
        let mut response = revoke_header(value);
        let fin = env.finish(&head, &f, &mut response);
        assert!(response.get("x-session-revoke").is_none());
        assert_eq!(fin.logs.len(), 1, "{value:?}");
        assert_eq!(replaced(&fin).1, "origin_unavailable");
        assert!(fin.set_cookies.is_empty() && !fin.keeps_sliding());
    }
    assert!(env.check(&token).is_ok());
    // A bad issue next to a good revoke: the revoke still happens.
    let mut response = revoke_header("current");
    response.insert("x-session-issue", HeaderValue::from_static("{"));
    let fin = env.finish(&head, &f, &mut response);
    assert!(response.get("x-session-issue").is_none());
    assert_eq!(fin.logs.len(), 1);
    assert_eq!(fin.set_cookies, [cleared()]);
    assert!(env.check(&token).is_err());
}

#[test]
fn store_failures_during_the_handoff_fail_closed() {
    let env = Env::new(&[]);
    let (token, _) = env.login("u1");
    env.clock.advance_secs(2000);
    let head = req("GET", "/app/x", &[("cookie", &cookie(&token))]);
    let f = forwarded(env.decide(&head));
    let down = || Some(StoreError::Unavailable("down".into()));
    let failed = |fin: &Finish| {
        let r = fin
            .failure_response()
            .expect("the origin's answer is replaced");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["code"], "store_unavailable");
        let cookies: Vec<_> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(cookies, fin.set_cookies, "the problem carries the cookies");
        cookies
    };

    // The issue fails: 503, no cookie but the sliding one, the old session intact.
    env.kv.fail_op(StoreOp::Write, down());
    let fin = env.finish(&head, &f, &mut issue_header(&json!({"userId": "u1"})));
    assert_eq!(fin.logs.len(), 1);
    assert!(
        fin.logs[0].contains("creating the session failed"),
        "{:?}",
        fin.logs
    );
    assert_eq!(failed(&fin), Vec::from_iter(f.set_cookie.clone()));
    assert!(fin.keeps_sliding(), "the old session still slides");
    env.kv.fail_op(StoreOp::Write, None);
    assert!(env.check(&token).is_ok());

    // The revoke fails: 503 (the client is not told it signed out), the
    // cookie is still cleared, nothing slides and nothing is issued.
    for revoke in ["current", "all"] {
        env.kv.fail_op(StoreOp::Delete, down());
        env.kv.fail_op(StoreOp::List, down());
        let mut response = revoke_header(revoke);
        response.insert("x-session-issue", r#"{"userId":"u1"}"#.parse().unwrap());
        let before = env.kv.len();
        let fin = env.finish(&head, &f, &mut response);
        assert!(response.get("x-session-revoke").is_none());
        assert_eq!(fin.logs.len(), 1, "{:?}", fin.logs);
        assert_eq!(failed(&fin), [cleared()], "{revoke}");
        assert!(fin.after.is_none());
        env.kv.fail_op(StoreOp::Delete, None);
        env.kv.fail_op(StoreOp::List, None);
        assert_eq!(env.kv.len(), before, "{revoke}: nothing issued");
    }

    // Verifying the current token fails on a public path: a revoke cannot
    // know what to revoke, so it fails closed too.
    let public = req(
        "POST",
        "/assets/login",
        &[
            ("cookie", &cookie(&token)),
            ("origin", "https://app.example.com"),
        ],
    );
    let pf = forwarded(env.decide(&public));
    env.kv.fail_op(StoreOp::Read, down());
    let fin = env.finish(&public, &pf, &mut revoke_header("all"));
    assert_eq!(failed(&fin), [cleared()]);
    // An issue still happens: only destroying the replaced session is
    // skipped, and logged.
    let fin = env.finish(&public, &pf, &mut issue_header(&json!({"userId": "u1"})));
    assert!(fin.failure.is_none());
    assert_eq!(fin.logs.len(), 1, "{:?}", fin.logs);
    assert!(fin.logs[0].contains("replaced session"), "{:?}", fin.logs);
    assert_eq!(fin.set_cookies.len(), 1);
    env.kv.fail_op(StoreOp::Read, None);
    assert!(env.check(&token).is_ok(), "never revoked by a failed call");
}

#[test]
fn client_sent_handoff_headers_are_never_honored() {
    let env = Env::new(&[]);
    let (token, _) = env.login("u1");
    let head = req(
        "GET",
        "/app/x",
        &[
            ("cookie", &cookie(&token)),
            ("x-session-issue", r#"{"userId":"admin"}"#),
            ("x-session-revoke", "all"),
        ],
    );
    let (f, sent) = forwarded_with_headers(&env, &head);
    assert!(sent.get("x-session-issue").is_none());
    assert!(sent.get("x-session-revoke").is_none());
    let fin = env.finish(&head, &f, &mut HeaderMap::new());
    assert!(fin.set_cookies.is_empty() && fin.after.is_none() && fin.logs.is_empty());
    assert!(env.check(&token).is_ok());
    assert_eq!(env.kv.len(), 2, "no session created");
}

// ---------------------------------------------------------------------------
// Security issue 8: races of the sliding write, spoofed and joined headers

/// A session of `u1` with role `admin`, the clock moved so that sliding is due.
fn due_admin(env: &Env) -> (String, Session) {
    let (token, session) = env.login_with_roles("u1", &["admin"]);
    env.clock.advance_secs(1801);
    (token, session)
}

#[test]
fn a_revocation_while_the_request_is_at_the_origin_is_not_undone() {
    // Finding 2: the request's sliding write used to put the old record back.
    for revoke in [
        "self-service logout",
        "log out everywhere",
        "admin delete",
        "other isolate",
    ] {
        let env = Env::new(&[]);
        let (token, session) = due_admin(&env);
        let head = req("GET", "/app/slow", &[("cookie", &cookie(&token))]);
        let f = forwarded(env.decide(&head));
        assert!(f.slide.is_some(), "sliding due");
        // ... the origin is slow; meanwhile the session is revoked.
        let app = env.app();
        let other = env.other_isolate();
        let sessions = if revoke == "other isolate" {
            other.sessions().unwrap()
        } else {
            app.sessions().unwrap()
        };
        match revoke {
            "self-service logout" => block_on(sessions.destroy_session(&session)).unwrap(),
            "log out everywhere" => {
                assert_eq!(block_on(sessions.destroy_user("u1", None)).unwrap(), 1)
            }
            _ => assert!(block_on(sessions.destroy(&session.id)).unwrap()),
        }
        let fin = env.finish(&head, &f, &mut HeaderMap::new());
        let save = fin
            .after
            .expect("the request still wants its sliding write");
        env.kv.reset_counts();
        let slid = support::run_after(&save, &env.app()).unwrap();
        assert!(matches!(slid, Slide::Skipped), "{revoke}: {slid:?}");
        assert_eq!(env.ops(), ops(1, 0, 0, 0), "{revoke}: re-read, no write");
        assert!(
            env.check(&token).is_err(),
            "{revoke}: the session stays revoked"
        );
        assert!(
            env.kv.is_empty(),
            "{revoke}: nothing written back: {:?}",
            env.kv.keys()
        );
    }
}

#[test]
fn an_admin_change_while_the_request_is_at_the_origin_is_kept() {
    // Finding 3: an admin removed a role; the sliding write put it back.
    let env = Env::new(&[]);
    let (token, session) = due_admin(&env);
    let head = req(
        "GET",
        "/admin/report",
        &[("authorization", &bearer(&token))],
    );
    let f = forwarded(env.decide(&head));
    let app = env.other_isolate();
    block_on(
        app.sessions()
            .unwrap()
            .update(&session.id, &json!({"meta": {"roles": []}})),
    )
    .unwrap();
    let fin = env.finish(&head, &f, &mut HeaderMap::new());
    let slid = support::run_after(&fin.after.unwrap(), &env.app()).unwrap();
    assert!(matches!(slid, Slide::Written(_)));
    let now = env.check(&token).unwrap();
    assert_eq!(
        now.meta.to_value(),
        json!({"roles": []}),
        "the role stays removed"
    );
    assert_eq!(
        now.lifetime.expires_at,
        T0 + 1_801_000 + 3_600_000,
        "and the expiry still slid"
    );
    env.clock.advance_secs(1);
    assert_eq!(problem(env.decide(&head)), (403, "forbidden".into()));
}

#[test]
fn forty_overlapping_requests_make_one_sliding_write() {
    // Finding 4: every overlapping request used to make its own write.
    let env = Env::new(&[]);
    let (token, _) = due_admin(&env);
    let head = req("GET", "/app/x", &[("cookie", &cookie(&token))]);
    let forwards: Vec<Forward> = (0..40).map(|_| forwarded(env.decide(&head))).collect();
    assert_eq!(forwards.iter().filter(|f| f.slide.is_some()).count(), 1);
    assert_eq!(
        forwards.iter().filter(|f| f.set_cookie.is_some()).count(),
        1
    );
    env.kv.reset_counts();
    for f in &forwards {
        if let Some(save) = env.finish(&head, f, &mut HeaderMap::new()).after {
            support::run_after(&save, &env.app()).unwrap();
        }
    }
    assert_eq!(
        env.ops(),
        ops(1, 2, 0, 0),
        "one re-read and one write of both keys"
    );
    // Another isolate does not know of the claim: it may write once too.
    let other = env.other_isolate();
    let s = block_on(other.sessions().unwrap().verify(&token)).unwrap();
    assert!(other.claims().claim(&s).is_none(), "already slid: not due");
}

#[test]
fn identity_headers_spoofed_with_underscores_are_stripped() {
    // Finding 5: `X_Session_User` reached the origin, which CGI-style stacks
    // read as `HTTP_X_SESSION_USER`, the identity.
    let env = Env::new(&[]);
    let (token, session) = env.login("alice");
    let spoofs = [
        ("X_Session_User", "root"),
        ("x_session_meta", "eyJyb2xlcyI6WyJhZG1pbiJdfQ"),
        ("X-Session_Id", "forged"),
        ("x_session-user", "root2"),
        ("X_SESSION_ISSUE", "{}"),
    ];
    for (path, auth) in [("/assets/a.js", None), ("/app/x", Some(bearer(&token)))] {
        let mut headers: Vec<(&str, &str)> = spoofs.to_vec();
        if let Some(auth) = &auth {
            headers.push(("authorization", auth));
        }
        let (_, sent) = forwarded_with_headers(&env, &req("GET", path, &headers));
        let mut names: Vec<&str> = sent
            .keys()
            .map(|k| k.as_str())
            .filter(|k| k.replace('_', "-").starts_with("x-session-"))
            .collect();
        names.sort_unstable();
        if auth.is_some() {
            assert_eq!(
                names,
                [
                    "x-session-auth-time",
                    "x-session-id",
                    "x-session-meta",
                    "x-session-user"
                ],
                "{path}"
            );
            assert_eq!(header(&sent, "x-session-user"), Some("alice"));
            assert_eq!(header(&sent, "x-session-id"), Some(session.id.as_str()));
        } else {
            assert!(names.is_empty(), "{path}: {names:?}");
        }
    }
}

#[test]
fn override_headers_are_never_forwarded() {
    // A GET-only public rule must not reach the origin as another method, nor
    // a public path as another path.
    let env = Env::new(&[]);
    let headers = [
        ("X-HTTP-Method-Override", "DELETE"),
        ("x-http-method", "PUT"),
        ("X-Method-Override", "PATCH"),
        ("X_HTTP_Method_Override", "DELETE"),
        ("X-Original-URL", "/admin/x"),
        ("X_Rewrite_URL", "/admin/x"),
        ("x-other", "kept"),
    ];
    let (_, sent) = forwarded_with_headers(&env, &req("GET", "/public", &headers));
    let names: Vec<&str> = sent.keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["x-other"]);
}

#[test]
fn joined_cookie_lines_are_stripped_and_never_read() {
    // Finding 6: `Cookie: a=1` + `Cookie: __Host-session=…` arrive joined as
    // `a=1, __Host-session=…`: the token reached the origin of public paths.
    // It is stripped now; it is not read (review R8-1: the same text is what
    // a tossed cookie `a` carrying a planted token looks like).
    let env = Env::new(&[]);
    let (token, session) = env.login("alice");
    let joined = format!("a=1, {}, b=2", cookie(&token));
    for path in ["/assets/a.js", "/public"] {
        let (_, sent) = forwarded_with_headers(&env, &req("GET", path, &[("cookie", &joined)]));
        assert_eq!(header(&sent, "cookie"), Some("a=1; b=2"), "{path}");
    }
    assert_eq!(
        problem(env.decide(&req("GET", "/app/x", &[("cookie", &joined)]))),
        (401, "unauthorized".into())
    );
    // A stale (forged) cookie first: the valid one is used, no extra read.
    let stale = format!("{}x", &token[..token.len() - 1]);
    let two = format!("{}; {}", cookie(&stale), cookie(&token));
    env.kv.reset_counts();
    let (f, sent) = forwarded_with_headers(&env, &req("GET", "/app/x", &[("cookie", &two)]));
    assert_eq!(f.session.unwrap().id, session.id);
    assert_eq!(env.ops(), ops(1, 0, 0, 0));
    assert!(
        header(&sent, "cookie").is_none(),
        "both occurrences stripped"
    );
    // A joined Authorization: our bearer is used and removed, the origin's Basic kept.
    let auth = format!("Basic dXNlcjpwdw==, {}", bearer(&token));
    let (f, sent) =
        forwarded_with_headers(&env, &req("GET", "/app/x", &[("authorization", &auth)]));
    assert_eq!(f.token_source, Some(TokenSource::Bearer));
    assert_eq!(header(&sent, "authorization"), Some("Basic dXNlcjpwdw=="));
}

#[test]
fn a_token_planted_in_another_cookies_value_is_never_used() {
    // Review R8-1: a sibling subdomain sets `pref=1, __Host-session=<its
    // token>` with a longer path, so the browser sends it first.
    let env = Env::new(&[]);
    let (attacker, _) = env.login("mallory");
    let (victim, victim_session) = env.login("victim");
    let tossed = format!("pref=1, {}; {}", cookie(&attacker), cookie(&victim));
    let (f, sent) = forwarded_with_headers(&env, &req("GET", "/app/inbox", &[("cookie", &tossed)]));
    assert_eq!(header(&sent, "x-session-user"), Some("victim"));
    assert_eq!(f.session.unwrap().id, victim_session.id);
    assert!(!format!("{:?}", sent.get_all("cookie").iter().collect::<Vec<_>>()).contains("es1."));
    // A visitor without a session is not signed in as the attacker.
    let only = format!("pref=1, {}", cookie(&attacker));
    assert_eq!(
        problem(env.decide(&req("GET", "/app/inbox", &[("cookie", &only)]))),
        (401, "unauthorized".into())
    );
}

#[test]
fn a_claimed_sliding_write_that_never_runs_does_not_stop_sliding() {
    // Review R8-2: the claim of a request whose write never ran (origin
    // unreachable, client gone) used to outlive the session.
    let env = Env::new(&[]);
    let (token, _) = env.login("alice");
    let head = req("GET", "/app/x", &[("cookie", &cookie(&token))]);
    env.clock.advance_secs(1801); // 1799 s left of 3600: sliding due
    assert!(
        forwarded(env.decide(&head)).slide.is_some(),
        "claimed, then lost"
    );
    let mut statuses = Vec::new();
    for _ in 0..7 {
        env.clock.advance_secs(300); // the user keeps using the app
        match env.decide(&head) {
            GuardDecision::Forward(f) => {
                if let Some(claimed) = f.slide {
                    block_on(env.app().sessions().unwrap().slide(&claimed)).unwrap();
                }
                statuses.push(200);
            }
            GuardDecision::Respond(r) => statuses.push(r.status().as_u16()),
        }
    }
    assert_eq!(statuses, [200; 7]);
    // Abandoned explicitly (the Worker's 502 path), the next request claims at once.
    env.clock.advance_secs(1000);
    let lost = forwarded(env.decide(&head));
    assert!(lost.slide.is_some());
    session_http::guard::abandon(&env.app(), &lost);
    assert!(
        forwarded(env.decide(&head)).slide.is_some(),
        "claimable again"
    );
}

#[test]
fn a_bad_token_keys_never_shows_its_value() {
    // Review R8-7: the duplicated key id, part of the secret, was quoted in
    // the 503 every session route answers.
    let key = STANDARD.encode([7u8; 32]);
    let value = format!("Hunter2SecretPart:{key},Hunter2SecretPart:{key}");
    let env = Env::new(&[("TOKEN_KEYS", &value)]);
    let r = responded(env.decide(&req("GET", "/app/x", &[])));
    let body = String::from_utf8_lossy(r.body()).into_owned();
    assert_eq!(r.status().as_u16(), 503, "{body}");
    assert!(
        body.contains("TOKEN_KEYS") && !body.contains("Hunter2SecretPart"),
        "{body}"
    );
}

#[test]
fn a_misconfiguration_never_shows_the_value() {
    // Finding 7: a 503 echoed ORIGIN_URL's password to every client.
    let vars: HashMap<String, String> = [
        ("TOKEN_KEYS".to_owned(), key_ring()),
        (
            "ORIGIN_URL".to_owned(),
            "http://user:PASSWORD@origin.example/?x".to_owned(),
        ),
    ]
    .into_iter()
    .collect();
    let e = Config::from_vars(|k| vars.get(k).cloned()).unwrap_err();
    assert_eq!(e.var, "ORIGIN_URL");
    assert!(!e.to_string().contains("PASSWORD"), "{e}");
}

#[test]
fn without_origin_url_a_local_host_is_refused_instead_of_looping_into_the_worker() {
    let env = Env::new(&[("ORIGIN_URL", "")]);
    let (token, _) = env.login("alice");
    let local = |url: &str, headers: &[(&str, &str)]| {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        RequestHead::new(Method::GET, HttpUrl::parse(url).unwrap(), map, None)
    };
    let auth = bearer(&token);
    for url in [
        "http://127.0.0.1:8787/app/page",
        "http://localhost:8787/assets/app.js",
        "http://[::1]:8787/app/x",
    ] {
        let r = responded(env.decide(&local(url, &[("authorization", &auth)])));
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{url}");
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["code"], "misconfigured");
        assert!(
            body["detail"].as_str().unwrap().contains("ORIGIN_URL"),
            "{body}"
        );
    }
    assert_eq!(env.ops().reads, 0, "refused before any KV read");
    // A real host goes on to the route's own origin, as the contract says.
    let f = forwarded(env.decide(&req("GET", "/app/page", &[("authorization", &auth)])));
    assert_eq!(f.url, "https://app.example.com/app/page");
    // With ORIGIN_URL set, local hosts forward there.
    let env = Env::new(&[]);
    let (token, _) = env.login("alice");
    let f = forwarded(env.decide(&local(
        "http://127.0.0.1:8787/app/page",
        &[("authorization", &bearer(&token))],
    )));
    assert_eq!(f.url, "https://origin.internal/base/app/page");
}

// ---------------------------------------------------------------------------
// Issue 18: cross-site handoffs, joined header lines, caches, log lines

const OWN: &str = "https://app.example.com";

/// `(status, code)` of the problem that replaced the origin's answer, and
/// its `Set-Cookie` values.
#[track_caller]
fn replaced(fin: &Finish) -> (u16, String, Vec<String>) {
    let r = fin
        .failure_response()
        .expect("the origin's answer is replaced");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = serde_json::from_slice(r.body()).unwrap();
    (
        r.status().as_u16(),
        body["code"].as_str().unwrap().to_owned(),
        set_cookies(&r),
    )
}

#[test]
fn a_cross_site_handoff_is_refused_with_nothing_written() {
    let env = Env::new(&[]);
    let (victim, _) = env.login("victim");
    let with_cookie = cookie(&victim);
    let login = || issue_header(&json!({"userId": "mallory"}));
    let logout = || revoke_header("all");
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);
    let refused: Vec<Case> = vec![
        // The red team's forced sign-out: the cookie, as a non-browser sends it.
        ("POST", "/assets/logout", vec![("cookie", &with_cookie)]),
        (
            "POST",
            "/assets/logout",
            vec![("cookie", &with_cookie), ("origin", "https://evil.example")],
        ),
        (
            "POST",
            "/assets/logout",
            vec![("cookie", &with_cookie), ("origin", "null")],
        ),
        // The cookie rides along with a bearer token: still the cookie's rule.
        (
            "POST",
            "/assets/logout",
            vec![("cookie", &with_cookie), ("authorization", "Bearer x")],
        ),
        // Login CSRF: no cookie, a foreign Origin or Sec-Fetch-Site.
        (
            "POST",
            "/assets/login",
            vec![("origin", "https://evil.example")],
        ),
        ("POST", "/assets/login", vec![("origin", "null")]),
        (
            "PUT",
            "/assets/login",
            vec![("sec-fetch-site", "cross-site")],
        ),
        (
            "POST",
            "/assets/login",
            vec![("origin", OWN), ("sec-fetch-site", "cross-site")],
        ),
        (
            "POST",
            "/assets/login",
            vec![("origin", "https://app.example.com.evil.example")],
        ),
    ];
    for (method, path, headers) in &refused {
        for mut response in [login(), logout(), {
            let mut both = login();
            both.insert("x-session-revoke", HeaderValue::from_static("current"));
            both
        }] {
            let head = req(method, path, headers);
            let f = forwarded(env.decide(&head));
            env.kv.reset_counts();
            let fin = env.finish(&head, &f, &mut response);
            let (status, code, cookies) = replaced(&fin);
            assert_eq!(
                (status, code.as_str()),
                (403, "csrf"),
                "{method} {path} {headers:?}"
            );
            assert!(
                cookies.is_empty() && fin.set_cookies.is_empty(),
                "no cookie set nor cleared"
            );
            assert!(fin.after.is_none());
            assert_eq!(
                env.ops().total(),
                0,
                "{method} {path} {headers:?}: no store call"
            );
            assert!(
                response.get("x-session-issue").is_none()
                    && response.get("x-session-revoke").is_none()
            );
            assert_eq!(fin.logs.len(), 1, "{:?}", fin.logs);
            assert!(fin.logs[0].contains("cross-site"), "{:?}", fin.logs);
        }
    }
    assert!(env.check(&victim).is_ok(), "never signed out");
    assert_eq!(env.kv.len(), 2, "no session created");
}

#[test]
fn a_handoff_that_is_not_cross_site_works() {
    let env = Env::new(&[]);
    // Without the cookie: a native client (no Origin, no Sec-Fetch-Site), a
    // same-origin or allowed page, and a cross-site GET (an OAuth callback).
    for (method, headers) in [
        ("POST", vec![]),
        (
            "POST",
            vec![("origin", OWN), ("sec-fetch-site", "same-origin")],
        ),
        (
            "POST",
            vec![
                ("origin", "https://partner.example"),
                ("sec-fetch-site", "same-site"),
            ],
        ),
        ("POST", vec![("sec-fetch-site", "none")]),
        ("GET", vec![("sec-fetch-site", "cross-site")]),
        ("GET", vec![("origin", "https://evil.example")]),
    ] {
        let head = req(method, "/assets/login", &headers);
        let f = forwarded(env.decide(&head));
        let fin = env.finish(&head, &f, &mut issue_header(&json!({"userId": "u1"})));
        assert!(
            fin.failure.is_none(),
            "{method} {headers:?}: {:?}",
            fin.logs
        );
        let (token, _) = issued(&fin.set_cookies[0]);
        assert!(env.check(&token).is_ok());
    }
    // With the cookie: an Origin the guard's check accepts, or a safe method.
    for (method, origin) in [
        ("POST", Some(OWN)),
        ("DELETE", Some("https://partner.example")),
        ("GET", None),
    ] {
        let (token, _) = env.login("u2");
        let with_cookie = cookie(&token);
        let mut headers = vec![("cookie", with_cookie.as_str())];
        headers.extend(origin.map(|o| ("origin", o)));
        let head = req(method, "/assets/logout", &headers);
        let f = forwarded(env.decide(&head));
        let fin = env.finish(&head, &f, &mut revoke_header("current"));
        assert!(fin.failure.is_none(), "{method} {origin:?}: {:?}", fin.logs);
        assert_eq!(fin.set_cookies, [cleared()]);
        assert!(
            env.check(&token).is_err(),
            "{method} {origin:?}: signed out"
        );
    }
    // Bearer-authenticated without a cookie: no Origin needed.
    let (token, _) = env.login("u3");
    let head = req("POST", "/app/logout", &[("authorization", &bearer(&token))]);
    let f = forwarded(env.decide(&head));
    let fin = env.finish(&head, &f, &mut revoke_header("current"));
    assert!(fin.failure.is_none());
    assert!(env.check(&token).is_err());
}

#[test]
fn a_refused_handoff_gives_its_sliding_claim_back() {
    let env = Env::new(&[]);
    let (token, _) = env.login("alice");
    env.clock.advance_secs(2000);
    // A bearer request carrying the cookie too: the guard lets it through,
    // the handoff's cookie rule does not.
    let head = req(
        "POST",
        "/app/x",
        &[
            ("authorization", &bearer(&token)),
            ("cookie", &cookie(&token)),
        ],
    );
    let f = forwarded(env.decide(&head));
    assert!(f.slide.is_some(), "sliding claimed");
    let fin = env.finish(&head, &f, &mut revoke_header("current"));
    assert_eq!(replaced(&fin).1, "csrf");
    assert!(fin.after.is_none());
    assert!(env.check(&token).is_ok());
    let again = forwarded(env.decide(&req("GET", "/app/x", &[("authorization", &bearer(&token))])));
    assert!(again.slide.is_some(), "the claim was given back");
}

#[test]
fn joined_issue_lines_are_not_one_value() {
    // workerd joins two `X-Session-Issue` lines with ", ": the join may even
    // be valid JSON, and must not sign anyone in.
    let env = Env::new(&[]);
    let head = req("POST", "/assets/login", &[]);
    let f = forwarded(env.decide(&head));
    for joined in [
        r#"{"userId":"mallory","label":"a, b"}"#,
        r#"{"userId":"a", "label":"b"}"#,
        r#"{"userId":"a"}, "#,
        r#", {"userId":"a"}"#,
    ] {
        let mut response = HeaderMap::new();
        response.insert("x-session-issue", HeaderValue::from_str(joined).unwrap());
        let fin = env.finish(&head, &f, &mut response);
        assert!(
            fin.set_cookies.is_empty() && fin.failure.is_none(),
            "{joined}"
        );
        assert_eq!(fin.logs.len(), 1, "{joined}: {:?}", fin.logs);
        assert!(
            fin.logs[0].contains(r#"", ""#) && fin.logs[0].contains("u002c"),
            "{:?}",
            fin.logs
        );
        assert_eq!(env.ops().writes, 0);
    }
    // The same with the comma-space written as JSON escapes: one value.
    let fin = env.finish(
        &head,
        &f,
        &mut issue_header(&json!({"userId": "a", "label": "x\u{2c} y"})),
    );
    let mut response = HeaderMap::new();
    response.insert(
        "x-session-issue",
        HeaderValue::from_static(r#"{"userId":"a","label":"b\u002c c"}"#),
    );
    let escaped = env.finish(&head, &f, &mut response);
    assert_eq!(fin.logs.len(), 1, "json! writes \", \" raw: {:?}", fin.logs);
    let (token, _) = issued(&escaped.set_cookies[0]);
    assert_eq!(env.check(&token).unwrap().label.as_deref(), Some("b, c"));
}

#[test]
fn joined_revoke_lines_act_on_the_strongest_or_replace_the_answer() {
    let env = Env::new(&[]);
    let session = |head_for: &dyn Fn(&str) -> RequestHead| {
        let (token, _) = env.login("u1");
        let (other, _) = env.login("u1");
        (head_for(&token), token, other)
    };
    let by_bearer = |t: &str| req("POST", "/app/logout", &[("authorization", &bearer(t))]);
    // As the runtime hands them over (one joined value) and as two lines.
    let lines = |values: &[&str]| {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-session-revoke", HeaderValue::from_str(v).unwrap());
        }
        h
    };
    for (values, all) in [
        (&["current, current"][..], false),
        (&["current", "current"][..], false),
        (&["Current ,current"][..], false),
        (&["current, all"][..], true),
        (&["all,current"][..], true),
        (&["current", "all"][..], true),
        (&["all, all"][..], true),
    ] {
        let (head, token, other) = session(&by_bearer);
        let f = forwarded(env.decide(&head));
        env.kv.reset_counts();
        let fin = env.finish(&head, &f, &mut lines(values));
        let spent = env.ops();
        assert!(
            fin.failure.is_none() && fin.logs.is_empty(),
            "{values:?}: {:?}",
            fin.logs
        );
        assert_eq!(fin.set_cookies, [cleared()], "{values:?}");
        assert!(env.check(&token).is_err(), "{values:?}");
        assert_eq!(env.check(&other).is_err(), all, "{values:?}");
        if !all {
            assert_eq!(spent, ops(0, 0, 2, 0), "{values:?}: revoked once");
        }
    }
    // Anything unreadable: nothing revoked, no cookie cleared, and the
    // origin's answer (a "signed out" page) replaced by 502.
    for values in [
        &["current, bogus"][..],
        &["current, "][..],
        &[", current"][..],
        &["current", ""][..],
        &["current", "nope"][..],
        &["bogus"][..],
        &[""][..],
        &["current all"][..],
    ] {
        let (head, token, other) = session(&by_bearer);
        let f = forwarded(env.decide(&head));
        env.kv.reset_counts();
        let mut response = lines(values);
        response.insert(
            "x-session-issue",
            HeaderValue::from_static(r#"{"userId":"u1"}"#),
        );
        let fin = env.finish(&head, &f, &mut response);
        assert_eq!(
            env.ops().total(),
            0,
            "{values:?}: nothing revoked nor issued"
        );
        let (status, code, cookies) = replaced(&fin);
        assert_eq!(
            (status, code.as_str()),
            (502, "origin_unavailable"),
            "{values:?}"
        );
        assert!(cookies.is_empty(), "{values:?}");
        assert!(
            response.get("x-session-revoke").is_none() && response.get("x-session-issue").is_none()
        );
        assert!(
            env.check(&token).is_ok() && env.check(&other).is_ok(),
            "{values:?}"
        );
        assert_eq!(fin.logs.len(), 1, "{:?}", fin.logs);
        assert!(fin.logs[0].contains("nothing revoked"), "{:?}", fin.logs);
    }
}

#[test]
fn an_unknown_issue_field_is_logged_without_its_name() {
    let env = Env::new(&[]);
    let head = req("POST", "/assets/login", &[]);
    let f = forwarded(env.decide(&head));
    let name = "Zq9_origin_private_field_name";
    let fin = env.finish(
        &head,
        &f,
        &mut issue_header(&json!({"userId": "u", name: 1})),
    );
    assert!(fin.set_cookies.is_empty());
    assert_eq!(fin.logs.len(), 1, "{:?}", fin.logs);
    assert!(
        fin.logs[0].contains("a field is not known"),
        "{:?}",
        fin.logs
    );
    for line in &fin.logs {
        assert!(
            !line.contains("Zq9"),
            "the origin's field name in a log line: {line}"
        );
    }
    // A known field is still named.
    let fin = env.finish(
        &head,
        &f,
        &mut issue_header(&json!({"userId": "u", "label": 5})),
    );
    assert!(fin.logs[0].contains("label: "), "{:?}", fin.logs);
}

#[test]
fn a_response_given_the_session_cookie_is_private() {
    let env = Env::new(&[]);
    let origin_cc = || Some("public, max-age=86400".to_owned());
    let shared = [
        "cdn-cache-control",
        "cloudflare-cdn-cache-control",
        "surrogate-control",
    ];
    let removes_shared = |fin: &Finish| {
        shared
            .iter()
            .all(|s| fin.remove_headers.iter().any(|r| r == s))
    };
    // Issue.
    let head = req("POST", "/assets/login", &[]);
    let f = forwarded(env.decide(&head));
    let fin = env.finish(&head, &f, &mut issue_header(&json!({"userId": "u"})));
    assert_eq!(
        fin.cache_control(origin_cc).as_deref(),
        Some("private, max-age=86400")
    );
    assert_eq!(fin.cache_control(|| None).as_deref(), Some("private"));
    assert!(removes_shared(&fin));
    let (token, _) = issued(&fin.set_cookies[0]);
    // Sliding re-issue, no handoff.
    env.clock.advance_secs(2000);
    let head = req("GET", "/app/x", &[("cookie", &cookie(&token))]);
    let f = forwarded(env.decide(&head));
    assert!(f.set_cookie.is_some());
    let fin = env.finish(&head, &f, &mut HeaderMap::new());
    assert_eq!(fin.set_cookies.len(), 1);
    assert_eq!(
        fin.cache_control(origin_cc).as_deref(),
        Some("private, max-age=86400")
    );
    assert_eq!(
        fin.cache_control(|| Some("no-store".into())).as_deref(),
        Some("no-store")
    );
    assert!(removes_shared(&fin));
    // Clearing.
    let head = req("POST", "/assets/logout", &[]);
    let f = forwarded(env.decide(&head));
    let fin = env.finish(&head, &f, &mut revoke_header("current"));
    assert_eq!(fin.set_cookies, [cleared()]);
    assert_eq!(
        fin.cache_control(origin_cc).as_deref(),
        Some("private, max-age=86400")
    );
    // No cookie added: the origin's caching is its own, and not even read.
    let head = req("GET", "/assets/app.js", &[]);
    let f = forwarded(env.decide(&head));
    let fin = env.finish(&head, &f, &mut HeaderMap::new());
    assert_eq!(fin.cache_control(|| panic!("read for nothing")), None);
    assert!(fin.remove_headers.is_empty());
    // Answers the Worker makes itself are never stored.
    let fin = env.finish(
        &req(
            "POST",
            "/assets/logout",
            &[("sec-fetch-site", "cross-site")],
        ),
        &f,
        &mut revoke_header("current"),
    );
    let r = fin.failure_response().unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
}
