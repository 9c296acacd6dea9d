//! The identity assertion's signature, by the platform: WebCrypto's ECDSA
//! P-256 with SHA-256, whose output is already the raw `r‖s` a JWS needs.
//! The claims, the signing input and the JWS are built by
//! `session_http::assertion`; this only signs its bytes.
//!
//! Why WebCrypto rather than a Rust crate in the wasm (measured in workerd,
//! `npm run bench`'s loop with a session per request, so that each request
//! signs): signing adds about 50–60 µs per request this way, against about
//! 730 µs with the `p256` crate (`ecdsa`, `pkcs8`) compiled into the wasm,
//! which would also add 50 KB to it (21 KB gzip). One WebCrypto signature
//! alone takes about 22 µs; the rest is the claims, the JWS and the await.
//!
//! Each key is imported once per isolate (`importKey('pkcs8')`, not
//! extractable), which also checks that its public key is the private
//! key's: a key the platform refuses fails the request with 503
//! `misconfigured`, and is imported again by the next one.

use js_sys::{Promise, Uint8Array};
use session_http::assertion::{Pending, SIGNATURE_BYTES};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
const imported = new Map();

export function es256Sign(id, der, input) {
  let key = imported.get(id);
  if (key === undefined) {
    key = crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    imported.set(id, key);
    key.catch(() => imported.delete(id));
  }
  return key
    .then((k) => crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, k, input))
    .then((signature) => new Uint8Array(signature));
}
"#)]
extern "C" {
    /// The ES256 signature of `input` (`r‖s`) with the PKCS#8 key `der`,
    /// imported once per isolate under `id`. The bytes of `der` and `input`
    /// are copied by the call itself, so views into the wasm's memory do.
    #[wasm_bindgen(js_name = es256Sign, catch)]
    fn es256_sign(id: &str, der: &[u8], input: &[u8]) -> Result<Promise, JsValue>;
}

/// Why the platform did not sign: the reason stays in the isolate (it may
/// describe the key), the request answers 503 `misconfigured`.
#[derive(Debug)]
pub struct SignError;

/// Signs `pending`'s input with its key.
pub async fn sign(pending: &Pending) -> Result<Vec<u8>, SignError> {
    let key = pending.key();
    let promise =
        es256_sign(key.id(), key.pkcs8_der(), pending.signing_input()).map_err(|_| SignError)?;
    let signature = crate::promise::settled(&promise)
        .await
        .map_err(|_| SignError)?;
    let bytes = Uint8Array::from(signature).to_vec();
    if bytes.len() != SIGNATURE_BYTES {
        return Err(SignError);
    }
    Ok(bytes)
}
