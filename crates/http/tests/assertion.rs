//! The identity assertion (contract §6), natively: what the guard forwards
//! with `ASSERTION_KEYS` set, signed here with the `p256` crate as the
//! Worker signs with WebCrypto, and verified with `p256` against the JWKS
//! the API serves; the reuse of a session's assertion and its bounds;
//! `IDENTITY_HEADERS`. (The Worker's own signatures are verified by `jose`
//! and PyJWT in tests/assertion.test.mjs.)

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::HeaderMap;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePrivateKey;
use pollster::block_on;
use serde_json::{json, Value};
use session_core::{Clock, NewSession, Session, Writer};
use session_http::api;
use session_http::assertion::{Pending, MAX_REUSED, REUSE_DIVISOR};
use session_http::guard::{decide, signing_failed, Forward, GuardDecision};
use session_http::request::RequestHead;

mod support;
use support::{head, Ops, World, ASSERTION_K1, ASSERTION_K2, TOKEN_KEYS};

const T0: i64 = 1_700_000_000_123;
const RULES: &str = r#"[{"path": "/public/**", "access": "public"}]"#;

fn advance(w: &World, ms: i64) {
    w.clock.set_ms(w.clock.now_ms() + ms);
}

fn world(extra: &[(&str, &str)]) -> World {
    let base = [
        ("TOKEN_KEYS", TOKEN_KEYS),
        ("GUARD_RULES", RULES),
        ("ORIGIN_URL", "https://origin.internal:8443/base"),
        ("ASSERTION_KEYS", ASSERTION_K1),
    ];
    World::of(support::config(&base, extra), T0, 7)
}

fn login(w: &World, user: &str, roles: Value) -> (String, Session) {
    let app = w.app();
    let new = NewSession {
        meta: Some(json!({ "roles": roles, "plan": "pro" })),
        ..NewSession::for_user(user)
    };
    let (token, session) = block_on(app.sessions().unwrap().create(new)).unwrap();
    w.kv.reset_counts();
    (token.into_string(), session)
}

fn get(path: &str, token: &str, extra: &[(&str, &str)]) -> RequestHead {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    headers.extend_from_slice(extra);
    head("GET", &format!("https://edge.example{path}"), &headers)
}

/// A request the guard forwards: its decision and the request's headers,
/// from which [`Sent::headers`] makes what the Worker sends.
struct Sent {
    forward: Forward,
    request: HeaderMap,
}

impl Sent {
    /// The headers sent: the plan applied to the request's, as they stand.
    fn headers(&self) -> HeaderMap {
        self.forward.headers.apply(&self.request)
    }
}

impl std::ops::Deref for Sent {
    type Target = Forward;
    fn deref(&self) -> &Forward {
        &self.forward
    }
}

impl std::ops::DerefMut for Sent {
    fn deref_mut(&mut self) -> &mut Forward {
        &mut self.forward
    }
}

#[track_caller]
fn forwarded(w: &World, head: &RequestHead) -> Sent {
    match block_on(decide(&w.app(), head)) {
        GuardDecision::Forward(forward) => Sent {
            forward,
            request: head.headers.clone(),
        },
        GuardDecision::Respond(r) => panic!("{} {}", r.status(), String::from_utf8_lossy(r.body())),
    }
}

/// Signs a pending assertion as the Worker does (ES256 over the signing
/// input, `r‖s`), with the key the assertion names.
fn sign(pending: &Pending) -> Vec<u8> {
    let key = SigningKey::from_pkcs8_der(pending.key().pkcs8_der()).expect("PKCS#8");
    let signature: Signature = key.sign(pending.signing_input());
    signature.to_bytes().to_vec()
}

/// What the Worker does between `decide` and the fetch.
fn signed(w: &World, head: &RequestHead) -> Sent {
    completed(forwarded(w, head))
}

/// `f` with its pending assertion, if any, signed and added.
fn completed(mut f: Sent) -> Sent {
    if let Some(pending) = f.assertion.take() {
        let signature = sign(&pending);
        f.add_assertion(pending, &signature).unwrap();
    }
    f
}

/// `GET /auth/.well-known/jwks.json` of `w`.
fn jwks_response(w: &World) -> http::Response<Vec<u8>> {
    let h = head(
        "GET",
        "https://edge.example/auth/.well-known/jwks.json",
        &[],
    );
    block_on(api::handle(&w.app(), &h, b""))
}

fn jwks(w: &World) -> Value {
    let res = jwks_response(w);
    assert_eq!(res.status(), 200);
    serde_json::from_slice(res.body()).unwrap()
}

fn assertion(h: &HeaderMap) -> &str {
    let all: Vec<_> = h.get_all("x-session-assertion").iter().collect();
    assert_eq!(all.len(), 1, "one X-Session-Assertion");
    all[0].to_str().unwrap()
}

/// Verifies `jws` against the JWKS `keys` (the key its `kid` names):
/// `(header, claims)`, or why not.
fn verify(jws: &str, keys: &Value) -> Result<(Value, Value), String> {
    let parts: Vec<&str> = jws.split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err("not three parts".into());
    };
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if header["alg"] != "ES256" {
        return Err("alg".into());
    }
    let jwk = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .ok_or("unknown kid")?;
    let coord = |c: &str| URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
    let point = [vec![4u8], coord("x"), coord("y")].concat();
    let key = VerifyingKey::from_sec1_bytes(&point).map_err(|e| e.to_string())?;
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    key.verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| "bad signature".to_string())?;
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    Ok((header, claims))
}

fn claims_of(w: &World, f: &Sent) -> Value {
    verify(assertion(&f.headers()), &jwks(w)).unwrap().1
}

#[test]
fn every_claim_of_a_verified_assertion() {
    let w = world(&[("ASSERTION_TTL", "120")]);
    let (token, session) = login(&w, "zoë@example.com", json!(["admin", 7, "ops"]));
    advance(&w, 5_000);
    let f = signed(&w, &get("/app", &token, &[]));
    let (header, claims) = verify(assertion(&f.headers()), &jwks(&w)).unwrap();
    assert_eq!(header, json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}));
    let iat = (T0 + 5_000) / 1000;
    assert_eq!(
        claims,
        json!({
            "iss": "https://edge.example",
            "aud": "https://origin.internal:8443",
            "sub": "zoë@example.com",
            "sid": session.id.as_str(),
            "iat": iat,
            "exp": iat + 120,
            "auth_time": T0 / 1000,
            "roles": ["admin", "ops"],
        })
    );
    // The compact JSON lists the claims in the contract's order.
    let sent = f.headers();
    let payload = assertion(&sent).split('.').nth(1).unwrap();
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(
        text.starts_with(r#"{"iss":"#) && text.contains(r#""auth_time":"#),
        "{text}"
    );
    // Signing cost no storage call: one read, as without assertions.
    assert_eq!(w.kv.counts().reads, 1);
    assert_eq!(w.kv.counts().writes, 0);
}

#[test]
fn roles_are_empty_unless_meta_roles_is_an_array() {
    let w = world(&[]);
    for roles in [
        json!(null),
        json!("admin"),
        json!({"admin": true}),
        json!([]),
    ] {
        let (token, _) = login(&w, "u", roles);
        assert_eq!(
            claims_of(&w, &signed(&w, &get("/", &token, &[])))["roles"],
            json!([])
        );
    }
}

#[test]
fn issuer_and_audience_defaults_and_settings() {
    // No ORIGIN_URL: both are the request's own origin.
    let w = world(&[("ORIGIN_URL", "")]);
    let (token, _) = login(&w, "u", json!([]));
    let c = claims_of(&w, &signed(&w, &get("/x", &token, &[])));
    assert_eq!(
        (c["iss"].as_str(), c["aud"].as_str()),
        (Some("https://edge.example"), Some("https://edge.example"))
    );
    let w = world(&[
        ("ASSERTION_ISSUER", "https://id.example"),
        ("ASSERTION_AUDIENCE", "billing"),
    ]);
    let (token, _) = login(&w, "u", json!([]));
    let c = claims_of(&w, &signed(&w, &get("/x", &token, &[])));
    assert_eq!(
        (c["iss"].as_str(), c["aud"].as_str()),
        (Some("https://id.example"), Some("billing"))
    );
}

#[test]
fn plain_headers_carry_auth_time_and_the_assertion_too() {
    let w = world(&[]);
    let (token, session) = login(&w, "u", json!(["r"]));
    advance(&w, 90_000);
    let f = signed(&w, &get("/x", &token, &[]));
    assert_eq!(f.headers()["x-session-id"], session.id.as_str());
    assert_eq!(f.headers()["x-session-user"], "u");
    assert_eq!(
        f.headers()["x-session-auth-time"],
        (T0 / 1000).to_string().as_str()
    );
    assert_eq!(claims_of(&w, &f)["auth_time"], T0 / 1000);
    // Without keys: the plain headers and no assertion.
    let w = world(&[("ASSERTION_KEYS", "")]);
    let (token, _) = login(&w, "u", json!([]));
    let f = forwarded(&w, &get("/x", &token, &[]));
    assert!(f.assertion.is_none());
    assert!(f.headers().get("x-session-assertion").is_none());
    assert_eq!(
        f.headers()["x-session-auth-time"],
        (T0 / 1000).to_string().as_str()
    );
}

#[test]
fn identity_headers_assertion_sends_no_plain_identity() {
    let w = world(&[("IDENTITY_HEADERS", "assertion")]);
    let (token, _) = login(&w, "u", json!(["admin"]));
    let spoofed = [
        ("X-Session-Id", "forged"),
        ("X-Session-User", "admin"),
        ("X_Session_Meta", "e30"),
        ("X-Session-Auth-Time", "0"),
    ];
    let f = signed(&w, &get("/x", &token, &spoofed));
    let sent = f.headers();
    let ours: Vec<&str> = sent
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("x-session") || k.starts_with("x_session"))
        .collect();
    assert_eq!(ours, ["x-session-assertion"]);
    assert_eq!(claims_of(&w, &f)["sub"], "u");
}

#[test]
fn a_client_sent_assertion_never_reaches_the_origin() {
    let w = world(&[]);
    let (token, _) = login(&w, "alice", json!([]));
    // A valid assertion of another user, replayed by a client.
    let (mallory, _) = login(&w, "mallory", json!(["admin"]));
    let theirs = assertion(&signed(&w, &get("/x", &mallory, &[])).headers()).to_owned();
    for name in [
        "X-Session-Assertion",
        "x_session_assertion",
        "X-SESSION_ASSERTION",
    ] {
        let f = signed(&w, &get("/x", &token, &[(name, &theirs)]));
        assert_ne!(assertion(&f.headers()), theirs);
        assert_eq!(claims_of(&w, &f)["sub"], "alice");
        assert!(f
            .headers()
            .keys()
            .all(|k| k.as_str() != "x_session_assertion"));
        // A public path: stripped, and none added.
        let p = forwarded(
            &w,
            &head("GET", "https://edge.example/public/a", &[(name, &theirs)]),
        );
        assert!(p
            .headers()
            .keys()
            .all(|k| !k.as_str().contains("assertion")));
        assert!(p.assertion.is_none());
    }
}

#[test]
fn rotation_a_second_key_is_published_not_used_then_signs_first() {
    let both = format!("{ASSERTION_K1},{ASSERTION_K2}");
    let w = world(&[("ASSERTION_KEYS", &both)]);
    let (token, _) = login(&w, "u", json!([]));
    let keys = jwks(&w);
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    let old = assertion(&signed(&w, &get("/x", &token, &[])).headers()).to_owned();
    assert_eq!(verify(&old, &keys).unwrap().0["kid"], "k1");
    // Moved first: it signs, and what the old key signed still verifies.
    let swapped = format!("{ASSERTION_K2},{ASSERTION_K1}");
    let w2 = World {
        config: support::config(
            &[
                ("TOKEN_KEYS", TOKEN_KEYS),
                ("GUARD_RULES", RULES),
                ("ASSERTION_KEYS", &swapped),
            ],
            &[],
        ),
        ..w
    };
    let new = assertion(&signed(&w2, &get("/x", &token, &[])).headers()).to_owned();
    let keys2 = jwks(&w2);
    assert_eq!(verify(&new, &keys2).unwrap().0["kid"], "k2");
    assert!(verify(&old, &keys2).is_ok());
    // With k1 gone, its assertions stop verifying.
    let only_k2 = json!({"keys": [keys2["keys"][0].clone()]});
    assert_eq!(verify(&old, &only_k2).unwrap_err(), "unknown kid");
}

#[test]
fn tampering_is_refused() {
    let w = world(&[]);
    let (token, _) = login(&w, "u", json!(["user"]));
    let jws = assertion(&signed(&w, &get("/x", &token, &[])).headers()).to_owned();
    let keys = jwks(&w);
    let parts: Vec<&str> = jws.split('.').collect();
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["roles"] = json!(["admin"]);
    let payload = format!("{}.{}.{}", parts[0], enc(&claims), parts[2]);
    let header = format!(
        "{}.{}.{}",
        enc(&json!({"alg": "ES256", "typ": "JWT", "kid": "k1", "x": 1})),
        parts[1],
        parts[2]
    );
    let kid = format!(
        "{}.{}.{}",
        enc(&json!({"alg": "ES256", "typ": "JWT", "kid": "k9"})),
        parts[1],
        parts[2]
    );
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[10] ^= 1;
    let signature = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
    assert!(verify(&jws, &keys).is_ok());
    for forged in [payload, header, kid, signature] {
        assert!(verify(&forged, &keys).is_err(), "{forged}");
    }
}

#[test]
fn a_signature_that_is_not_64_bytes_is_refused_and_nothing_forwarded() {
    let w = world(&[]);
    let (token, _) = login(&w, "u", json!([]));
    let mut f = forwarded(&w, &get("/x", &token, &[]));
    let pending = f.assertion.take().unwrap();
    let p = f.add_assertion(pending.clone(), &[0u8; 70]).unwrap_err();
    assert_eq!(p, signing_failed());
    assert_eq!(p.code.as_str(), "misconfigured");
    assert!(p.detail.starts_with("ASSERTION_KEYS:"));
    assert!(f.headers().get("x-session-assertion").is_none());
    // Nothing was remembered for reuse either.
    assert!(forwarded(&w, &get("/x", &token, &[])).assertion.is_some());
}

#[test]
fn reuse_within_a_quarter_of_the_ttl_and_never_after() {
    let w = world(&[("ASSERTION_TTL", "60")]);
    let (token, _) = login(&w, "u", json!(["a"]));
    let first = assertion(&signed(&w, &get("/x", &token, &[])).headers()).to_owned();
    advance(&w, 14_999);
    let f = forwarded(&w, &get("/x", &token, &[]));
    assert!(f.assertion.is_none(), "reused: nothing to sign");
    assert_eq!(assertion(&f.headers()), first);
    advance(&w, 1);
    let f = forwarded(&w, &get("/x", &token, &[]));
    assert!(
        f.assertion.is_some(),
        "15 s = TTL / {REUSE_DIVISOR}: signed anew"
    );
    // Another session of the same user has its own.
    let (other, _) = login(&w, "u", json!(["a"]));
    assert!(forwarded(&w, &get("/x", &other, &[])).assertion.is_some());
}

#[test]
fn an_origin_never_receives_an_expired_or_overlong_assertion() {
    // Requests of a few sessions at irregular times (a fixed pseudo-random
    // walk), each TTL: what the origin receives is live and at most TTL long.
    for ttl in [10i64, 11, 60, 601 - 1] {
        let w = world(&[("ASSERTION_TTL", &ttl.to_string())]);
        let sessions: Vec<String> = (0..3)
            .map(|i| login(&w, &format!("u{i}"), json!([])).0)
            .collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut reused = 0;
        for _ in 0..400 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            advance(&w, (seed % (ttl as u64 * 400)) as i64);
            let token = &sessions[(seed >> 40) as usize % sessions.len()];
            let f = forwarded(&w, &get("/x", token, &[]));
            reused += usize::from(f.assertion.is_none());
            let f = completed(f);
            let c = claims_of(&w, &f);
            let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
            let now_s = w.clock.now_ms() as f64 / 1000.0;
            assert_eq!(exp - iat, ttl);
            assert!(
                (exp as f64) - now_s > 0.0,
                "expired: exp {exp}, now {now_s}"
            );
            assert!((exp as f64) - now_s <= ttl as f64, "longer than the TTL");
            // Reused ones keep at least three quarters of the TTL (less the
            // second `iat` is rounded down by).
            assert!((exp as f64) - now_s > (ttl as f64) * 0.75 - 1.0);
        }
        assert!(reused > 0, "ttl {ttl}: the walk reused nothing");
    }
}

#[test]
fn a_change_of_roles_is_never_served_a_stale_assertion() {
    let w = world(&[]);
    let (token, session) = login(&w, "u", json!(["user"]));
    let first = signed(&w, &get("/x", &token, &[]));
    assert_eq!(claims_of(&w, &first)["roles"], json!(["user"]));
    advance(&w, 1_000);
    // The admin API grants a role; within the reuse window.
    let app = w.app();
    block_on(app.sessions().unwrap().update_session(
        &session,
        &json!({"meta": {"roles": ["user", "admin"]}}),
        Writer::Admin,
    ))
    .unwrap();
    let f = forwarded(&w, &get("/x", &token, &[]));
    let pending = f.assertion.as_ref().expect("new claims: signed anew");
    assert_eq!(pending.claims().roles, ["user", "admin"]);
    let f = signed(&w, &get("/x", &token, &[]));
    assert_eq!(claims_of(&w, &f)["roles"], json!(["user", "admin"]));
    // Taken away again: not the assertion of before either.
    advance(&w, 1_000);
    block_on(w.app().sessions().unwrap().update_session(
        &session,
        &json!({"meta": {"roles": ["user"]}}),
        Writer::Admin,
    ))
    .unwrap();
    let f = signed(&w, &get("/x", &token, &[]));
    assert_eq!(claims_of(&w, &f)["roles"], json!(["user"]));
    assert_ne!(assertion(&f.headers()), assertion(&first.headers()));
    // A request to another host (another default `iss`) is not served this one.
    let w = world(&[("ORIGIN_URL", "")]);
    let (token, _) = login(&w, "u", json!([]));
    let a = signed(&w, &get("/x", &token, &[]));
    let other = head(
        "GET",
        "https://other.example/x",
        &[("authorization", &format!("Bearer {token}"))],
    );
    let f = forwarded(&w, &other);
    assert!(f.assertion.is_some());
    assert_eq!(
        f.assertion.as_ref().unwrap().claims().iss,
        "https://other.example"
    );
    assert_eq!(claims_of(&w, &a)["iss"], "https://edge.example");
}

#[test]
fn the_reuse_memory_is_bounded() {
    let w = world(&[]);
    let keys = || w.config.assertion.keys.as_ref().unwrap();
    let n = 2 * MAX_REUSED + 50;
    let tokens: Vec<String> = (0..n)
        .map(|i| login(&w, &format!("u{i}"), json!([])).0)
        .collect();
    // A burst: more sessions than remembered within one reuse window.
    let mut most = 0;
    for token in &tokens {
        advance(&w, 1);
        signed(&w, &get("/x", token, &[]));
        most = most.max(keys().reused_len());
        assert!(keys().reused_len() <= MAX_REUSED);
        // The one just signed is always reused by its next request.
        assert!(forwarded(&w, &get("/x", token, &[])).assertion.is_none());
    }
    assert_eq!(most, MAX_REUSED, "it fills up before it forgets");
    // Past the reuse window, a full memory drops what can no longer be reused
    // and keeps the fresh ones.
    advance(&w, 60_000);
    for token in &tokens[..700] {
        signed(&w, &get("/x", token, &[]));
    }
    let remembered = keys().reused_len();
    assert_eq!(remembered, 700 + (n % MAX_REUSED));
    advance(&w, 15_000);
    let fresh = &tokens[700..1000];
    for token in fresh {
        signed(&w, &get("/x", token, &[]));
    }
    assert_eq!(
        keys().reused_len(),
        fresh.len(),
        "the stale ones went, the fresh stayed"
    );
    for token in fresh {
        assert!(forwarded(&w, &get("/x", token, &[])).assertion.is_none());
    }
}

#[test]
fn jwks_route() {
    let w = world(&[("ASSERTION_KEYS", &format!("{ASSERTION_K1},{ASSERTION_K2}"))]);
    let res = jwks_response(&w);
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = serde_json::from_slice(res.body()).unwrap();
    let kids: Vec<&str> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["k1", "k2"]);
    for k in doc["keys"].as_array().unwrap() {
        assert_eq!(
            (
                k["kty"].as_str(),
                k["crv"].as_str(),
                k["alg"].as_str(),
                k["use"].as_str()
            ),
            (Some("EC"), Some("P-256"), Some("ES256"), Some("sig"))
        );
        assert!(k.get("d").is_none(), "never the private key");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(k["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
    }
    // Each published key is the private key's: derived independently by p256.
    for (jwk, der) in doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .zip(w.config.assertion.keys.as_ref().unwrap().keys())
    {
        let key = SigningKey::from_pkcs8_der(der.pkcs8_der()).unwrap();
        let point = key.verifying_key().to_sec1_point(false);
        assert_eq!(URL_SAFE_NO_PAD.encode(&point.as_bytes()[1..33]), jwk["x"]);
        assert_eq!(URL_SAFE_NO_PAD.encode(&point.as_bytes()[33..]), jwk["y"]);
    }
    // No credentials needed, none looked at, and no TOKEN_KEYS either.
    let w = world(&[("TOKEN_KEYS", "")]);
    assert_eq!(jwks_response(&w).status(), 200);
    // Unset: an empty set.
    let w = world(&[("ASSERTION_KEYS", "")]);
    let res = jwks_response(&w);
    assert_eq!(
        serde_json::from_slice::<Value>(res.body()).unwrap(),
        json!({"keys": []})
    );
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let post = head(
        "POST",
        "https://edge.example/auth/.well-known/jwks.json",
        &[],
    );
    assert_eq!(block_on(api::handle(&w.app(), &post, b"")).status(), 405);
}
