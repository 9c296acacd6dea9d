//! Native tests of the session API: routing, authentication, parsing,
//! validation and rendering, against the in-memory KV with a settable clock.

use http::{HeaderMap, HeaderName, HeaderValue, Method, Response};
use serde_json::{json, Value};
use session_core::testing::{ManualClock, MemoryKv, SeededRandom};
use session_http::api::{self, OPENAPI_JSON, ROUTES};
use session_http::app::{App, ConfiguredSessions};
use session_http::config::Config;
use session_http::request::RequestHead;

mod support;

use support::ADMIN_KEY;
const T0: i64 = 1_700_000_000_000;

fn token_keys() -> String {
    format!("k1:{}", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=")
}

struct World {
    config: Config,
    kv: MemoryKv,
    clock: ManualClock,
    seed: std::cell::Cell<u64>,
}

impl World {
    fn new() -> World {
        World::with(&[])
    }

    fn with(vars: &[(&str, &str)]) -> World {
        let keys = token_keys();
        let base = [
            ("ADMIN_KEY", ADMIN_KEY),
            ("TOKEN_KEYS", keys.as_str()),
            ("ALLOWED_ORIGINS", "https://app.example"),
        ];
        let config = support::config(&base, vars);
        let clock = ManualClock::new(T0);
        World {
            config,
            kv: MemoryKv::new(clock.clone()),
            clock,
            seed: Default::default(),
        }
    }

    fn app(&self) -> App<'_, ConfiguredSessions<MemoryKv, ManualClock, SeededRandom>> {
        // Each request gets its own seed, as each Worker request has fresh randomness.
        self.seed.set(self.seed.get() + 1);
        App::new(
            &self.config,
            self.kv.clone(),
            self.clock.clone(),
            SeededRandom::new(self.seed.get()),
        )
    }

    fn call(&self, req: Req) -> Answer {
        let head = RequestHead::new(req.method, req.url.parse().unwrap(), req.headers, None);
        let response = pollster::block_on(api::handle(&self.app(), &head, &req.body));
        Answer::from(response)
    }

    /// Creates a session through the admin API; returns (token, session JSON).
    fn login(&self, body: Value) -> (String, Value) {
        let a = self.call(Req::post("/auth/admin/sessions").admin().json(&body));
        assert_eq!(a.status, 201, "{}", a.json);
        (
            a.json["token"].as_str().unwrap().to_owned(),
            a.json["session"].clone(),
        )
    }
}

struct Req {
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Req {
    fn new(method: Method, path: &str) -> Req {
        Req {
            method,
            url: format!("https://edge.example{path}"),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }
    fn get(path: &str) -> Req {
        Req::new(Method::GET, path)
    }
    fn post(path: &str) -> Req {
        Req::new(Method::POST, path)
    }
    fn patch(path: &str) -> Req {
        Req::new(Method::PATCH, path)
    }
    fn delete(path: &str) -> Req {
        Req::new(Method::DELETE, path)
    }
    fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }
    fn admin(self) -> Req {
        self.header("authorization", &format!("Bearer {ADMIN_KEY}"))
    }
    fn bearer(self, token: &str) -> Req {
        self.header("authorization", &format!("Bearer {token}"))
    }
    fn cookie(self, token: &str) -> Req {
        self.header("cookie", &format!("theme=dark; __Host-session={token}"))
    }
    fn json(self, body: &Value) -> Req {
        self.raw("application/json", &body.to_string())
    }
    fn raw(self, content_type: &str, body: &str) -> Req {
        self.bytes(content_type, body.as_bytes())
    }
    fn bytes(mut self, content_type: &str, body: &[u8]) -> Req {
        self = self.header("content-type", content_type);
        self.body = body.to_vec();
        self
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    json: Value,
}

impl From<Response<Vec<u8>>> for Answer {
    fn from(r: Response<Vec<u8>>) -> Answer {
        let json = if r.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(r.body()).expect("JSON body")
        };
        Answer {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            json,
        }
    }
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn cookies(&self) -> Vec<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
    /// Asserts a problem+json answer with this status and code.
    fn problem(&self, status: u16, code: &str) -> &Answer {
        assert_eq!(self.status, status, "{}", self.json);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.json["code"], code, "{}", self.json);
        assert_eq!(self.json["status"], status);
        for field in ["type", "title", "detail"] {
            assert!(
                self.json[field].is_string(),
                "{field} missing in {}",
                self.json
            );
        }
        self
    }
}

#[test]
fn admin_creates_a_session_and_the_token_authenticates_self_service() {
    let w = World::new();
    let (token, session) =
        w.login(json!({"userId": "alice", "label": "laptop", "meta": {"roles": ["admin"]}}));
    assert_eq!(session["userId"], "alice");
    assert_eq!(session["label"], "laptop");
    assert_eq!(session["meta"], json!({"roles": ["admin"]}));

    let me = w.call(Req::get("/auth/session").bearer(&token));
    assert_eq!(me.status, 200);
    assert_eq!(me.json, session);
    assert_eq!(me.header("cache-control"), Some("no-store"));
    let via_cookie = w.call(Req::get("/auth/session").cookie(&token));
    assert_eq!(via_cookie.json["id"], session["id"]);
}

#[test]
fn bearer_wins_over_cookie() {
    let w = World::new();
    let (alice, _) = w.login(json!({"userId": "alice"}));
    let (bob, _) = w.login(json!({"userId": "bob"}));
    let a = w.call(Req::get("/auth/session").cookie(&alice).bearer(&bob));
    assert_eq!(a.json["userId"], "bob");
    let bad = w.call(
        Req::get("/auth/session")
            .cookie(&alice)
            .bearer("es1.k1.nope"),
    );
    bad.problem(401, "invalid_token");
}

#[test]
fn missing_malformed_and_expired_tokens_answer_the_contract_codes() {
    let w = World::new();
    w.call(Req::get("/auth/session"))
        .problem(401, "unauthorized");
    w.kv.reset_counts();
    w.call(Req::get("/auth/session").bearer("garbage"))
        .problem(401, "invalid_token");
    let (token, _) = w.login(json!({"userId": "alice", "idleTtl": 60}));
    let forged = format!("{}x", &token[..token.len() - 1]);
    w.kv.reset_counts();
    w.call(Req::get("/auth/session").bearer(&forged))
        .problem(401, "invalid_token");
    assert_eq!(
        w.kv.counts().total(),
        0,
        "a forged token costs no KV operation"
    );
    w.clock.advance_secs(61);
    w.call(Req::get("/auth/session").bearer(&token))
        .problem(401, "session_expired");
}

#[test]
fn problem_details_never_contain_the_token() {
    let w = World::new();
    let (token, _) = w.login(json!({"userId": "alice"}));
    w.call(Req::delete("/auth/session").bearer(&token));
    let a = w.call(Req::get("/auth/session").bearer(&token));
    a.problem(401, "invalid_token");
    assert!(!a.json.to_string().contains(&token));
    let v = w.call(
        Req::post("/auth/admin/verify")
            .admin()
            .json(&json!({"token": token})),
    );
    v.problem(401, "invalid_token");
    assert!(!v.json.to_string().contains(&token));
}

#[test]
fn patch_applies_a_json_merge_patch() {
    let w = World::new();
    let (token, session) = w
        .login(json!({"userId": "alice", "label": "old", "meta": {"a": 1, "b": {"c": 2, "d": 3}}}));
    let path = format!("/auth/admin/sessions/{}", session["id"].as_str().unwrap());
    let a = w.call(Req::patch(&path).admin().raw(
        "application/merge-patch+json",
        r#"{"meta": {"a": null, "b": {"c": 5}, "e": [1]}}"#,
    ));
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["meta"], json!({"b": {"c": 5, "d": 3}, "e": [1]}));
    assert_eq!(a.json["label"], "old");
    let b = w.call(
        Req::patch("/auth/session")
            .bearer(&token)
            .raw("application/merge-patch+json", r#"{"label": null}"#),
    );
    assert_eq!(b.json["label"], Value::Null);
    assert_eq!(b.json["meta"], a.json["meta"]);
    assert_eq!(
        w.call(Req::get("/auth/session").bearer(&token)).json,
        b.json,
        "the patch is stored"
    );
}

#[test]
fn a_holder_can_never_write_meta() {
    // Security issue 8, finding 1: PATCH {API_PREFIX}/session with meta was a
    // privilege escalation (the holder granted itself any role).
    let w = World::new();
    let (token, _) = w.login(json!({"userId": "alice", "meta": {"roles": ["user"]}}));
    for body in [
        r#"{"meta":{"roles":["admin"]}}"#,
        r#"{"meta":null}"#,
        r#"{"label":"x","meta":{}}"#,
    ] {
        let a = w.call(
            Req::patch("/auth/session")
                .bearer(&token)
                .raw("application/json", body),
        );
        assert_eq!(a.problem(403, "forbidden").json["field"], "meta", "{body}");
        let c = w.call(
            Req::patch("/auth/session")
                .cookie(&token)
                .header("origin", "https://app.example")
                .raw("application/merge-patch+json", body),
        );
        assert_eq!(
            c.problem(403, "forbidden").json["field"],
            "meta",
            "cookie: {body}"
        );
    }
    let me = w.call(Req::get("/auth/session").bearer(&token));
    assert_eq!(me.json["meta"], json!({"roles": ["user"]}));
    assert_eq!(
        me.json["label"],
        Value::Null,
        "nothing of a refused patch is written"
    );
}

#[test]
fn malformed_json_names_line_and_column_and_never_the_input() {
    let w = World::new();
    let (token, _) = w.login(json!({"userId": "alice"}));
    let patch = |body: &[u8]| {
        let a = w.call(
            Req::patch("/auth/session")
                .bearer(&token)
                .bytes("application/json", body),
        );
        assert_eq!(a.problem(400, "invalid_request").json["field"], "body");
        a.json["detail"].as_str().unwrap().to_owned()
    };
    // serde_json's own messages for text that is UTF-8.
    assert_eq!(
        patch(b"{"),
        "body: malformed JSON: EOF while parsing an object at line 1 column 1"
    );
    assert_eq!(
        patch(b"{\"label\":\n x}"),
        "body: malformed JSON: expected value at line 2 column 2"
    );
    assert_eq!(
        patch(b"{\"label\":\"\\q\"}"),
        "body: malformed JSON: invalid escape at line 1 column 12"
    );
    // Bytes that are not UTF-8: the first one, wherever it is.
    assert_eq!(
        patch(b"{\"u\xff\xfe\":\x80}"),
        "body: malformed JSON: not UTF-8 at line 1 column 4"
    );
    assert_eq!(
        patch(b"{\n\"label\": \xc3}"),
        "body: malformed JSON: not UTF-8 at line 2 column 10"
    );
    assert_eq!(
        patch(b"\xef\xbb\xbf{}\xff"),
        "body: malformed JSON: not UTF-8 at line 1 column 6"
    );
}

#[test]
fn bad_bodies_are_400_naming_the_field_or_415() {
    let w = World::new();
    let (token, _) = w.login(json!({"userId": "alice"}));
    let patch = |body: &str| {
        w.call(
            Req::patch("/auth/session")
                .bearer(&token)
                .raw("application/json", body),
        )
    };
    assert_eq!(
        patch("{").problem(400, "invalid_request").json["field"],
        "body"
    );
    assert_eq!(
        patch("[]").problem(400, "invalid_request").json["field"],
        "body"
    );
    assert_eq!(
        patch(&json!({"label": "x".repeat(129)}).to_string())
            .problem(400, "invalid_request")
            .json["field"],
        "label"
    );
    let id = w.call(Req::get("/auth/session").bearer(&token)).json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_patch = |body: &str| {
        w.call(
            Req::patch(&format!("/auth/admin/sessions/{id}"))
                .admin()
                .raw("application/json", body),
        )
    };
    assert_eq!(
        admin_patch(r#"{"meta": 5}"#)
            .problem(400, "invalid_request")
            .json["field"],
        "meta"
    );
    let big = json!({"meta": {"k": "x".repeat(4100)}}).to_string();
    assert_eq!(
        admin_patch(&big).problem(400, "invalid_request").json["field"],
        "meta"
    );
    w.call(
        Req::patch("/auth/session")
            .bearer(&token)
            .raw("text/plain", "{}"),
    )
    .problem(415, "unsupported_media_type");
    w.call(Req::patch("/auth/session").bearer(&token))
        .problem(415, "unsupported_media_type");

    let create = |body: Value| w.call(Req::post("/auth/admin/sessions").admin().json(&body));
    for (body, field) in [
        (json!({}), "userId"),
        (json!({"userId": 5}), "userId"),
        (json!({"userId": ""}), "userId"),
        (json!({"userId": "é".repeat(129)}), "userId"),
        (json!({"userId": "a", "label": 3}), "label"),
        (json!({"userId": "a", "meta": []}), "meta"),
        (json!({"userId": "a", "idleTtl": 59}), "idleTtl"),
        (json!({"userId": "a", "idleTtl": "60"}), "idleTtl"),
        (json!({"userId": "a", "idleTtl": 61.5}), "idleTtl"),
        (
            json!({"userId": "a", "absoluteTtl": 31_536_001}),
            "absoluteTtl",
        ),
        // One TTL rule everywhere (session_core::policy): the shorter
        // absolute TTL is the one at fault, as the configuration reports it.
        (
            json!({"userId": "a", "idleTtl": 120, "absoluteTtl": 60}),
            "absoluteTtl",
        ),
        (json!({"userId": "a", "colour": "red"}), "colour"),
    ] {
        let a = create(body.clone());
        a.problem(400, "invalid_request");
        assert_eq!(a.json["field"], field, "{body}");
    }
    let ok = create(json!({"userId": "é".repeat(128), "idleTtl": 60, "absoluteTtl": 31_536_000}));
    assert_eq!(ok.status, 201, "{}", ok.json);
}

#[test]
fn refresh_extends_to_idle_ttl_capped_and_reissues_the_cookie_only_for_cookies() {
    let w = World::new();
    let (token, s) = w.login(json!({"userId": "alice", "idleTtl": 600, "absoluteTtl": 900}));
    w.clock.advance_secs(500);
    let origin = "https://edge.example";
    let a = w.call(
        Req::post("/auth/session/refresh")
            .cookie(&token)
            .header("origin", origin),
    );
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(
        a.json["expiresAt"], a.json["absoluteExpiresAt"],
        "capped at absolute"
    );
    assert_ne!(a.json["expiresAt"], s["expiresAt"]);
    let cookies = a.cookies();
    assert_eq!(cookies.len(), 1);
    assert_eq!(
        cookies[0],
        format!("__Host-session={token}; Max-Age=400; Path=/; HttpOnly; Secure; SameSite=Lax")
    );
    let b = w.call(Req::post("/auth/session/refresh").bearer(&token));
    assert_eq!(b.status, 200);
    assert!(b.cookies().is_empty(), "bearer callers get no cookie");
}

#[test]
fn logout_revokes_and_clears_the_cookie() {
    let w = World::new();
    let (token, _) = w.login(json!({"userId": "alice"}));
    let a = w.call(Req::delete("/auth/session").bearer(&token));
    assert_eq!(a.status, 204);
    assert!(a.cookies()[0].contains("Max-Age=0"));
    w.call(Req::get("/auth/session").bearer(&token))
        .problem(401, "invalid_token");
}

#[test]
fn csrf_guards_cookie_authenticated_unsafe_requests_before_any_kv_read() {
    let w = World::new();
    let (token, _) = w.login(json!({"userId": "alice"}));
    w.kv.reset_counts();
    w.call(Req::delete("/auth/session").cookie(&token))
        .problem(403, "csrf");
    w.call(
        Req::delete("/auth/session")
            .cookie(&token)
            .header("origin", "https://evil.example"),
    )
    .problem(403, "csrf");
    assert_eq!(w.kv.counts().total(), 0);
    // Safe methods need no Origin; bearer requests are exempt; allowed origins pass.
    assert_eq!(w.call(Req::get("/auth/session").cookie(&token)).status, 200);
    assert_eq!(
        w.call(
            Req::post("/auth/session/refresh")
                .cookie(&token)
                .header("origin", "https://app.example")
        )
        .status,
        200
    );
    assert_eq!(
        w.call(Req::post("/auth/session/refresh").bearer(&token))
            .status,
        200
    );
    assert_eq!(
        w.call(
            Req::delete("/auth/session")
                .cookie(&token)
                .header("origin", "https://edge.example")
        )
        .status,
        204
    );
}

#[test]
fn listing_marks_the_current_session_and_revoking_others_keeps_it() {
    let w = World::new();
    let (mine, me) = w.login(json!({"userId": "alice", "meta": {"secret": true}}));
    let (other, _) = w.login(json!({"userId": "alice"}));
    w.login(json!({"userId": "bob"}));
    let list = w.call(Req::get("/auth/sessions").bearer(&mine));
    let sessions = list.json["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for s in sessions {
        assert_eq!(s["current"], s["id"] == me["id"]);
        assert!(s.get("meta").is_none(), "summaries leave meta out");
        assert_eq!(s["userId"], "alice");
    }
    w.call(Req::delete("/auth/sessions?others=maybe").bearer(&mine))
        .problem(400, "invalid_request");
    let r = w.call(Req::delete("/auth/sessions?others=true").bearer(&mine));
    assert_eq!(r.json, json!({"revoked": 1}));
    assert!(r.cookies().is_empty());
    assert_eq!(w.call(Req::get("/auth/session").bearer(&mine)).status, 200);
    w.call(Req::get("/auth/session").bearer(&other))
        .problem(401, "invalid_token");
    let all = w.call(Req::delete("/auth/sessions").bearer(&mine));
    assert_eq!(all.json, json!({"revoked": 1}));
    assert!(all.cookies()[0].contains("Max-Age=0"));
}

#[test]
fn deleting_one_session_by_id_is_limited_to_the_same_user() {
    let w = World::new();
    let (mine, _) = w.login(json!({"userId": "alice"}));
    let (_, other) = w.login(json!({"userId": "alice"}));
    let (bobs, bob) = w.login(json!({"userId": "bob"}));
    w.call(Req::delete(&format!("/auth/sessions/{}", bob["id"].as_str().unwrap())).bearer(&mine))
        .problem(404, "not_found");
    assert_eq!(
        w.call(Req::get("/auth/session").bearer(&bobs)).status,
        200,
        "bob's session survives"
    );
    w.call(Req::delete("/auth/sessions/nope").bearer(&mine))
        .problem(404, "not_found");
    assert_eq!(
        w.call(
            Req::delete(&format!("/auth/sessions/{}", other["id"].as_str().unwrap())).bearer(&mine)
        )
        .status,
        204
    );
    w.call(Req::delete(&format!("/auth/sessions/{}", other["id"].as_str().unwrap())).bearer(&mine))
        .problem(404, "not_found");
}

#[test]
fn admin_api_needs_the_key_and_is_closed_without_one() {
    let w = World::new();
    w.call(Req::get("/auth/admin/sessions"))
        .problem(401, "unauthorized");
    w.call(Req::get("/auth/admin/sessions").bearer("wrong-key-wrong-key"))
        .problem(401, "unauthorized");
    w.call(Req::get("/auth/admin/sessions").bearer(&ADMIN_KEY[..ADMIN_KEY.len() - 1]))
        .problem(401, "unauthorized");
    assert_eq!(w.call(Req::get("/auth/admin/sessions").admin()).status, 200);
    let closed = World::with(&[("ADMIN_KEY", "")]);
    closed
        .call(Req::get("/auth/admin/sessions").admin())
        .problem(503, "admin_disabled");
    closed
        .call(
            Req::post("/auth/admin/sessions")
                .admin()
                .json(&json!({"userId": "a"})),
        )
        .problem(503, "admin_disabled");
}

#[test]
fn without_token_keys_every_session_route_is_misconfigured() {
    let w = World::with(&[("TOKEN_KEYS", "")]);
    w.call(Req::get("/auth/session").bearer("x"))
        .problem(503, "misconfigured");
    w.call(
        Req::post("/auth/admin/sessions")
            .admin()
            .json(&json!({"userId": "a"})),
    )
    .problem(503, "misconfigured");
    let bad = World::with(&[("TOKEN_KEYS", "k1:tooshort")]);
    let a = bad.call(Req::get("/auth/sessions"));
    a.problem(503, "misconfigured");
    assert!(a.json["detail"].as_str().unwrap().contains("TOKEN_KEYS"));
    assert!(
        !a.json["detail"].as_str().unwrap().contains("tooshort"),
        "never echo key material"
    );
}

#[test]
fn admin_reads_patches_deletes_and_verifies_sessions() {
    let w = World::new();
    let (token, s) = w.login(json!({"userId": "carol", "meta": {"x": 1}}));
    let id = s["id"].as_str().unwrap();
    assert_eq!(
        w.call(Req::get(&format!("/auth/admin/sessions/{id}")).admin())
            .json,
        s
    );
    let p = w.call(
        Req::patch(&format!("/auth/admin/sessions/{id}"))
            .admin()
            .json(&json!({"label": "kiosk", "meta": {"x": null}})),
    );
    assert_eq!(
        (p.json["label"].clone(), p.json["meta"].clone()),
        (json!("kiosk"), json!({}))
    );
    let v = w.call(
        Req::post("/auth/admin/verify")
            .admin()
            .json(&json!({"token": token})),
    );
    assert_eq!(v.json["label"], "kiosk");
    w.call(
        Req::post("/auth/admin/verify")
            .admin()
            .json(&json!({"token": 5})),
    )
    .problem(400, "invalid_request");
    w.call(Req::post("/auth/admin/verify").admin().json(&json!({})))
        .problem(400, "invalid_request");
    assert_eq!(
        w.call(Req::delete(&format!("/auth/admin/sessions/{id}")).admin())
            .status,
        204
    );
    w.call(Req::get(&format!("/auth/admin/sessions/{id}")).admin())
        .problem(404, "not_found");
    w.call(Req::delete(&format!("/auth/admin/sessions/{id}")).admin())
        .problem(404, "not_found");
    w.call(
        Req::post("/auth/admin/verify")
            .admin()
            .json(&json!({"token": token})),
    )
    .problem(401, "invalid_token");
}

#[test]
fn admin_user_routes_decode_any_user_id() {
    let w = World::new();
    let user = "a:b/c%d é 🦀";
    w.login(json!({"userId": user}));
    w.login(json!({"userId": user}));
    w.login(json!({"userId": "a:b"}));
    let encoded =
        percent_encoding::utf8_percent_encode(user, percent_encoding::NON_ALPHANUMERIC).to_string();
    let list = w.call(Req::get(&format!("/auth/admin/users/{encoded}/sessions")).admin());
    assert_eq!(list.json["sessions"].as_array().unwrap().len(), 2);
    assert!(list.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["userId"] == user && s.get("current").is_none()));
    let r = w.call(Req::delete(&format!("/auth/admin/users/{encoded}/sessions")).admin());
    assert_eq!(r.json, json!({"revoked": 2}));
    let rest = w.call(Req::get("/auth/admin/users/a%3Ab/sessions").admin());
    assert_eq!(rest.json["sessions"].as_array().unwrap().len(), 1);
    for bad in ["%FF", "%ZZ", "a%2", "%"] {
        let a = w.call(Req::get(&format!("/auth/admin/users/{bad}/sessions")).admin());
        assert_eq!(
            a.problem(400, "invalid_request").json["field"],
            "userId",
            "{bad}"
        );
    }
}

#[test]
fn admin_listing_paginates_without_duplicates() {
    let w = World::new();
    for i in 0..25 {
        w.login(json!({"userId": format!("user{i}")}));
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!(
                "?limit=10&cursor={}",
                percent_encoding::utf8_percent_encode(c, percent_encoding::NON_ALPHANUMERIC)
            ),
            None => "?limit=10".into(),
        };
        let a = w.call(Req::get(&format!("/auth/admin/sessions{q}")).admin());
        assert_eq!(a.status, 200, "{}", a.json);
        pages += 1;
        for s in a.json["sessions"].as_array().unwrap() {
            assert!(
                seen.insert(s["id"].as_str().unwrap().to_owned()),
                "duplicate {s}"
            );
        }
        match a.json["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (25, 3));
    for bad in ["0", "1001", "ten", "-1"] {
        let a = w.call(Req::get(&format!("/auth/admin/sessions?limit={bad}")).admin());
        assert_eq!(a.problem(400, "invalid_request").json["field"], "limit");
    }
    let c = w.call(Req::get("/auth/admin/sessions?cursor=bogus").admin());
    assert_eq!(c.problem(400, "invalid_request").json["field"], "cursor");
}

#[test]
fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let w = World::new();
    w.call(Req::get("/auth/nope")).problem(404, "not_found");
    w.call(Req::get("/auth/session/")).problem(404, "not_found");
    w.call(Req::get("/auth/admin/users//sessions").admin())
        .problem(404, "not_found");
    let a = w.call(Req::new(Method::PUT, "/auth/session"));
    a.problem(405, "method_not_allowed");
    assert_eq!(a.header("allow"), Some("GET, PATCH, DELETE"));
    assert_eq!(
        w.call(Req::get("/auth/session/refresh")).header("allow"),
        Some("POST")
    );
}

#[test]
fn store_failure_is_503_store_unavailable() {
    let w = World::new();
    let (token, _) = w.login(json!({"userId": "alice"}));
    w.kv.fail_with(Some(session_core::StoreError::Unavailable("down".into())));
    w.call(Req::get("/auth/session").bearer(&token))
        .problem(503, "store_unavailable");
    w.call(
        Req::post("/auth/admin/sessions")
            .admin()
            .json(&json!({"userId": "a"})),
    )
    .problem(503, "store_unavailable");
}

#[test]
fn cors_allows_listed_origins_with_credentials_and_answers_preflights() {
    let w = World::new();
    let pre = w.call(
        Req::new(Method::OPTIONS, "/auth/session")
            .header("origin", "https://app.example")
            .header("access-control-request-method", "PATCH"),
    );
    assert_eq!(pre.status, 204);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(pre.header("access-control-allow-credentials"), Some("true"));
    assert!(pre
        .header("access-control-allow-methods")
        .unwrap()
        .contains("PATCH"));
    let a = w.call(Req::get("/auth/session").header("origin", "https://app.example"));
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://app.example"),
        "errors carry CORS too"
    );
    let evil = w.call(Req::get("/auth/session").header("origin", "https://evil.example"));
    assert_eq!(evil.header("access-control-allow-origin"), None);
}

#[test]
fn a_custom_prefix_moves_every_route_and_the_openapi_paths() {
    let w = World::with(&[("API_PREFIX", "/api/sessions-v1")]);
    let (token, _) = w.login_at("/api/sessions-v1");
    assert_eq!(
        w.call(Req::get("/api/sessions-v1/session").bearer(&token))
            .status,
        200
    );
    let doc = w.call(Req::get("/api/sessions-v1/openapi.json"));
    assert!(doc.json["paths"].get("/api/sessions-v1/session").is_some());
    assert!(doc.json["paths"].get("/auth/session").is_none());
}

impl World {
    fn login_at(&self, prefix: &str) -> (String, Value) {
        let a = self.call(
            Req::post(&format!("{prefix}/admin/sessions"))
                .admin()
                .json(&json!({"userId": "u"})),
        );
        assert_eq!(a.status, 201, "{}", a.json);
        (
            a.json["token"].as_str().unwrap().to_owned(),
            a.json["session"].clone(),
        )
    }
}

/// Every documented operation answers (not 404/405), and every routed
/// (path, method) is documented.
#[test]
fn the_openapi_document_and_the_router_agree() {
    let doc: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        let sub = path.strip_prefix("/auth").expect("documented under /auth");
        for method in item.as_object().unwrap().keys() {
            documented.push((sub.to_owned(), method.to_uppercase()));
        }
    }
    let mut routed: Vec<(String, String)> = ROUTES
        .iter()
        .flat_map(|(p, ms)| ms.iter().map(move |m| (p.to_string(), m.to_string())))
        .collect();
    documented.sort();
    routed.sort();
    assert_eq!(documented, routed);

    let w = World::new();
    for (template, method) in &documented {
        // A fresh session per call: some operations revoke theirs.
        let (token, s) = w.login(json!({"userId": "dora"}));
        let path = format!(
            "/auth{}",
            template
                .replace("{id}", s["id"].as_str().unwrap())
                .replace("{userId}", "dora")
        );
        let mut req = Req::new(Method::from_bytes(method.as_bytes()).unwrap(), &path);
        req = if template.starts_with("/admin") {
            req.admin()
        } else {
            req.bearer(&token)
        };
        if method == "POST" || method == "PATCH" {
            let body = if template.ends_with("verify") {
                json!({"token": token})
            } else if method == "POST" {
                json!({"userId": "dora"})
            } else {
                json!({"label": "x"})
            };
            req = req.json(&body);
        }
        let a = w.call(req);
        assert!(
            a.status < 400,
            "{method} {path} answered {}: {}",
            a.status,
            a.json
        );
    }
}

#[test]
fn a_non_ascii_app_cookie_does_not_hide_the_session_cookie() {
    let w = World::new();
    let (token, _) = w.login(json!({"userId": "alice"}));
    let mut req = Req::get("/auth/session");
    // `José` as UTF-8 bytes on the wire: not visible ASCII.
    let raw = format!("name=José; __Host-session={token}");
    req.headers
        .append("cookie", HeaderValue::from_bytes(raw.as_bytes()).unwrap());
    let a = w.call(req);
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["userId"], "alice");
}

#[test]
fn debug_output_of_request_types_never_shows_the_token() {
    let token = "es1.k1.AAAAAAAAAAAAAAAAAAAAAA.c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA.dGFn";
    let mut headers = HeaderMap::new();
    headers.insert(
        "cookie",
        HeaderValue::from_str(&format!("__Host-session={token}")).unwrap(),
    );
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let head = RequestHead::new(
        Method::GET,
        "https://edge.example/x".parse().unwrap(),
        headers,
        None,
    );
    let shown = format!("{head:?}");
    assert!(
        shown.contains("cookie") && !shown.contains("c2VjcmV0"),
        "{shown}"
    );
    let presented = session_http::auth::request_token(
        head.header("authorization"),
        None,
        "__Host-session",
        |_| true,
    )
    .unwrap();
    assert!(!format!("{presented:?}").contains("c2VjcmV0"));
}

#[test]
fn malformed_bearer_tokens_are_invalid_not_missing_and_cost_no_kv() {
    let w = World::new();
    let (token, _) = w.login(json!({"userId": "alice"}));
    w.kv.reset_counts();
    for auth in [
        "Bearer a b".to_owned(),
        format!("Bearer {}", "x".repeat(5000)),
        format!("Bearer {token} extra"),
    ] {
        let a = w.call(
            Req::get("/auth/session")
                .header("authorization", &auth)
                .cookie(&token),
        );
        a.problem(401, "invalid_token");
    }
    assert_eq!(w.kv.counts().total(), 0);
    // Another scheme is not ours: the cookie is used.
    assert_eq!(
        w.call(
            Req::get("/auth/session")
                .header("authorization", "Basic dXNlcjpwYXNz")
                .cookie(&token)
        )
        .status,
        200
    );
}

#[test]
fn joined_cookie_lines_are_not_read_and_the_first_verifying_occurrence_wins() {
    // `Cookie: a=1` and `Cookie: __Host-session=…` reach the Worker joined
    // as `a=1, __Host-session=…`, which is also what a tossed cookie `a`
    // planting a token looks like: never read (clients with several Cookie
    // lines use Authorization: Bearer).
    let w = World::new();
    let (token, session) = w.login(json!({"userId": "alice"}));
    let joined =
        Req::get("/auth/session").header("cookie", &format!("a=1, __Host-session={token}"));
    w.call(joined).problem(401, "unauthorized");
    // A stale (badly tagged) cookie before the good one does not hide it, and costs no KV read.
    let stale = format!("{}A", &token[..token.len() - 1]);
    let stale = if stale == token {
        format!("{}B", &token[..token.len() - 1])
    } else {
        stale
    };
    w.kv.reset_counts();
    let two = Req::get("/auth/session").header(
        "cookie",
        &format!("__Host-session={stale}; __Host-session={token}"),
    );
    assert_eq!(w.call(two).json["id"], session["id"]);
    assert_eq!(w.kv.counts().reads, 1);
    let only_stale = Req::get("/auth/session").header("cookie", &format!("__Host-session={stale}"));
    w.call(only_stale).problem(401, "invalid_token");
}

#[test]
fn every_answer_carrying_the_session_cookie_is_kept_out_of_shared_caches() {
    // Issue 18: a response with the session cookie must not be storable by
    // a shared cache. The API's own answers are all `no-store`.
    let w = World::new();
    let origin = "https://edge.example";
    let (a, _) = w.login(json!({"userId": "alice"}));
    let (b, _) = w.login(json!({"userId": "alice"}));
    let answers = [
        w.call(
            Req::post("/auth/session/refresh")
                .cookie(&a)
                .header("origin", origin),
        ),
        w.call(
            Req::delete("/auth/session")
                .cookie(&a)
                .header("origin", origin),
        ),
        w.call(
            Req::delete("/auth/sessions")
                .cookie(&b)
                .header("origin", origin),
        ),
        // A dead cookie answered with 401.
        w.call(Req::get("/auth/session").cookie(&b)),
    ];
    let with_cookie: Vec<&Answer> = answers.iter().filter(|r| !r.cookies().is_empty()).collect();
    assert!(with_cookie.len() >= 3, "{answers:?}");
    for r in with_cookie {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    }
}
