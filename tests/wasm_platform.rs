//! wasm-bindgen tests of the code that touches JS types (run under Node by
//! wasm-bindgen-test-runner). Compiled on wasm32 only.
#![cfg(target_arch = "wasm32")]

use edge_session::http::{header_lines, read_request, to_js_response};
use edge_session::platform::JsClock;
use session_core::clock::Clock;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn js_clock_reads_date_now() {
    let before = js_sys::Date::now() as i64;
    let now = JsClock.now_ms();
    let after = js_sys::Date::now() as i64;
    assert!(
        before <= now && now <= after,
        "{before} <= {now} <= {after}"
    );
    // Sanity: after 2020-01-01, in milliseconds (not seconds).
    assert!(now > 1_577_836_800_000);
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        js_sys::Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

/// `request.cf.country` as the request head's country: absent, `null`, not
/// an object or not a string are all no country.
#[wasm_bindgen_test]
fn request_head_reads_the_country_of_request_cf_and_tolerates_its_absence() {
    let cases = [
        (object(&[("country", JsValue::from_str("FR"))]), Some("FR")),
        (object(&[("country", JsValue::from_f64(5.0))]), None),
        (object(&[("country", JsValue::from_str("F\nR"))]), None),
        (object(&[]), None),
        (JsValue::NULL, None),
        (JsValue::from_str("FR"), None),
    ];
    for (cf, want) in cases {
        let req = worker::Request::new("https://edge.example/", worker::Method::Get).unwrap();
        js_sys::Reflect::set(req.inner(), &JsValue::from_str("cf"), &cf).unwrap();
        let head = read_request(req.inner()).unwrap().head;
        assert_eq!(head.country.as_deref(), want, "cf = {cf:?}");
    }
}

#[wasm_bindgen_test]
fn request_head_carries_method_url_and_repeated_headers() {
    let headers = worker::Headers::new();
    headers.append("X-Session-User", "spoof").unwrap();
    headers.append("Accept", "text/html").unwrap();
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Patch)
        .with_headers(headers);
    let req =
        worker::Request::new_with_init("https://edge.example/a/b?x=1&y=%C3%A9", &init).unwrap();
    let head = read_request(req.inner()).unwrap().head;
    assert_eq!(head.method, http::Method::PATCH);
    assert_eq!(head.url.path(), "/a/b");
    assert_eq!(head.url.query(), Some("x=1&y=%C3%A9"));
    assert_eq!(head.header("x-session-user"), Some("spoof"));
    assert_eq!(head.header("accept"), Some("text/html"));
    assert_eq!(head.country, None, "a constructed request has no cf");
}

/// A header value `http` cannot read (a control byte, which the runtime
/// hands over) stays out of the head and is listed as unread, so that the
/// forward removes it too.
#[wasm_bindgen_test]
fn request_head_lists_the_headers_it_cannot_read() {
    let headers = worker::Headers::new();
    headers.append("X-Session-User", "ad\u{1}min").unwrap();
    headers.append("Accept", "text/html").unwrap();
    let mut init = worker::RequestInit::new();
    init.with_headers(headers);
    let req = worker::Request::new_with_init("https://edge.example/", &init).unwrap();
    let incoming = read_request(req.inner()).unwrap();
    assert_eq!(incoming.head.header("x-session-user"), None);
    assert_eq!(incoming.head.header("accept"), Some("text/html"));
    assert_eq!(incoming.unread, ["x-session-user"]);
}

/// The forward's headers: a native copy of the request's, every name of the
/// plan's removals deleted (all values), then its additions appended; built
/// in one pass instead (`rebuild`), the same headers.
#[wasm_bindgen_test]
async fn the_forward_applies_the_plan_to_a_copy_of_the_request_headers() {
    for rebuild in [false, true] {
        forward_applies_the_plan(rebuild).await;
    }
}

async fn forward_applies_the_plan(rebuild: bool) {
    let headers = worker::Headers::new();
    headers.append("Accept", "text/html").unwrap();
    headers
        .append("Cookie", "a=1; __Host-session=es1.x")
        .unwrap();
    headers.append("X-Session-User", "spoof").unwrap();
    headers.append("X_Session_Id", "spoof").unwrap();
    headers.append("X-App", "Jos\u{e9}").unwrap();
    let mut init = worker::RequestInit::new();
    init.with_headers(headers);
    let req = worker::Request::new_with_init("https://edge.example/p", &init).unwrap();
    // The platform's `fetch`, replaced for this call by one that answers
    // with what it was given.
    let global = js_sys::global();
    let fetch = JsValue::from_str("fetch");
    let platform = js_sys::Reflect::get(&global, &fetch).unwrap();
    let origin = js_sys::Function::new_with_args(
        "url, init",
        "return Promise.resolve(new Response(null, { headers: { 'x-url': url, \
         'x-sent': JSON.stringify([...init.headers]), 'x-redirect': init.redirect } }))",
    );
    js_sys::Reflect::set(&global, &fetch, &origin).unwrap();
    let sent = edge_session::js::forward(
        req.inner(),
        "https://origin.example/p",
        "cookie\nx-session-user\nx_session_id\n",
        "cookie\na=1\nx-session-id\nabc\nx-session-id\ndef\n",
        rebuild,
    );
    js_sys::Reflect::set(&global, &fetch, &platform).unwrap();
    let sent = sent.unwrap();
    let res: web_sys::Response = wasm_bindgen_futures::JsFuture::from(sent)
        .await
        .unwrap()
        .into();
    let got = |name: &str| res.headers().get(name).unwrap().unwrap();
    assert_eq!(got("x-url"), "https://origin.example/p");
    assert_eq!(got("x-redirect"), "manual");
    let sent: Vec<(String, String)> = serde_json::from_str(&got("x-sent")).unwrap();
    let pairs: Vec<(&str, &str)> = sent.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("accept", "text/html"),
            ("cookie", "a=1"),
            ("x-app", "Jos\u{e9}"),
            ("x-session-id", "abc, def"),
        ]
    );
    // The request itself is left as it was.
    assert_eq!(
        req.headers().get("x-session-user").unwrap().as_deref(),
        Some("spoof")
    );
}

#[wasm_bindgen_test]
fn header_maps_become_runtime_headers_with_every_value() {
    let mut map = http::HeaderMap::new();
    map.append("set-cookie", "a=1".parse().unwrap());
    map.append("set-cookie", "b=2".parse().unwrap());
    map.insert("x-session-id", "abc".parse().unwrap());
    map.insert(
        "x-app",
        http::HeaderValue::from_bytes("Jos\u{e9}".as_bytes()).unwrap(),
    );
    let lines = header_lines(&map);
    let pairs: Vec<(&str, &str)> = edge_session::js::pairs(&lines).collect();
    assert_eq!(
        pairs,
        [
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("x-session-id", "abc"),
            // UTF-8 bytes of é, one char per byte (a ByteString).
            ("x-app", "Jos\u{c3}\u{a9}"),
        ]
    );
}

#[wasm_bindgen_test]
async fn responses_keep_status_headers_and_body_and_204_has_no_body() {
    let mut problem = http::Response::new(br#"{"code":"csrf"}"#.to_vec());
    *problem.status_mut() = http::StatusCode::FORBIDDEN;
    problem
        .headers_mut()
        .insert("content-type", "application/problem+json".parse().unwrap());
    problem
        .headers_mut()
        .append("set-cookie", "a=1".parse().unwrap());
    problem
        .headers_mut()
        .append("set-cookie", "b=2".parse().unwrap());
    let r = to_js_response(problem).unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.headers().get("content-type").unwrap().as_deref(),
        Some("application/problem+json")
    );
    let cookies: js_sys::Array =
        js_sys::Reflect::get(&r.headers(), &JsValue::from_str("getSetCookie"))
            .ok()
            .and_then(|f| js_sys::Function::from(f).call0(&r.headers()).ok())
            .map(|v| js_sys::Array::from(&v))
            .unwrap();
    assert_eq!(cookies.length(), 2, "each Set-Cookie stays its own header");
    let text = wasm_bindgen_futures::JsFuture::from(r.text().unwrap())
        .await
        .unwrap();
    assert_eq!(text.as_string().as_deref(), Some(r#"{"code":"csrf"}"#));

    let mut none = http::Response::new(Vec::new());
    *none.status_mut() = http::StatusCode::NO_CONTENT;
    none.headers_mut()
        .append("set-cookie", "s=; Max-Age=0".parse().unwrap());
    // A null-body status must not throw.
    let raw = to_js_response(none).unwrap();
    assert!(raw.body().is_none());
    assert_eq!(raw.status(), 204);
}

#[wasm_bindgen_test]
fn the_js_handoff_prefilter_agrees_with_the_rust_rule() {
    // crate::js::handoff_lines picks a response's handoff headers in JS (one
    // crossing); session_http::identity::is_handoff_header owns the rule.
    let names = [
        "x-session-issue",
        "X-Session-Revoke",
        "X_Session_Issue",
        "x-session_revoke",
        "X_SESSION-ISSUE",
        "x-session-issued",
        "x-sessionissue",
        "x-session-id",
        "x_session_user",
        "issue",
        "content-type",
    ];
    let headers = web_sys::Headers::new().unwrap();
    for name in names {
        headers.append(name, "v").unwrap();
    }
    let init = web_sys::ResponseInit::new();
    init.set_headers(&headers);
    let response = web_sys::Response::new_with_opt_str_and_init(None, &init).unwrap();
    let lines = edge_session::js::handoff_lines(response.as_ref());
    let mut picked: Vec<String> = edge_session::js::pairs(&lines)
        .map(|(n, _)| n.to_owned())
        .collect();
    picked.sort();
    let mut expected: Vec<String> = names
        .iter()
        .filter(|n| session_http::identity::is_handoff_header(n))
        .map(|n| n.to_ascii_lowercase())
        .collect();
    expected.sort();
    assert_eq!(picked, expected);
}

#[wasm_bindgen_test]
fn header_lines_round_trip_every_header() {
    let headers = web_sys::Headers::new().unwrap();
    headers.append("a", "1").unwrap();
    headers.append("b", "two words").unwrap();
    headers.append("cookie", "n=Jos\u{e9}").unwrap();
    let lines = edge_session::js::header_lines(headers.as_ref());
    let pairs: Vec<(&str, &str)> = edge_session::js::pairs(&lines).collect();
    assert_eq!(
        pairs,
        [("a", "1"), ("b", "two words"), ("cookie", "n=Jos\u{e9}")]
    );
}

/// The KV adapter's read: the value whole (line breaks and all), metadata
/// only when there is some, and absent keys as `None`.
#[wasm_bindgen_test]
async fn kv_get_reads_value_and_metadata_in_one_answer() {
    use session_core::store::KvStore;
    let get = js_sys::Function::new_with_args(
        "key, type",
        "if (type !== 'text') throw new Error('not text');
         const answers = {
           a: { value: 'line 1\\nline 2', metadata: null },
           b: { value: '{\"v\":1}', metadata: { n: 1, s: 'x\\ny' } },
           c: { value: null, metadata: null },
         };
         return Promise.resolve(answers[key]);",
    );
    let kv = object(&[("getWithMetadata", get.into())]);
    let env: worker::Env = wasm_bindgen::JsCast::unchecked_into(object(&[("SESSIONS", kv)]));
    let store = edge_session::store::WorkersKv::from_env(&env);

    let a = store.get("a").await.unwrap().unwrap();
    assert_eq!(a.value, "line 1\nline 2");
    assert_eq!(a.metadata, None);
    let b = store.get("b").await.unwrap().unwrap();
    assert_eq!(b.value, r#"{"v":1}"#);
    assert_eq!(b.metadata, Some(serde_json::json!({"n": 1, "s": "x\ny"})));
    assert!(store.get("c").await.unwrap().is_none());
}

/// Awaiting promises through the one shared callback: fulfilled and rejected
/// outcomes reach their own futures in any order, and a future dropped
/// before its promise settles leaves nothing behind that a later await
/// could pick up.
#[wasm_bindgen_test]
async fn settled_promises_reach_their_own_futures() {
    use edge_session::promise::settled;
    assert_eq!(
        settled(&js_sys::Promise::resolve(&JsValue::from_f64(1.0)))
            .await
            .unwrap(),
        JsValue::from_f64(1.0)
    );
    assert_eq!(
        settled(&js_sys::Promise::reject(&JsValue::from_str("no")))
            .await
            .unwrap_err(),
        JsValue::from_str("no")
    );

    // Settled in the reverse order of their awaits.
    let mut resolvers = Vec::new();
    let mut futures = Vec::new();
    for _ in 0..3 {
        let mut resolve = None;
        let promise = js_sys::Promise::new(&mut |res, _| resolve = Some(res));
        resolvers.push(resolve.unwrap());
        futures.push(settled(&promise));
    }
    for (i, resolve) in resolvers.iter().enumerate().rev() {
        resolve
            .call1(&JsValue::UNDEFINED, &JsValue::from_f64(i as f64))
            .unwrap();
    }
    for (i, future) in futures.into_iter().enumerate() {
        assert_eq!(future.await.unwrap(), JsValue::from_f64(i as f64));
    }

    // Dropped while pending, then settled: its slot is reused cleanly.
    let mut resolve = None;
    let pending = js_sys::Promise::new(&mut |res, _| resolve = Some(res));
    drop(settled(&pending));
    resolve
        .unwrap()
        .call1(&JsValue::UNDEFINED, &JsValue::from_str("late"))
        .unwrap();
    // Let the late outcome arrive (and free the abandoned slot) first.
    let tick = js_sys::Promise::resolve(&JsValue::UNDEFINED);
    wasm_bindgen_futures::JsFuture::from(tick).await.unwrap();
    let after = settled(&js_sys::Promise::resolve(&JsValue::from_str("mine")));
    assert_eq!(after.await.unwrap(), JsValue::from_str("mine"));
}

/// A future dropped while its promise is pending must never hand that
/// promise's late outcome to the next await (requests share one slot table).
#[wasm_bindgen_test]
async fn a_dropped_await_never_reaches_the_next_one() {
    use edge_session::promise::settled;
    let mut first = None;
    let pending = js_sys::Promise::new(&mut |res, _| first = Some(res));
    drop(settled(&pending));
    let mut second = None;
    let next = js_sys::Promise::new(&mut |res, _| second = Some(res));
    let future = settled(&next);
    first
        .unwrap()
        .call1(&JsValue::UNDEFINED, &JsValue::from_str("late"))
        .unwrap();
    second
        .unwrap()
        .call1(&JsValue::UNDEFINED, &JsValue::from_str("mine"))
        .unwrap();
    assert_eq!(future.await.unwrap(), JsValue::from_str("mine"));
}

/// A thenable whose `then` throws fails its await at once, as a rejection.
#[wasm_bindgen_test]
async fn an_await_whose_then_throws_fails() {
    let hostile = js_sys::Object::new();
    let then = js_sys::Function::new_no_args("throw new Error('no then')");
    js_sys::Reflect::set(&hostile, &JsValue::from_str("then"), &then).unwrap();
    let outcome =
        edge_session::promise::settled(wasm_bindgen::JsCast::unchecked_ref(&hostile)).await;
    assert!(outcome.is_err());
}
