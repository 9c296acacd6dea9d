//! wasm-bindgen tests of the assertion's signer (`src/signing.rs`): WebCrypto
//! (here Node's, under wasm-bindgen-test-runner) signs the signing input so
//! that the key the JWKS publishes verifies it, and refuses a key whose
//! public half is not its own. Compiled on wasm32 only.
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use edge_session::signing::sign;
use session_core::layout::record;
use session_core::{Session, SessionId};
use session_http::assertion::{
    jwks, AssertionKeys, AssertionSettings, Pending, Signing, EXAMPLE_KEYS,
};
use session_http::http_url::HttpUrl;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
export function es256Verify(jwk, input, signature) {
  return crypto.subtle
    .importKey('jwk', JSON.parse(jwk), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
    .then((key) => crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, input));
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = es256Verify)]
    fn es256_verify(jwk: &str, input: &[u8], signature: &[u8]) -> js_sys::Promise;
}

async fn verifies(jwk: &serde_json::Value, input: &[u8], signature: &[u8]) -> bool {
    let promise = es256_verify(&jwk.to_string(), input, signature);
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

/// A session as a record decodes it (the test doubles of the core's service
/// are native only).
fn session() -> Session {
    const ID: &str = "WVGsEFYC4ttne-iR4ztTonYQj4Q5bcLXLOJ1_bDg7zc";
    let json = format!(
        r#"{{"v":1,"id":"{ID}","userId":"u","label":null,"meta":{{"roles":["r"]}},"client":{{"userAgent":null,"country":null}},"createdAt":1700000000000,"authenticatedAt":1700000000000,"lastSeenAt":1700000000000,"expiresAt":4102444800000,"absoluteExpiresAt":4102444800000,"idleTtl":604800,"absoluteTtl":2592000,"secretHash":"S2YizkW9EOE2SIuUIosoDJ-s0ACgEnAnO1n03MqeYw8"}}"#
    );
    record::decode(&json, &SessionId::parse(ID).unwrap()).expect("a valid record")
}

fn pending(keys: &str, session: &Session) -> Pending {
    let settings = AssertionSettings {
        keys: Some(Rc::new(AssertionKeys::parse(keys).unwrap())),
        ..AssertionSettings::default()
    };
    let url = HttpUrl::parse("https://edge.example/x").unwrap();
    match settings.prepare(&url, None, session, 1_700_000_000_000) {
        Some(Signing::Pending(p)) => p,
        other => panic!("expected an assertion to sign, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn webcrypto_signs_what_the_published_key_verifies() {
    let session = session();
    let p = pending(EXAMPLE_KEYS, &session);
    let jwk = jwks(Some(&AssertionKeys::parse(EXAMPLE_KEYS).unwrap()))["keys"][0].clone();
    let first = sign(&p).await.expect("signed");
    assert_eq!(first.len(), 64, "raw r‖s");
    assert!(verifies(&jwk, p.signing_input(), &first).await);
    // Signed again (the key is imported once): another signature (ECDSA's
    // nonce), as valid; a changed input is not.
    let second = sign(&p).await.expect("signed again");
    assert_ne!(first, second);
    assert!(verifies(&jwk, p.signing_input(), &second).await);
    let mut changed = p.signing_input().to_vec();
    changed[0] ^= 1;
    assert!(!verifies(&jwk, &changed, &first).await);
}

#[wasm_bindgen_test]
async fn a_key_whose_public_half_is_not_its_own_is_refused() {
    let session = session();
    // EXAMPLE_KEYS's private key with another key's public point.
    let mut der = STANDARD
        .decode(EXAMPLE_KEYS.strip_prefix("k1:").unwrap())
        .unwrap();
    let len = der.len();
    let jwk = jwks(Some(&AssertionKeys::parse(EXAMPLE_KEYS).unwrap()))["keys"][0].clone();
    let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    der[len - 64..len - 32].copy_from_slice(&y);
    der[len - 32..].copy_from_slice(&x);
    let mixed = format!("k1:{}", STANDARD.encode(&der));
    let p = pending(&mixed, &session);
    assert!(sign(&p).await.is_err());
    // And every time: a refused key is not kept.
    assert!(sign(&p).await.is_err());
}
