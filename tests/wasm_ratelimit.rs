//! wasm-bindgen tests of the rate limiting bindings' adapter
//! (`src/ratelimit.rs`): what each answer of `binding.limit({key})` means.
//! Compiled on wasm32 only.
#![cfg(target_arch = "wasm32")]

use edge_session::ratelimit::{is_bound, WorkerLimiters};
use js_sys::{Function, Object, Reflect};
use session_http::ratelimit::{Limiters, Outcome};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn binding(body: &str) -> JsValue {
    let o = Object::new();
    Reflect::set(
        &o,
        &"limit".into(),
        &Function::new_with_args("options", body),
    )
    .unwrap();
    o.into()
}

/// An env with one binding of each behaviour, and `SESSIONS`, which is KV.
fn env() -> worker::Env {
    let env = Object::new();
    for (name, value) in [
        ("RL_OK", binding("globalThis.rlSeen = JSON.stringify(options); return Promise.resolve({ success: true });")),
        ("RL_OVER", binding("return Promise.resolve({ success: false });")),
        ("RL_SYNC", binding("return { success: true };")),
        ("RL_THROWS", binding("throw new Error('down');")),
        ("RL_REJECTS", binding("return Promise.reject(new Error('down'));")),
        ("RL_ODD", binding("return Promise.resolve({ success: 'yes' });")),
        ("RL_NULL", binding("return Promise.resolve(null);")),
        ("SESSIONS", Object::new().into()),
        ("RL_STRING", JsValue::from_str("not a binding")),
    ] {
        Reflect::set(&env, &name.into(), &value).unwrap();
    }
    env.unchecked_into()
}

#[wasm_bindgen_test]
async fn each_answer_of_a_binding_is_one_outcome() {
    let env = env();
    let limiters = WorkerLimiters::new(env.clone());
    for (name, want) in [
        ("RL_OK", Outcome::Allowed),
        ("RL_OVER", Outcome::Limited),
        ("RL_SYNC", Outcome::Allowed),
        ("RL_THROWS", Outcome::Failed),
        ("RL_REJECTS", Outcome::Failed),
        ("RL_ODD", Outcome::Failed),
        ("RL_NULL", Outcome::Failed),
        ("SESSIONS", Outcome::Unbound),
        ("RL_STRING", Outcome::Unbound),
        ("RL_MISSING", Outcome::Unbound),
    ] {
        assert_eq!(
            limiters.limit(name, "ip:192.0.2.1".into()).await,
            want,
            "{name}"
        );
        let bound = !matches!(want, Outcome::Unbound);
        assert_eq!(is_bound(&env, name), bound, "{name}");
    }
    // The binding is given exactly `{key}`.
    let seen = Reflect::get(&js_sys::global(), &"rlSeen".into()).unwrap();
    assert_eq!(
        seen.as_string().as_deref(),
        Some(r#"{"key":"ip:192.0.2.1"}"#)
    );
}
