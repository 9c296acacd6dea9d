//! A sign-out (or sign-in) the Worker could not carry out never looks done
//! to the client: the handoff fails closed. Found by an attack review of
//! the fail-closed change; each failed before its fix (eb7d61f).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use pollster::block_on;
use serde_json::Value;
use session_core::{NewSession, Session};
use session_http::config::Config;
use session_http::guard::{decide, finish, Finish, Forward, GuardDecision};
use session_http::request::RequestHead;

mod support;

const T0: i64 = 1_700_000_000_000;
const COOKIE: &str = "__Host-session";
const RULES: &str = r#"[
  {"path": "/assets/**", "access": "public"},
  {"path": "/app/**", "access": "session"}
]"#;

fn token_keys() -> String {
    format!("k1:{}", STANDARD.encode([7u8; 32]))
}

fn config(token_keys: &str) -> Config {
    support::config(
        &[
            ("GUARD_RULES", RULES),
            ("SESSION_IDLE_TTL", "3600"),
            ("SESSION_ABSOLUTE_TTL", "86400"),
            ("ORIGIN_URL", "https://origin.internal"),
        ],
        &[("TOKEN_KEYS", token_keys)],
    )
}

use support::{Ops, World as Env};

impl Env {
    fn new(config: Config) -> Env {
        Env::of(config, T0, 42)
    }

    /// The same KV and clock under another configuration.
    fn with_config(&self, config: Config) -> Env {
        Env {
            config,
            kv: self.kv.clone(),
            clock: self.clock.clone(),
            random: self.random.clone(),
            ledger: self.ledger.clone(),
            events: self.events.clone(),
        }
    }

    fn create(&self, new: NewSession) -> (String, Session) {
        let app = self.app();
        let (token, s) = block_on(app.sessions().expect("configured").create(new)).unwrap();
        (token.into_string(), s)
    }

    fn works(&self, token: &str) -> bool {
        block_on(self.app().sessions().expect("configured").verify(token)).is_ok()
    }

    fn forward(&self, head: &RequestHead) -> Forward {
        match block_on(decide(&self.app(), head)) {
            GuardDecision::Forward(f) => f,
            GuardDecision::Respond(r) => panic!("not forwarded: {}", r.status()),
        }
    }

    fn finish(&self, head: &RequestHead, fwd: &Forward, origin: &HeaderMap) -> Finish {
        let pairs: Vec<(String, String)> = origin
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        block_on(finish(&self.app(), head, fwd, pairs))
    }
}

/// A request to `path` on `https://app.example.com`.
fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> RequestHead {
    support::head(method, &format!("https://app.example.com{path}"), headers)
}

fn cookie(token: &str) -> String {
    format!("{COOKIE}={token}")
}

fn origin_says(name: &str, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    );
    h
}

fn cleared() -> String {
    format!("{COOKIE}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax")
}

// ---------------------------------------------------------------------------
// R13-6: `X-Session-Revoke` while `TOKEN_KEYS` is missing or invalid. Public
// paths are forwarded then, so a public sign-out page reaches the origin,
// which answers "signed out (everywhere)"; the Worker ignores the header
// (a log line), passes the origin's answer on, and does not even clear the
// cookie. Once the key is back, every session works again: a sign-out the
// Worker could not carry out looked done, which is what a6c3936 set out to
// end ("a failed 'log out everywhere' used to look done").

#[test]
fn a_sign_out_while_token_keys_is_missing_does_not_look_done() {
    let keys = token_keys();
    let good = Env::new(config(&keys));
    let (token, _) = good.create(NewSession::for_user("u1"));
    let (other, _) = good.create(NewSession::for_user("u1"));
    // A deploy that lost the secret.
    let broken = good.with_config(config(""));
    let mut problems = Vec::new();
    for revoke in ["current", "all"] {
        // A same-origin form: a cookie without Origin is cross-site (issue 18).
        let head = req(
            "POST",
            "/assets/logout",
            &[
                ("cookie", &cookie(&token)),
                ("origin", "https://app.example.com"),
            ],
        );
        let f = broken.forward(&head);
        let fin = broken.finish(&head, &f, &origin_says("X-Session-Revoke", revoke));
        let answered = match fin.failure_response() {
            Some(r) => r.status().as_u16(),
            None => 200,
        };
        if answered != 503 || fin.set_cookies != [cleared()] {
            problems.push(format!(
                "revoke {revoke}: answered {answered} (the origin's page when 200), cookies {:?}, logs {:?}",
                fin.set_cookies, fin.logs
            ));
        }
    }
    // The key is back: nothing was revoked.
    let still = [good.works(&token), good.works(&other)];
    assert!(
        problems.is_empty(),
        "{problems:#?}; sessions still working once TOKEN_KEYS is back: {still:?}"
    );
}

// ---------------------------------------------------------------------------
// R13-7: `X-Session-Revoke: all` on a public path whose request carries an
// authentic but expired token (the device's session timed out; the user
// signs out everywhere from a public sign-out page, e.g. after noticing a
// takeover). The token is verified now, `Expired` is read as "no session",
// nothing is revoked, and the origin's "signed out everywhere" page is
// passed on: the user's other sessions (the attacker's) keep working.

#[test]
fn sign_out_everywhere_with_an_expired_token_is_not_told_done() {
    let env = Env::new(config(&token_keys()));
    let (expired, _) = env.create(NewSession {
        idle_ttl: Some(60),
        absolute_ttl: Some(120),
        ..NewSession::for_user("u1")
    });
    let (elsewhere, _) = env.create(NewSession::for_user("u1"));
    env.clock.advance_secs(200);
    let head = req(
        "POST",
        "/assets/logout-everywhere",
        &[
            ("cookie", &cookie(&expired)),
            ("origin", "https://app.example.com"),
        ],
    );
    let f = env.forward(&head);
    let fin = env.finish(&head, &f, &origin_says("X-Session-Revoke", "all"));
    assert_eq!(
        fin.failure.as_ref().map(|p| p.code.as_str()),
        Some("session_expired")
    );
    let told_done = fin.failure.is_none();
    assert!(
        !(told_done && env.works(&elsewhere)),
        "the origin's answer was passed on (logs {:?}) and the user's other session still works",
        fin.logs
    );
}

// ---------------------------------------------------------------------------
// What held: the failure path leaks nothing and is not the client's to use.

#[test]
fn a_failed_handoff_answers_a_bare_problem_with_only_the_clients_own_cookies() {
    use session_core::testing::StoreOp;
    use session_core::StoreError;
    let env = Env::new(config(&token_keys()));
    let (token, s) = env.create(NewSession::for_user("u1"));
    let head = req("GET", "/app/x", &[("cookie", &cookie(&token))]);
    let f = env.forward(&head);
    let mut origin = origin_says(
        "X-Session-Issue",
        r#"{"userId":"someone-else","meta":{"roles":["admin"]}}"#,
    );
    origin.insert(
        "set-cookie",
        HeaderValue::from_static("origin=secret-origin-cookie"),
    );
    origin.insert("x-secret", HeaderValue::from_static("origin-secret"));
    env.kv.fail_op(
        StoreOp::Write,
        Some(StoreError::Unavailable("kv internal detail".into())),
    );
    let fin = env.finish(&head, &f, &origin);
    env.kv.fail_op(StoreOp::Write, None);
    let r = fin.failure_response().expect("fails closed");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = String::from_utf8(r.body().clone()).unwrap();
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed["code"], "store_unavailable");
    for secret in [
        "kv internal detail",
        "someone-else",
        "origin-secret",
        "secret-origin-cookie",
        token.as_str(),
        s.id.as_str(),
    ] {
        assert!(!body.contains(secret), "{secret} in {body}");
        for (name, value) in r.headers() {
            assert!(
                !value.to_str().unwrap().contains(secret),
                "{secret} in {name}"
            );
        }
    }
    // Logs name no token nor header value.
    for line in &fin.logs {
        assert!(
            !line.contains("es1.") && !line.contains("someone-else"),
            "{line}"
        );
    }
    // The only cookies are the client's own (none here: no sliding due).
    assert!(fin.set_cookies.iter().all(|c| !c.contains("origin=")));
    assert!(env.works(&token), "the current session is intact");
    // A client cannot trigger it: its own handoff headers are stripped and
    // never acted on, in any spelling.
    let spoof = req(
        "GET",
        "/app/x",
        &[
            ("cookie", &cookie(&token)),
            ("X-Session-Revoke", "all"),
            ("x_session_issue", r#"{"userId":"admin"}"#),
        ],
    );
    let f = env.forward(&spoof);
    assert!(f
        .headers
        .apply(&spoof.headers)
        .keys()
        .all(|k| !k.as_str().contains("revoke") && !k.as_str().contains("issue")));
    let fin = env.finish(&spoof, &f, &HeaderMap::new());
    assert!(fin.failure.is_none() && fin.logs.is_empty());
    assert!(env.works(&token));
}
