//! Request bodies and parameters of the session API (contract §4, §5, §7):
//! any bytes as a body answer a success, 413 or a 400 problem naming a field
//! the body has or the contract defines, never anything else and never a
//! value; any media type but JSON's two answers 415; `limit`, `cursor` and
//! `userId` read as the contract says, and the cursors the listing emits,
//! given back in the query, page through every session.

use std::collections::BTreeSet;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Response};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use session_core::testing::{ManualClock, MemoryKv, SeededRandom};
use session_http::api::{self, MAX_BODY_BYTES};
use session_http::app::App;
use session_http::config::Config;
use session_http::identity::encode_user;
use session_http::request::RequestHead;

use crate::support::{self, ADMIN_KEY, TOKEN_KEYS};

/// Every generated string value starts with it: a problem holding it
/// echoed a value. (A key name, which a problem may name, is letters only:
/// `#` keeps the two apart; with "Vq" alone a key `Vq` failed once in a while.)
const MARK: &str = "Vq#";

struct World {
    config: Config,
    kv: MemoryKv,
    clock: ManualClock,
}

struct Answer {
    status: u16,
    json: Value,
}

impl World {
    fn new() -> World {
        let config = support::config(&[("ADMIN_KEY", ADMIN_KEY), ("TOKEN_KEYS", TOKEN_KEYS)], &[]);
        let clock = ManualClock::new(1_700_000_000_000);
        World {
            config,
            kv: MemoryKv::new(clock.clone()),
            clock,
        }
    }

    fn call(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let url = format!("https://edge.example{path_and_query}")
            .parse()
            .unwrap();
        let head = RequestHead::new(method, url, map, None);
        let app = App::new(
            &self.config,
            self.kv.clone(),
            self.clock.clone(),
            SeededRandom::new(body.len() as u64),
        );
        let response: Response<Vec<u8>> = pollster::block_on(api::handle(&app, &head, body));
        let json = if response.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(response.body()).expect("every answer is JSON")
        };
        Answer {
            status: response.status().as_u16(),
            json,
        }
    }

    fn admin(&self, method: Method, path: &str, body: &[u8]) -> Answer {
        let auth = format!("Bearer {ADMIN_KEY}");
        self.call(
            method,
            path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body,
        )
    }

    /// A session of `user` made through the admin API: (token, id).
    fn login(&self, user: &str) -> (String, String) {
        let a = self.admin(
            Method::POST,
            "/auth/admin/sessions",
            json!({ "userId": user }).to_string().as_bytes(),
        );
        assert_eq!(a.status, 201, "{}", a.json);
        (
            a.json["token"].as_str().unwrap().to_owned(),
            a.json["session"]["id"].as_str().unwrap().to_owned(),
        )
    }
}

/// A 400 problem: its `field`, after checking the problem's shape and that
/// its detail holds no value.
fn field_of_400(a: &Answer) -> Result<String, TestCaseError> {
    prop_assert_eq!(a.status, 400, "{}", a.json);
    prop_assert_eq!(&a.json["code"], "invalid_request");
    for member in ["type", "title", "detail"] {
        prop_assert!(a.json[member].is_string(), "{} missing: {}", member, a.json);
    }
    let detail = a.json["detail"].as_str().unwrap();
    prop_assert!(!detail.contains(MARK), "a value echoed: {}", detail);
    let field = a.json["field"].as_str();
    prop_assert!(field.is_some(), "a 400 names its field: {}", a.json);
    Ok(field.unwrap().to_owned())
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            &[
                "userId",
                "label",
                "meta",
                "idleTtl",
                "absoluteTtl",
                "token",
                "roles"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-zA-Z]{1,8}",
        Just("k".repeat(100)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..40_000_000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z0-9é ]{0,10}".prop_map(|s| Value::from(format!("{MARK}{s}"))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for field `key`, of the contract's type most of the time.
fn value_for(key: &'static str) -> BoxedStrategy<Value> {
    let typed: BoxedStrategy<Value> = match key {
        "userId" => "[a-z0-9@é]{1,12}".prop_map(Value::from).boxed(),
        "label" | "token" => "[a-z ]{0,12}"
            .prop_map(|s| Value::from(format!("{MARK}{s}")))
            .boxed(),
        "meta" => prop::collection::btree_map(key_any(), json_value(), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
            .boxed(),
        "idleTtl" | "absoluteTtl" => (0u64..40_000_000).prop_map(Value::from).boxed(),
        _ => json_value().boxed(),
    };
    prop_oneof![3 => typed, 1 => json_value()].boxed()
}

fn key_any() -> BoxedStrategy<String> {
    key().boxed()
}

/// An object of some of `keys`, each with a value of its type mostly.
fn object_with(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::vec(
        prop::sample::select(keys).prop_flat_map(|k| (Just(k), value_for(k))),
        0..4,
    )
    .prop_map(|fields| {
        let mut m = Map::new();
        for (k, v) in fields {
            m.insert(k.to_owned(), v);
        }
        Value::Object(m)
    })
}

/// Bytes as a client may send them: JSON of the right shape or not, cut
/// short, with a stray byte, nested past the parser's limit, raw bytes,
/// and, rarely, over 64 KiB.
fn body(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let json = prop_oneof![4 => object_with(keys), 1 => json_value()]
        .prop_map(|v| v.to_string().into_bytes());
    prop_oneof![
        8 => json.clone(),
        2 => (json.clone(), any::<prop::sample::Index>()).prop_map(|(b, i)| b[..i.index(b.len() + 1)].to_vec()),
        2 => (json, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut b, i, x)| {
            b.insert(i.index(b.len() + 1), x);
            b
        }),
        1 => (1usize..200).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        1 => (90usize..140).prop_map(|n| format!("{{\"userId\":\"u\",\"meta\":{}1{}}}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()),
        2 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(format!("{{\"userId\":\"{}\"}}", "u".repeat(MAX_BODY_BYTES)).into_bytes()),
    ]
}

/// The fields a 400 may name for a body: `body`, one the contract defines,
/// or one the body has (cut to 64 characters).
fn nameable(body: &[u8], defined: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = ["body"]
        .iter()
        .chain(defined)
        .map(|s| (*s).to_owned())
        .collect();
    if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) {
        names.extend(m.keys().map(|k| k.chars().take(64).collect::<String>()));
    }
    names
}

const NEW_SESSION: &[&str] = &["userId", "label", "meta", "idleTtl", "absoluteTtl"];
const PATCH: &[&str] = &["label", "meta"];

proptest! {
    #![proptest_config(crate::cases(256))]

    /// `POST /admin/sessions` with any bytes: 201 with a token and the
    /// session asked for, 413 over 64 KiB, or 400 naming a field.
    #[test]
    fn admin_create_answers_any_body(body in body(&["userId", "userId", "userId", "label", "meta", "idleTtl", "absoluteTtl", "x"])) {
        let w = World::new();
        let a = w.admin(Method::POST, "/auth/admin/sessions", &body);
        match a.status {
            201 => {
                let sent: Value = serde_json::from_slice(&body).unwrap();
                prop_assert_eq!(&a.json["session"]["userId"], &sent["userId"]);
                prop_assert!(a.json["token"].as_str().is_some_and(|t| t.starts_with("es1.")));
            }
            413 => prop_assert!(body.len() > MAX_BODY_BYTES),
            _ => {
                let field = field_of_400(&a)?;
                prop_assert!(nameable(&body, NEW_SESSION).contains(&field), "named {:?} for {:?}", field, String::from_utf8_lossy(&body));
            }
        }
    }

    /// `PATCH /admin/sessions/{id}` with any bytes: 200, 413, or 400 naming
    /// `body`, `label` or `meta`.
    #[test]
    fn admin_patch_answers_any_body(body in body(&["label", "meta", "meta", "x"])) {
        let w = World::new();
        let (_, id) = w.login("alice");
        let a = w.admin(Method::PATCH, &format!("/auth/admin/sessions/{id}"), &body);
        match a.status {
            200 => prop_assert_eq!(a.json["id"].as_str(), Some(id.as_str())),
            413 => prop_assert!(body.len() > MAX_BODY_BYTES),
            _ => {
                let field = field_of_400(&a)?;
                prop_assert!(["body", "label", "meta"].contains(&field.as_str()), "named {:?}", field);
            }
        }
    }

    /// `PATCH /session` by the holder with any bytes: 200, 413, 403 naming
    /// `meta`, or 400 naming `body` or `label`.
    #[test]
    fn holder_patch_answers_any_body(body in body(PATCH)) {
        let w = World::new();
        let (token, _) = w.login("alice");
        let auth = format!("Bearer {token}");
        let a = w.call(Method::PATCH, "/auth/session", &[("authorization", &auth), ("content-type", "application/merge-patch+json")], &body);
        match a.status {
            200 => prop_assert_eq!(&a.json["userId"], "alice"),
            413 => prop_assert!(body.len() > MAX_BODY_BYTES),
            403 => {
                prop_assert_eq!(&a.json["code"], "forbidden");
                prop_assert_eq!(&a.json["field"], "meta");
            }
            _ => {
                let field = field_of_400(&a)?;
                prop_assert!(["body", "label"].contains(&field.as_str()), "named {:?}", field);
            }
        }
    }

    /// `POST /admin/verify` with any bytes: 200 for a live token, 401 for
    /// any other string, 413, or 400 naming `body`, `token` or a field the
    /// body has.
    #[test]
    fn admin_verify_answers_any_body(body in body(&["token", "token", "x"]), real in any::<bool>()) {
        let w = World::new();
        let (token, id) = w.login("alice");
        let body = if real { json!({ "token": token }).to_string().into_bytes() } else { body };
        let a = w.admin(Method::POST, "/auth/admin/verify", &body);
        match a.status {
            200 => prop_assert_eq!(a.json["id"].as_str(), Some(id.as_str())),
            401 => prop_assert_eq!(&a.json["code"], "invalid_token"),
            413 => prop_assert!(body.len() > MAX_BODY_BYTES),
            _ => {
                let field = field_of_400(&a)?;
                prop_assert!(nameable(&body, &["token"]).contains(&field), "named {:?}", field);
            }
        }
        prop_assert!(!real || a.status == 200);
    }

    /// Any `Content-Type`: JSON's two media types (any case, any
    /// parameters) are read, every other answers 415 before the body is.
    #[test]
    fn only_json_media_types_are_read(
        media in prop_oneof![
            prop::sample::select(&["application/json", "Application/JSON", "application/merge-patch+json", " application/json ", "application/json; charset=utf-8", "text/plain", "application/jsonx", "application/x-www-form-urlencoded", "json", "application/json+x", ""][..]).prop_map(str::to_owned),
            "[ -~]{0,30}",
        ],
    ) {
        let w = World::new();
        let auth = format!("Bearer {ADMIN_KEY}");
        let body = json!({"userId": "u"}).to_string();
        let a = w.call(Method::POST, "/auth/admin/sessions", &[("authorization", &auth), ("content-type", &media)], body.as_bytes());
        let essence = media.split(';').next().unwrap().trim().to_ascii_lowercase();
        let json_type = essence == "application/json" || essence == "application/merge-patch+json";
        prop_assert_eq!(a.status, if json_type { 201 } else { 415 }, "{:?}: {}", media, a.json);
    }

    /// `limit` and `cursor` of the admin listing, any text (form-encoded in
    /// the query): a page, or 400 naming the one at fault. `limit` is a
    /// whole number from 1 to 1000 (a leading `+` is tolerated, as Rust
    /// reads numbers).
    #[test]
    fn listing_parameters_read_as_the_contract_says(
        limit in prop::option::of(prop_oneof!["[0-9]{1,5}", "[+-]?[0-9 .e]{0,6}", any::<String>()]),
        cursor in prop::option::of(prop_oneof![any::<String>(), Just("c".repeat(1025)), Just(String::new())]),
    ) {
        let w = World::new();
        w.login("alice");
        let mut query = Vec::new();
        if let Some(l) = &limit {
            query.push(format!("limit={}", encode_user(l)));
        }
        if let Some(c) = &cursor {
            query.push(format!("cursor={}", encode_user(c)));
        }
        let a = w.admin(Method::GET, &format!("/auth/admin/sessions?{}", query.join("&")), b"");
        let limit_ok = limit.as_deref().is_none_or(|l| {
            let digits = l.strip_prefix('+').unwrap_or(l);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && digits.parse::<u64>().is_ok_and(|n| (1..=1000).contains(&n))
        });
        let cursor_shape_ok = cursor.as_deref().is_none_or(|c| !c.is_empty() && c.len() <= 1024);
        if a.status == 200 {
            prop_assert!(limit_ok && cursor_shape_ok);
            prop_assert!(a.json["sessions"].is_array());
        } else {
            let field = field_of_400(&a)?;
            let expected = if !limit_ok { "limit" } else { "cursor" };
            prop_assert_eq!(field, expected);
        }
    }

    /// The cursors a listing emits, given back percent-encoded in the query,
    /// page through every session once, with any page size.
    #[test]
    fn emitted_cursors_round_trip_through_the_query(users in prop::collection::vec("[a-z]{1,3}", 0..15), limit in 1usize..6) {
        let w = World::new();
        let ids: BTreeSet<String> = users.iter().map(|u| w.login(u).1).collect();
        let mut seen = BTreeSet::new();
        let mut query = format!("limit={limit}");
        for _ in 0..=users.len() + 1 {
            let a = w.admin(Method::GET, &format!("/auth/admin/sessions?{query}"), b"");
            prop_assert_eq!(a.status, 200, "{}", a.json);
            for s in a.json["sessions"].as_array().unwrap() {
                prop_assert!(seen.insert(s["id"].as_str().unwrap().to_owned()));
            }
            match a.json["cursor"].as_str() {
                Some(c) => query = format!("cursor={}&limit={limit}", encode_user(c)),
                None => break,
            }
        }
        prop_assert_eq!(seen, ids);
    }

    /// Any userId, percent-encoded as `encodeURIComponent` does, names that
    /// user in the admin path: its listing holds exactly its session.
    #[test]
    fn user_ids_round_trip_through_the_path(user in any::<String>().prop_filter("1..=256 bytes", |u| (1..=256).contains(&u.len())), other in "[a-z]{1,4}") {
        prop_assume!(user != other);
        let w = World::new();
        let (_, id) = w.login(&user);
        w.login(&other);
        let a = w.admin(Method::GET, &format!("/auth/admin/users/{}/sessions", encode_user(&user)), b"");
        prop_assert_eq!(a.status, 200, "{}", a.json);
        let listed: Vec<&str> = a.json["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        prop_assert_eq!(listed, vec![id.as_str()]);
    }
}
