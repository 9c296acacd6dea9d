//! Guard policy (contract §6 "Recent login", "Rate limits", refused browser
//! navigations), natively: the `fresh` attribute at its boundaries with the
//! manual clock, the rate limits over in-memory bindings, the HTML pages.

use std::rc::Rc;

use http::{HeaderMap, Response, StatusCode};
use pollster::block_on;
use serde_json::{json, Value};
use session_core::owner::OwnerTransport;
use session_core::testing::{ManualClock, MemoryKv, MemoryOwners, SeededRandom};
use session_core::{NewSession, Session};
use session_http::api;
use session_http::app::{owner_settings, App};
use session_http::config::Config;
use session_http::guard::{decide, finish, is_fresh, Forward, GuardDecision};
use session_http::ratelimit::{client_key, ip_key, user_key, Refusals, RETRY_AFTER_SECS};
use session_http::request::RequestHead;

mod support;
use support::{forwarded, responded, MemoryLimiters, Ops, World, ADMIN_KEY, TOKEN_KEYS};

const T0: i64 = 1_700_000_000_000;
const RULES: &str = r#"[
  {"path": "/", "access": "public"},
  {"path": "/search", "access": "public", "limit": "RL_SEARCH"},
  {"path": "/account/email", "access": "session", "fresh": 300},
  {"path": "/admin/**", "access": "role:admin", "fresh": 60},
  {"path": "/api/**", "access": "session", "limit": "RL_API"}
]"#;
const HTML: (&str, &str) = ("accept", "text/html,application/xhtml+xml");

/// One isolate with rate limiting bindings `RL_SEARCH` and `RL_API` (3 per
/// 60 s), `RL_ADMIN` (2 per 60 s) and `RL_CREATE` (2 per 60 s).
struct Env {
    world: World,
    limiters: MemoryLimiters,
    refusals: Rc<Refusals>,
}

impl Env {
    fn new(extra: &[(&str, &str)]) -> Env {
        let base = [
            ("TOKEN_KEYS", TOKEN_KEYS),
            ("ADMIN_KEY", ADMIN_KEY),
            ("GUARD_RULES", RULES),
            ("LOGIN_URL", "/login"),
            ("ORIGIN_URL", "https://origin.internal"),
        ];
        let clock = ManualClock::new(T0);
        let limiters = MemoryLimiters::new(clock.clone())
            .bind("RL_SEARCH", 3, 60)
            .bind("RL_API", 3, 60)
            .bind("RL_ADMIN", 2, 60)
            .bind("RL_CREATE", 2, 60);
        let config = support::config(&base, extra)
            .with_bindings(|name| limiters.is_bound(name))
            .expect("every binding bound");
        let mut world = World::of(config, T0, 7);
        world.clock = clock.clone();
        world.kv = MemoryKv::new(clock);
        Env {
            world,
            limiters,
            refusals: Rc::default(),
        }
    }

    fn app(&self) -> support::TestApp<'_> {
        self.world
            .app()
            .with_limits(self.limiters.limits(&self.refusals))
    }

    fn clock(&self) -> &ManualClock {
        &self.world.clock
    }

    fn login(&self, user: &str) -> (String, Session) {
        self.login_with(NewSession::for_user(user))
    }

    fn login_with(&self, new: NewSession) -> (String, Session) {
        let app = self.world.app();
        let (token, session) =
            block_on(app.sessions().expect("configured").create(new)).expect("create");
        self.world.kv.reset_counts();
        (token.into_string(), session)
    }

    fn decide(&self, head: &RequestHead) -> GuardDecision {
        block_on(decide(&self.app(), head))
    }

    fn api(&self, head: &RequestHead, body: &Value) -> Response<Vec<u8>> {
        let body = serde_json::to_vec(body).unwrap();
        block_on(api::handle(&self.app(), head, &body))
    }

    fn finish(
        &self,
        head: &RequestHead,
        forward: &Forward,
        issue: &Value,
    ) -> session_http::guard::Finish {
        let pairs = vec![("x-session-issue".to_owned(), issue.to_string())];
        block_on(finish(&self.app(), head, forward, pairs))
    }
}

fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> RequestHead {
    support::head(method, &format!("https://app.example.com{path}"), headers)
}

fn cookie(token: &str) -> String {
    format!("__Host-session={token}")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[track_caller]
fn json_of(r: &Response<Vec<u8>>) -> Value {
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    serde_json::from_slice(r.body()).unwrap()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).map(|v| v.to_str().unwrap())
}

// --- fresh -------------------------------------------------------------------

#[test]
fn fresh_lets_a_sign_in_through_up_to_exactly_n_seconds_old() {
    for (age, through) in [(299, true), (300, true), (301, false)] {
        let env = Env::new(&[]);
        let (token, _) = env.login("alice");
        env.clock().advance_secs(age);
        let d = env.decide(&req(
            "GET",
            "/account/email",
            &[("cookie", &cookie(&token))],
        ));
        assert_eq!(matches!(d, GuardDecision::Forward(_)), through, "{age} s");
        // Zero extra storage calls: the one read of the session, either way.
        assert_eq!(env.world.kv.counts().reads, 1, "{age} s");
        assert_eq!(env.world.kv.counts().writes, 0, "{age} s");
    }
    // A millisecond past N is too old.
    let env = Env::new(&[]);
    let (token, session) = env.login("alice");
    assert!(is_fresh(&session, 300, T0 + 300_000));
    assert!(!is_fresh(&session, 300, T0 + 300_001));
    env.clock().set_ms(T0 + 300_001);
    let d = env.decide(&req(
        "GET",
        "/account/email",
        &[("cookie", &cookie(&token))],
    ));
    assert_eq!(responded(d).status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn a_stale_session_is_sent_to_sign_in_again_and_keeps_its_cookie() {
    let env = Env::new(&[]);
    let (token, _) = env.login("alice");
    env.clock().advance_secs(301);
    let c = cookie(&token);

    // A browser navigation: to LOGIN_URL with next and reauth=1.
    let r = responded(env.decide(&req("GET", "/account/email?tab=1", &[("cookie", &c), HTML])));
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2Faccount%2Femail%3Ftab%3D1&reauth=1"
    );
    assert!(
        r.headers().get("set-cookie").is_none(),
        "the cookie is kept"
    );

    // A script: 401 reauthentication_required with maxAge and authenticatedAt.
    let r = responded(env.decide(&req("GET", "/account/email", &[("cookie", &c)])));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body = json_of(&r);
    assert_eq!(body["code"], "reauthentication_required");
    assert_eq!(body["maxAge"], 300);
    assert_eq!(body["authenticatedAt"], "2023-11-14T22:13:20.000Z");
    assert!(r.headers().get("set-cookie").is_none());
    // The RFC 9470 header is for bearer requests.
    assert!(r.headers().get("www-authenticate").is_none());

    let r = responded(env.decide(&req(
        "GET",
        "/account/email",
        &[("authorization", &bearer(&token))],
    )));
    assert_eq!(json_of(&r)["code"], "reauthentication_required");
    assert_eq!(
        r.headers()["www-authenticate"],
        r#"Bearer error="insufficient_user_authentication", max_age="300""#
    );

    // A form post accepting HTML: the page, same status and code.
    let r = responded(env.decide(&req(
        "POST",
        "/account/email",
        &[("cookie", &c), HTML, ("origin", "https://app.example.com")],
    )));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert!(String::from_utf8_lossy(r.body()).contains(">reauthentication_required<"));

    // Still a valid session everywhere else.
    let f = forwarded(env.decide(&req("GET", "/api/me", &[("cookie", &c)])));
    assert_eq!(f.session.unwrap().user_id, "alice");
}

#[test]
fn without_login_url_a_stale_navigation_gets_the_page() {
    let env = Env::new(&[("LOGIN_URL", "")]);
    let (token, _) = env.login("alice");
    env.clock().advance_secs(1000);
    let r = responded(env.decide(&req(
        "GET",
        "/account/email",
        &[("cookie", &cookie(&token)), HTML],
    )));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let page = String::from_utf8_lossy(r.body()).into_owned();
    assert!(
        page.contains(r#"<code id="code">reauthentication_required</code>"#),
        "{page}"
    );
}

#[test]
fn fresh_applies_after_the_role_and_before_the_rule_limit() {
    let env = Env::new(&[]);
    let (plain, _) = env.login("bob");
    let (admin, _) = env.login_with(NewSession {
        meta: Some(json!({"roles": ["admin"]})),
        ..NewSession::for_user("carol")
    });
    env.clock().advance_secs(61);
    // Without the role: 403, signing in again would not help.
    let r = responded(env.decide(&req(
        "GET",
        "/admin/x",
        &[("authorization", &bearer(&plain))],
    )));
    assert_eq!(json_of(&r)["code"], "forbidden");
    let r = responded(env.decide(&req(
        "GET",
        "/admin/x",
        &[("authorization", &bearer(&admin))],
    )));
    assert_eq!(json_of(&r)["code"], "reauthentication_required");
    assert_eq!(json_of(&r)["maxAge"], 60);
}

#[test]
fn signing_in_again_through_the_handoff_makes_a_fresh_session() {
    let env = Env::new(&[]);
    let (token, old) = env.login("alice");
    env.clock().advance_secs(3600);
    let c = cookie(&token);
    let d = env.decide(&req("GET", "/account/email", &[("cookie", &c)]));
    assert_eq!(responded(d).status(), StatusCode::UNAUTHORIZED);

    // The login form's post is answered with X-Session-Issue.
    let login = req(
        "POST",
        "/login",
        &[("cookie", &c), ("origin", "https://app.example.com")],
    );
    let f = forwarded(env.decide(&login));
    let fin = env.finish(&login, &f, &json!({"userId": "alice"}));
    assert!(fin.failure.is_none(), "{fin:?}");
    let set = &fin.set_cookies[0];
    let new_token = set
        .strip_prefix("__Host-session=")
        .and_then(|s| s.split(';').next())
        .unwrap();
    let head = req("GET", "/account/email", &[("cookie", &cookie(new_token))]);
    let f = forwarded(env.decide(&head));
    let sent = f.headers.apply(&head.headers);
    let fresh = f.session.unwrap();
    assert_eq!(fresh.lifetime.authenticated_at, T0 + 3_600_000);
    assert_eq!(old.lifetime.authenticated_at, T0);
    assert_eq!(
        header(&sent, "x-session-auth-time"),
        Some((T0 / 1000 + 3600).to_string().as_str())
    );
}

// --- a rule's limit -------------------------------------------------------------

#[test]
fn a_rule_limit_counts_per_user_and_leaves_the_neighbour_alone() {
    let env = Env::new(&[]);
    let (alice, a) = env.login("alice");
    let (bob, _) = env.login("bob");
    for _ in 0..3 {
        forwarded(env.decide(&req("GET", "/api/x", &[("authorization", &bearer(&alice))])));
    }
    env.world.kv.reset_counts();
    let r = responded(env.decide(&req("GET", "/api/x", &[("authorization", &bearer(&alice))])));
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json_of(&r)["code"], "rate_limited");
    assert_eq!(r.headers()["retry-after"], RETRY_AFTER_SECS.to_string());
    assert_eq!(env.world.kv.counts().writes, 0);
    // Keyed by the user, not the token: another session of alice's counts too.
    let (alice2, _) = env.login("alice");
    let d = env.decide(&req("GET", "/api/x", &[("cookie", &cookie(&alice2))]));
    assert_eq!(responded(d).status(), StatusCode::TOO_MANY_REQUESTS);
    forwarded(env.decide(&req("GET", "/api/x", &[("authorization", &bearer(&bob))])));
    assert_eq!(
        env.limiters.calls("RL_API")[0],
        user_key("", &a.user_id),
        "the key is the user's, never its id or token"
    );
    assert!(!env.limiters.calls("RL_API")[0].contains("alice"));
    // The next window.
    env.clock().advance_secs(60);
    forwarded(env.decide(&req("GET", "/api/x", &[("authorization", &bearer(&alice))])));
    // Paths without a limit never call a binding.
    let before = env.limiters.total_calls();
    forwarded(env.decide(&req(
        "GET",
        "/account/email",
        &[("authorization", &bearer(&alice))],
    )));
    forwarded(env.decide(&req("GET", "/", &[])));
    assert_eq!(env.limiters.total_calls(), before);
}

#[test]
fn a_public_rule_limit_counts_per_client_ip_and_ipv6_by_its_64() {
    let env = Env::new(&[]);
    let from = |ip: &str| req("GET", "/search?q=1", &[("cf-connecting-ip", ip)]);
    for _ in 0..3 {
        forwarded(env.decide(&from("203.0.113.7")));
    }
    let r = responded(env.decide(&from("203.0.113.7")));
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(env.world.kv.counts().reads, 0, "public paths read nothing");
    forwarded(env.decide(&from("203.0.113.8")));
    // One /64: the same client, whatever its host part.
    forwarded(env.decide(&from("2001:db8:1:2::1")));
    forwarded(env.decide(&from("2001:db8:1:2:aaaa::5")));
    forwarded(env.decide(&from("2001:DB8:1:2:ffff:ffff:ffff:ffff")));
    let r = responded(env.decide(&from("2001:db8:1:2::9")));
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The next /64 is someone else.
    forwarded(env.decide(&from("2001:db8:1:3::1")));
    // A browser gets the page.
    let r = responded(env.decide(&req(
        "GET",
        "/search",
        &[("cf-connecting-ip", "203.0.113.7"), HTML],
    )));
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "60");
    assert!(String::from_utf8_lossy(r.body()).contains(">rate_limited<"));
}

#[test]
fn a_failing_binding_lets_guarded_requests_through_with_a_log_line() {
    let env = Env::new(&[]);
    let (alice, _) = env.login("alice");
    env.limiters.fail("RL_API", true);
    env.limiters.fail("RL_SEARCH", true);
    for _ in 0..10 {
        let f = forwarded(env.decide(&req("GET", "/api/x", &[("authorization", &bearer(&alice))])));
        assert_eq!(f.logs.len(), 1, "{:?}", f.logs);
        assert!(f.logs[0].contains("RL_API"));
        forwarded(env.decide(&req("GET", "/search", &[])));
    }
}

#[test]
fn client_keys() {
    assert_eq!(ip_key("203.0.113.7").as_deref(), Some("ip:203.0.113.7"));
    assert_eq!(ip_key(" 203.0.113.7 ").as_deref(), Some("ip:203.0.113.7"));
    assert_eq!(
        ip_key("2001:db8:1:2:3:4:5:6").as_deref(),
        Some("ip:2001:db8:1:2::/64")
    );
    assert_eq!(
        ip_key("::ffff:203.0.113.7").as_deref(),
        Some("ip:203.0.113.7")
    );
    assert_eq!(ip_key("::1").as_deref(), Some("ip:0:0:0:0::/64"));
    for bad in [
        "",
        "unknown",
        "203.0.113",
        "1.2.3.4, 5.6.7.8",
        "[::1]",
        "fe80::1%eth0",
    ] {
        assert_eq!(ip_key(bad), None, "{bad}");
    }
    // Without CF-Connecting-IP: not one bucket for everyone.
    let firefox = req(
        "GET",
        "/",
        &[("user-agent", "Firefox"), ("accept-language", "fr")],
    );
    let chrome = req(
        "GET",
        "/",
        &[("user-agent", "Chrome"), ("accept-language", "fr")],
    );
    let german = req(
        "GET",
        "/",
        &[("user-agent", "Firefox"), ("accept-language", "de")],
    );
    let keys: Vec<String> = [&firefox, &chrome, &german].map(client_key).to_vec();
    assert!(
        keys.iter().all(|k| k.starts_with("anon:") && k.len() == 21),
        "{keys:?}"
    );
    assert_ne!(keys[0], keys[1]);
    assert_ne!(keys[0], keys[2]);
    assert_eq!(client_key(&firefox.clone()), keys[0]);
    let bad_ip = req(
        "GET",
        "/",
        &[
            ("cf-connecting-ip", "nonsense"),
            ("user-agent", "Firefox"),
            ("accept-language", "fr"),
        ],
    );
    assert_eq!(client_key(&bad_ip), keys[0]);
    let real = req(
        "GET",
        "/",
        &[
            ("cf-connecting-ip", "2001:db8::1"),
            ("user-agent", "Firefox"),
        ],
    );
    assert_eq!(client_key(&real), "ip:2001:db8:0:0::/64");
}

// --- RL_ADMIN --------------------------------------------------------------------

fn admin_req(ip: &str, key: &str) -> RequestHead {
    support::head(
        "GET",
        "https://edge.example/auth/admin/sessions",
        &[
            ("authorization", &format!("Bearer {key}")),
            ("cf-connecting-ip", ip),
        ],
    )
}

#[test]
fn admin_guessing_is_cut_off_before_the_comparison_and_the_key_works_elsewhere() {
    let env = Env::new(&[]);
    let wrong = "not-the-admin-key-0123456789";
    // Good keys never count, nor call the binding.
    for _ in 0..5 {
        assert_eq!(
            env.api(&admin_req("198.51.100.1", ADMIN_KEY), &json!({}))
                .status(),
            200
        );
    }
    assert!(env.limiters.calls("RL_ADMIN").is_empty());
    for _ in 0..2 {
        let r = env.api(&admin_req("198.51.100.1", wrong), &json!({}));
        assert_eq!(r.status(), 401);
    }
    let r = env.api(&admin_req("198.51.100.1", wrong), &json!({}));
    assert_eq!(r.status(), 429);
    assert_eq!(json_of(&r)["code"], "rate_limited");
    assert_eq!(r.headers()["retry-after"], "60");
    assert_eq!(env.limiters.calls("RL_ADMIN"), ["ip:198.51.100.1"; 3]);
    // Now even the right key is refused, before it is compared: no call.
    env.clock().advance_secs(10);
    let r = env.api(&admin_req("198.51.100.1", ADMIN_KEY), &json!({}));
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "50");
    assert_eq!(env.limiters.calls("RL_ADMIN").len(), 3);
    // Another client, and the same one a minute later.
    assert_eq!(
        env.api(&admin_req("198.51.100.2", ADMIN_KEY), &json!({}))
            .status(),
        200
    );
    env.clock().advance_secs(50);
    assert_eq!(
        env.api(&admin_req("198.51.100.1", ADMIN_KEY), &json!({}))
            .status(),
        200
    );
    // No key at all guesses nothing: not counted.
    let none = support::head(
        "GET",
        "https://edge.example/auth/admin/sessions",
        &[("cf-connecting-ip", "198.51.100.3")],
    );
    for _ in 0..5 {
        assert_eq!(env.api(&none, &json!({})).status(), 401);
    }
    assert_eq!(env.limiters.calls("RL_ADMIN").len(), 3);
}

#[test]
fn admin_fails_closed_when_the_binding_fails() {
    let env = Env::new(&[]);
    env.limiters.fail("RL_ADMIN", true);
    let r = env.api(
        &admin_req("198.51.100.1", "not-the-admin-key-0123456789"),
        &json!({}),
    );
    assert_eq!(r.status(), 503);
    assert_eq!(json_of(&r)["code"], "store_unavailable");
    // That client is refused for a minute, its right key included.
    let r = env.api(&admin_req("198.51.100.1", ADMIN_KEY), &json!({}));
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["code"].clone()),
        (503, json!("store_unavailable"))
    );
    // A backend that sends the right key never needs the binding.
    assert_eq!(
        env.api(&admin_req("198.51.100.2", ADMIN_KEY), &json!({}))
            .status(),
        200
    );
    // RL_CREATE failing: the admin API creates nothing (fail closed).
    env.limiters.fail("RL_CREATE", true);
    let create = support::head(
        "POST",
        "https://edge.example/auth/admin/sessions",
        &[
            ("authorization", &format!("Bearer {ADMIN_KEY}")),
            ("cf-connecting-ip", "198.51.100.2"),
            ("content-type", "application/json"),
        ],
    );
    let r = env.api(&create, &json!({"userId": "alice"}));
    assert_eq!(r.status(), 503);
    assert_eq!(env.world.kv.counts().writes, 0);
}

#[test]
fn the_refusal_memory_is_bounded() {
    let env = Env::new(&[]);
    let wrong = "not-the-admin-key-0123456789";
    for i in 0..(session_http::ratelimit::MAX_REFUSALS + 50) {
        let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
        for _ in 0..3 {
            env.api(&admin_req(&ip, wrong), &json!({}));
        }
    }
    assert_eq!(env.refusals.len(), session_http::ratelimit::MAX_REFUSALS);
}

// --- RL_CREATE -------------------------------------------------------------------

fn create_req(ip: &str) -> RequestHead {
    support::head(
        "POST",
        "https://edge.example/auth/admin/sessions",
        &[
            ("authorization", &format!("Bearer {ADMIN_KEY}")),
            ("content-type", "application/json"),
            ("cf-connecting-ip", ip),
        ],
    )
}

#[test]
fn creations_per_user_are_cut_off_through_the_admin_api_and_the_handoff() {
    let env = Env::new(&[]);
    for _ in 0..2 {
        assert_eq!(
            env.api(&create_req("192.0.2.1"), &json!({"userId": "alice"}))
                .status(),
            201
        );
    }
    env.world.kv.reset_counts();
    assert_eq!(env.world.events.take().len(), 2, "one event per creation");
    let r = env.api(&create_req("192.0.2.1"), &json!({"userId": "alice"}));
    assert_eq!(r.status(), 429);
    assert_eq!(json_of(&r)["code"], "rate_limited");
    assert_eq!(r.headers()["retry-after"], "60");
    assert_eq!(env.world.kv.counts().writes, 0, "nothing created");
    assert!(
        env.world.events.take().is_empty(),
        "nothing changed: no event"
    );
    assert_eq!(
        env.api(&create_req("192.0.2.1"), &json!({"userId": "bob"}))
            .status(),
        201
    );

    // The handoff counts the same way: alice's third sign-in is refused,
    // nothing acted on.
    let (carol, _) = env.login("carol");
    let login = req(
        "POST",
        "/login",
        &[
            ("cookie", &cookie(&carol)),
            ("origin", "https://app.example.com"),
            HTML,
        ],
    );
    let f = forwarded(env.decide(&login));
    env.world.kv.reset_counts();
    let fin = env.finish(&login, &f, &json!({"userId": "alice"}));
    assert_eq!(
        fin.failure.as_ref().map(|p| p.code.as_str()),
        Some("rate_limited")
    );
    assert!(fin.set_cookies.is_empty());
    assert_eq!(
        env.world.kv.counts().writes + env.world.kv.counts().deletes,
        0
    );
    assert!(
        env.world
            .events
            .take()
            .iter()
            .all(|e| e.user_id.as_deref() != Some("alice")),
        "a refused sign-in makes no event"
    );
    let page = fin.failure_response_to(&login).unwrap();
    assert_eq!(page.status(), 429);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["retry-after"], "60");
    // A failing binding lets the sign-in happen (with a log line).
    env.limiters.fail("RL_CREATE", true);
    let fin = env.finish(&login, &f, &json!({"userId": "alice"}));
    assert!(fin.failure.is_none());
    assert_eq!(fin.set_cookies.len(), 1);
    assert!(
        fin.logs.iter().any(|l| l.contains("RL_CREATE")),
        "{:?}",
        fin.logs
    );
}

#[test]
fn in_strong_mode_the_owner_counts_creations_exactly() {
    // The binding allows plenty; the owner's exact count says 3 per 60 s.
    let clock = ManualClock::new(T0);
    let limiters = MemoryLimiters::new(clock.clone()).bind("RL_CREATE", 1000, 60);
    let config = support::config(
        &[
            ("TOKEN_KEYS", TOKEN_KEYS),
            ("ADMIN_KEY", ADMIN_KEY),
            ("SESSION_CONSISTENCY", "strong"),
            ("SESSION_CREATE_LIMIT", "3/60"),
        ],
        &[],
    )
    .with_bindings(|n| limiters.is_bound(n))
    .unwrap();
    let kv = MemoryKv::new(clock.clone());
    let owners = Rc::new(MemoryOwners::new(
        kv.clone(),
        clock.clone(),
        Rc::new(SeededRandom::new(3)),
        owner_settings(&config).unwrap(),
    ));
    let refusals = Rc::default();
    let call = |user: &str| {
        let transport: Rc<dyn OwnerTransport> = owners.clone();
        let app = App::strong(
            &config,
            kv.clone(),
            clock.clone(),
            Rc::new(SeededRandom::new(9)),
            Rc::default(),
            Ok(transport),
            None,
        )
        .with_limits(limiters.limits(&refusals));
        let body = serde_json::to_vec(&json!({"userId": user})).unwrap();
        block_on(api::handle(&app, &create_req("192.0.2.1"), &body))
    };
    for _ in 0..3 {
        assert_eq!(call("alice").status(), 201);
    }
    owners.reset_calls();
    let r = call("alice");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "60");
    assert_eq!(owners.calls(), 1, "no extra request: the create's own");
    assert_eq!(call("bob").status(), 201);
    clock.set_ms(T0 + 59_999);
    assert_eq!(call("alice").headers()["retry-after"], "1");
    clock.set_ms(T0 + 60_000);
    assert_eq!(call("alice").status(), 201);

    // RL_CREATE unbound: the owners' count is off too.
    let unbound = support::config(
        &[("TOKEN_KEYS", TOKEN_KEYS), ("SESSION_CREATE_LIMIT", "3/60")],
        &[],
    )
    .with_bindings(|_| false)
    .unwrap();
    assert_eq!(unbound.create_limit, None);
}

// --- configuration ---------------------------------------------------------------

#[test]
fn a_rule_naming_an_unbound_binding_is_an_error_naming_the_rule() {
    let config: Config = support::config(&[("GUARD_RULES", RULES)], &[]);
    let e = config
        .clone()
        .with_bindings(|name| name != "RL_API")
        .unwrap_err();
    assert_eq!(e.var, "GUARD_RULES");
    assert!(e.to_string().starts_with("GUARD_RULES[4].limit: "), "{e}");
    assert!(!e.to_string().contains("RL_API"), "never the value: {e}");
    assert!(config.with_bindings(|_| true).is_ok());
}

#[test]
fn session_create_limit() {
    let load = |v: &str| support::try_config(&[("SESSION_CREATE_LIMIT", v)], &[]);
    for (v, limit, period) in [
        ("20/60", 20, 60),
        (" 1 / 1 ", 1, 1),
        ("100000/86400", 100_000, 86_400),
    ] {
        let c = load(v).unwrap().with_bindings(|_| true).unwrap();
        let l = c.create_limit.unwrap();
        assert_eq!((l.limit, l.period_secs), (limit, period), "{v}");
    }
    for v in [
        "20",
        "0/60",
        "20/0",
        "-1/60",
        "20/86401",
        "100001/60",
        "a/b",
        "20/60/1",
        "1e3/60",
        "7777/x",
    ] {
        let e = load(v).unwrap_err();
        // One fixed message, never the value.
        assert_eq!(
            e.to_string(),
            "SESSION_CREATE_LIMIT: must be SESSIONS/SECONDS, like 20/60: 1 to 100000 sessions per 1 to 86400 seconds",
            "{v}"
        );
    }
    let d = load("")
        .unwrap()
        .with_bindings(|_| true)
        .unwrap()
        .create_limit
        .unwrap();
    assert_eq!((d.limit, d.period_secs), (20, 60));
}

// --- pages ---------------------------------------------------------------------

#[test]
fn refused_browser_navigations_get_a_page_and_scripts_get_json() {
    let env = Env::new(&[("LOGIN_URL", "")]);
    let (bob, _) = env.login("bob");
    let c = cookie(&bob);
    let r = responded(env.decide(&req("GET", "/admin", &[("cookie", &c), HTML])));
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let page = String::from_utf8_lossy(r.body()).into_owned();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains(r#"<code id="code">forbidden</code>"#));
    assert!(!page.contains("<script"), "self-contained, no script");
    assert!(!page.contains("bob"), "nothing of the request in it");
    let r = responded(env.decide(&req("GET", "/admin", &[("cookie", &c)])));
    assert_eq!(json_of(&r)["code"], "forbidden");
    // A cross-site form post: 403 csrf as a page.
    let r = responded(env.decide(&req(
        "POST",
        "/api/x",
        &[("cookie", &c), HTML, ("origin", "https://evil.example")],
    )));
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(r.body()).contains(">csrf<"));
    // 400 is not one of them: JSON for everyone.
    let r = responded(env.decide(&req("GET", &format!("/{}", "a/".repeat(200)), &[HTML])));
    assert_eq!(json_of(&r)["code"], "invalid_request");
}
