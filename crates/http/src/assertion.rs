//! The identity assertion (contract §6): a short-lived ES256 JWS (RFC 7515,
//! RFC 7519) the guard adds to every request it forwards with a session, as
//! `X-Session-Assertion`, so that an origin can check who the user is
//! whoever else can reach it. Origins verify it against the public keys
//! served at `{API_PREFIX}/.well-known/jwks.json` ([`jwks`]).
//!
//! ```
//! use session_http::assertion::{jwks, AssertionKeys};
//! // ASSERTION_KEYS: kid:base64(PKCS#8 DER of a P-256 private key), first signs.
//! let keys = AssertionKeys::parse(session_http::assertion::EXAMPLE_KEYS).unwrap();
//! assert_eq!(keys.kids(), ["k1"]);
//! let published = jwks(Some(&keys));
//! assert_eq!(published["keys"][0]["alg"], "ES256");
//! assert_eq!(jwks(None), serde_json::json!({ "keys": [] }));
//! ```
//!
//! What is here is pure: parsing the keys (a DER check, [`crate::key_der`],
//! no curve arithmetic), the JWKS, the claims, the signing
//! input, and the reuse of a session's recent assertion. The signature itself
//! is the platform's: the Worker signs [`Pending::signing_input`] with
//! WebCrypto (ECDSA P-256, SHA-256; its output is already the raw `r‖s` JWS
//! needs) and hands it to [`Pending::complete`]. Natively, tests sign with
//! the `p256` crate.
//!
//! Reuse: an assertion is signed for one session with the claims of that
//! moment; a request of the same session with the very same claims (`iss`,
//! `aud`, `sub`, `sid`, `auth_time`, `roles`, and signing key) within the
//! first [`REUSE_DIVISOR`]th of the TTL gets the same assertion again, so an
//! origin always receives one with at least three quarters of its TTL left,
//! and never one whose `exp` is more than the TTL after its `iat`. Any other
//! claim (new roles, another audience) signs anew. At most [`MAX_REUSED`]
//! sessions are remembered per isolate: when full, those past their reuse
//! window go, and all go when that frees less than a quarter (a burst of
//! sessions), so that remembering costs O(1) per signature, amortized.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::HeaderValue;
use serde::Serialize;
use serde_json::{json, Value};
use session_core::token::{decode_key, is_valid_kid, MAX_KID_LEN};
use session_core::Session;
use sha2::{Digest, Sha256};

use crate::http_url::HttpUrl;
use crate::identity::auth_time;
use crate::key_der::{EcPrivateKey, PrivateKeyInfo};

/// Shortest `ASSERTION_TTL`, in seconds.
pub const MIN_TTL: u64 = 10;
/// Longest `ASSERTION_TTL`, in seconds.
pub const MAX_TTL: u64 = 600;
/// `ASSERTION_TTL` when unset, in seconds.
pub const DEFAULT_TTL: u64 = 60;
/// Most keys in `ASSERTION_KEYS`.
pub const MAX_KEYS: usize = 8;
/// An assertion is reused during the first `1 / REUSE_DIVISOR` of its TTL.
pub const REUSE_DIVISOR: i64 = 4;
/// Most sessions whose last assertion an isolate remembers.
pub const MAX_REUSED: usize = 1024;
/// `Cache-Control` of the JWKS: a verifier may keep it 5 minutes, which the
/// README's rotation steps wait out.
pub const JWKS_CACHE_CONTROL: &str = "public, max-age=300";
/// The JWS algorithm: ECDSA P-256 with SHA-256.
pub const ALG: &str = "ES256";
/// Bytes of an ES256 signature: `r‖s`, 32 bytes each.
pub const SIGNATURE_BYTES: usize = 64;

/// A valid `ASSERTION_KEYS` of one key, `k1` (for examples and tests only:
/// its private key is public).
pub const EXAMPLE_KEYS: &str = "k1:MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTm002kpXDn7sFV8Hy5QOWPIF/JiacowExHnOvUFsvAyhRANCAARbU1yFMMTkqp6LjsFiHr7fKfBNWFuSAJvA6mU4U5lsaYHgasPkjEuHX0Zh5YkfWd+YI4NQNnMkK5uNqpluM2Xb";

/// `id-ecPublicKey` (RFC 5480), 1.2.840.10045.2.1, as DER contents octets.
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `secp256r1`, the named curve P-256 (RFC 5480), 1.2.840.10045.3.1.7.
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// The DER tag of an OBJECT IDENTIFIER.
const OID_TAG: u8 = 0x06;
/// The order n of P-256's base point: a private scalar is in `1..n`.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// P-256's field prime p: a coordinate is below it.
const P256_PRIME: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];

/// One key of `ASSERTION_KEYS`.
pub struct AssertionKey {
    kid: String,
    pkcs8: Vec<u8>,
    x: [u8; 32],
    y: [u8; 32],
    /// base64url of the JWS header `{"alg":"ES256","typ":"JWT","kid":…}`.
    header: String,
    /// Hex SHA-256 of the DER: names the key in the platform's key cache.
    id: String,
}

impl AssertionKey {
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The PKCS#8 DER of the private key, for the platform's signer.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// A name of this key that tells it from every other (hex SHA-256 of its
    /// DER), for the platform's cache of imported keys.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key as a JWK (RFC 7517, 7518 §6.2) with `kid`, `alg`, `use`.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(self.x),
            "y": URL_SAFE_NO_PAD.encode(self.y),
            "kid": self.kid,
            "alg": ALG,
            "use": "sig",
        })
    }
}

/// `ASSERTION_KEYS`: the first key signs, every key is published. Holds the
/// isolate's recent assertions (see the module docs).
pub struct AssertionKeys {
    keys: Vec<AssertionKey>,
    reused: RefCell<Reused>,
}

impl fmt::Debug for AssertionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionKeys")
            .field("kids", &self.kids())
            .finish()
    }
}

impl AssertionKeys {
    /// Parses `ASSERTION_KEYS`: `kid:base64(PKCS#8 DER)[,…]`. Whitespace
    /// around entries is ignored; each kid is `[A-Za-z0-9_-]{1,32}` and
    /// unique; each key is standard or URL-safe base64 (padding optional) of
    /// the PKCS#8 DER of a P-256 private key that carries its public key (as
    /// OpenSSL, Node, WebCrypto and `scripts/setup.sh` write it). The error
    /// names the entry and what is wrong, never the value.
    pub fn parse(text: &str) -> Result<AssertionKeys, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is empty".into());
        }
        let mut keys: Vec<AssertionKey> = Vec::new();
        for (index, entry) in text.split(',').enumerate() {
            let n = index + 1;
            if n > MAX_KEYS {
                return Err(format!("holds more than {MAX_KEYS} keys"));
            }
            let entry = entry.trim();
            let Some((kid, key)) = entry.split_once(':') else {
                return Err(format!("entry {n} is not of the form kid:base64key"));
            };
            let (kid, key) = (kid.trim(), key.trim());
            if !is_valid_kid(kid) {
                return Err(format!(
                    "entry {n}: key id must be 1 to {MAX_KID_LEN} characters of A-Z a-z 0-9 _ -"
                ));
            }
            if keys.iter().any(|k| k.kid == kid) {
                return Err(format!("entry {n}: the key id appears twice"));
            }
            let der =
                decode_key(key).ok_or_else(|| format!("entry {n}: key is not valid base64"))?;
            let (x, y) = check_pkcs8(&der).map_err(|why| format!("entry {n}: {why}"))?;
            let header = URL_SAFE_NO_PAD.encode(
                serde_json::to_vec(&Header {
                    alg: ALG,
                    typ: "JWT",
                    kid,
                })
                .unwrap_or_default(),
            );
            let id = Sha256::digest(&der)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            keys.push(AssertionKey {
                kid: kid.to_owned(),
                pkcs8: der,
                x,
                y,
                header,
                id,
            });
        }
        Ok(AssertionKeys {
            keys,
            reused: RefCell::default(),
        })
    }

    /// Key ids, the signing one first.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// Every key, the signing one first.
    pub fn keys(&self) -> &[AssertionKey] {
        &self.keys
    }

    /// The key that signs.
    pub fn signing_key(&self) -> &AssertionKey {
        // `parse` refuses an empty list.
        &self.keys[0]
    }

    /// How many sessions' assertions are remembered now.
    pub fn reused_len(&self) -> usize {
        self.reused.borrow().by_session.len()
    }
}

/// The JWKS document (RFC 7517 §5): every key of `keys`, `{"keys": []}`
/// without any.
pub fn jwks(keys: Option<&AssertionKeys>) -> Value {
    let keys: Vec<Value> = keys
        .map(|k| k.keys.iter().map(AssertionKey::jwk).collect())
        .unwrap_or_default();
    json!({ "keys": keys })
}

/// Checks that `der` is the PKCS#8 of a P-256 private key carrying its
/// public key; answers the public key's coordinates. Whether that public
/// key belongs to the private key takes curve arithmetic: the platform's
/// signer checks it when it imports the key (workerd refuses a mismatch).
fn check_pkcs8(der: &[u8]) -> Result<([u8; 32], [u8; 32]), &'static str> {
    let info = PrivateKeyInfo::parse(der).ok_or("is not PKCS#8 DER")?;
    if info.algorithm != EC_PUBLIC_KEY {
        return Err("is not an elliptic-curve key (it must be P-256)");
    }
    let curve = info.parameters.filter(|p| p.tag == OID_TAG);
    if curve.map(|p| p.contents) != Some(P256) {
        return Err("is not a P-256 key");
    }
    let ec = EcPrivateKey::parse(info.private_key).ok_or("its EC private key is malformed")?;
    if ec.parameters.is_some_and(|curve| curve != P256) {
        return Err("is not a P-256 key");
    }
    p256_key(ec.private_key, ec.public_key, info.public_key)
}

/// The checks of a P-256 key once its DER is read: `d` a scalar of the
/// curve, one public key (the EC key's, the PKCS#8 wrapper's, or both the
/// same), uncompressed, with coordinates in the field; answers them.
fn p256_key(
    d: &[u8],
    inner: Option<&[u8]>,
    outer: Option<&[u8]>,
) -> Result<([u8; 32], [u8; 32]), &'static str> {
    if d.len() != 32 || d.iter().all(|&b| b == 0) || d >= &P256_ORDER[..] {
        return Err("its private key is not a P-256 scalar");
    }
    let point = match (inner, outer) {
        (Some(inner), Some(outer)) if inner != outer => {
            return Err("carries two different public keys")
        }
        (Some(point), _) | (None, Some(point)) => point,
        (None, None) => return Err(
            "carries no public key (write it with `openssl pkcs8 -topk8 -nocrypt -outform DER`)",
        ),
    };
    match point {
        [0x04, xy @ ..] if xy.len() == 64 => {
            let (x, y) = xy.split_at(32);
            if x >= &P256_PRIME[..] || y >= &P256_PRIME[..] {
                return Err("its public key is not a P-256 point");
            }
            let mut out = ([0u8; 32], [0u8; 32]);
            out.0.copy_from_slice(x);
            out.1.copy_from_slice(y);
            Ok(out)
        }
        _ => Err("its public key is not an uncompressed P-256 point"),
    }
}

/// The claims of an assertion but its times: what decides whether a
/// session's last assertion may be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The userId.
    pub sub: String,
    /// The session id.
    pub sid: String,
    /// When the user last proved who they are (`authenticatedAt`), seconds.
    pub auth_time: i64,
    /// The strings of `meta.roles` (as the guard reads them for
    /// `role:NAME`), `[]` when it is not an array.
    pub roles: Vec<String>,
}

/// The JWS header, members in the contract's order.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Payload<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    sid: &'a str,
    iat: i64,
    exp: i64,
    auth_time: i64,
    roles: &'a [String],
}

impl Claims {
    /// The claims of `session` for a request to `request_url` (see
    /// [`AssertionSettings`] for `iss` and `aud`).
    pub fn of(
        settings: &AssertionSettings,
        request_url: &HttpUrl,
        origin_url: Option<&HttpUrl>,
        session: &Session,
    ) -> Claims {
        let roles = session.meta.roles();
        Claims {
            iss: settings
                .issuer
                .clone()
                .unwrap_or_else(|| request_url.origin().to_owned()),
            aud: settings
                .audience
                .clone()
                .unwrap_or_else(|| origin_url.unwrap_or(request_url).origin().to_owned()),
            sub: session.user_id.clone(),
            sid: session.id.to_string(),
            auth_time: auth_time(session),
            roles,
        }
    }

    /// The JWS payload: these claims with `iat` and `exp`, compact JSON.
    fn payload(&self, iat: i64, exp: i64) -> Vec<u8> {
        let payload = Payload {
            iss: &self.iss,
            aud: &self.aud,
            sub: &self.sub,
            sid: &self.sid,
            iat,
            exp,
            auth_time: self.auth_time,
            roles: &self.roles,
        };
        // Strings and integers only: serializing cannot fail.
        serde_json::to_vec(&payload).unwrap_or_default()
    }
}

/// The assertion vars: `ASSERTION_KEYS`, `ASSERTION_ISSUER`,
/// `ASSERTION_AUDIENCE`, `ASSERTION_TTL` (parsed by [`crate::config`]).
#[derive(Debug, Clone)]
pub struct AssertionSettings {
    /// `None`: no assertion is sent.
    pub keys: Option<Rc<AssertionKeys>>,
    /// `iss`; `None`: the Worker's own origin (the request's).
    pub issuer: Option<String>,
    /// `aud`; `None`: `ORIGIN_URL`'s origin, else the request's own.
    pub audience: Option<String>,
    /// Seconds from `iat` to `exp`.
    pub ttl: u64,
}

impl Default for AssertionSettings {
    fn default() -> AssertionSettings {
        AssertionSettings {
            keys: None,
            issuer: None,
            audience: None,
            ttl: DEFAULT_TTL,
        }
    }
}

impl PartialEq for AssertionSettings {
    /// Keys compare by their ids (a private key is not read back).
    fn eq(&self, other: &AssertionSettings) -> bool {
        self.keys.as_ref().map(|k| k.kids()) == other.keys.as_ref().map(|k| k.kids())
            && self.issuer == other.issuer
            && self.audience == other.audience
            && self.ttl == other.ttl
    }
}

/// The assertion of one forwarded request.
#[derive(Debug)]
pub enum Signing {
    /// Reused: the header value as it was sent before.
    Ready(HeaderValue),
    /// To be signed by the platform, then [`Pending::complete`]d.
    Pending(Pending),
}

impl AssertionSettings {
    /// The assertion for `session` on a request to `request_url` at
    /// `now_ms`; `None` without `ASSERTION_KEYS`. Costs no storage call.
    pub fn prepare(
        &self,
        request_url: &HttpUrl,
        origin_url: Option<&HttpUrl>,
        session: &Session,
        now_ms: i64,
    ) -> Option<Signing> {
        let keys = self.keys.as_ref()?;
        let claims = Claims::of(self, request_url, origin_url, session);
        let ttl_ms = (self.ttl as i64).saturating_mul(1000);
        if let Some(value) = keys.reused.borrow().get(&claims, now_ms, ttl_ms) {
            return Some(Signing::Ready(value));
        }
        let iat = now_ms.div_euclid(1000);
        let exp = iat.saturating_add(self.ttl as i64);
        let key = keys.signing_key();
        let mut input = String::with_capacity(512);
        input.push_str(&key.header);
        input.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.payload(iat, exp), &mut input);
        Some(Signing::Pending(Pending {
            keys: Rc::clone(keys),
            claims,
            signed_at_ms: now_ms,
            ttl_ms,
            input,
        }))
    }
}

/// An assertion waiting for its signature.
#[derive(Clone)]
pub struct Pending {
    keys: Rc<AssertionKeys>,
    claims: Claims,
    signed_at_ms: i64,
    ttl_ms: i64,
    input: String,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("kid", &self.key().kid)
            .field("sid", &self.claims.sid)
            .finish()
    }
}

/// A signature that is not 64 bytes of `r‖s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSignature;

impl Pending {
    /// The key to sign with.
    pub fn key(&self) -> &AssertionKey {
        self.keys.signing_key()
    }

    /// What to sign: `base64url(header) . base64url(payload)`.
    pub fn signing_input(&self) -> &[u8] {
        self.input.as_bytes()
    }

    /// The claims signed (times aside).
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The compact JWS with its ES256 `signature` (`r‖s`, as WebCrypto's
    /// ECDSA gives it), remembered for reuse by the session's next requests.
    pub fn complete(self, signature: &[u8]) -> Result<HeaderValue, BadSignature> {
        if signature.len() != SIGNATURE_BYTES {
            return Err(BadSignature);
        }
        let mut jws = self.input;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jws);
        // base64url and dots: always a valid header value.
        let value = HeaderValue::try_from(jws).map_err(|_| BadSignature)?;
        self.keys.reused.borrow_mut().put(
            Entry {
                claims: self.claims,
                signed_at_ms: self.signed_at_ms,
                value: value.clone(),
            },
            self.ttl_ms,
        );
        Ok(value)
    }
}

struct Entry {
    claims: Claims,
    signed_at_ms: i64,
    value: HeaderValue,
}

/// The last assertion of each recent session, at most [`MAX_REUSED`].
#[derive(Default)]
struct Reused {
    by_session: HashMap<String, Entry>,
}

/// Whether an assertion signed at `signed_at_ms` may still be sent at
/// `now_ms`: only during the first `1 / REUSE_DIVISOR` of its TTL (and never
/// when the clock went back).
fn reusable(signed_at_ms: i64, now_ms: i64, ttl_ms: i64) -> bool {
    now_ms >= signed_at_ms && now_ms - signed_at_ms < ttl_ms / REUSE_DIVISOR
}

impl Reused {
    fn get(&self, claims: &Claims, now_ms: i64, ttl_ms: i64) -> Option<HeaderValue> {
        let entry = self.by_session.get(&claims.sid)?;
        (entry.claims == *claims && reusable(entry.signed_at_ms, now_ms, ttl_ms))
            .then(|| entry.value.clone())
    }

    fn put(&mut self, entry: Entry, ttl_ms: i64) {
        let sid = entry.claims.sid.clone();
        if self.by_session.len() >= MAX_REUSED && !self.by_session.contains_key(&sid) {
            // Full: drop what can no longer be reused; if that frees less
            // than a quarter, drop everything. Each O(n) pass frees at least
            // n / 4 places: O(1) per insert, amortized.
            let now_ms = entry.signed_at_ms;
            self.by_session
                .retain(|_, e| reusable(e.signed_at_ms, now_ms, ttl_ms));
            if self.by_session.len() > MAX_REUSED / 4 * 3 {
                self.by_session.clear();
            }
        }
        self.by_session.insert(sid, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K2: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgoxA1s4Lyn+9gnxgB5XOkU2eqsF409gEmeqDWAo3GjhWhRANCAATup+dP6EEls5qL9dMNASM+ZY6fdGtm0wAquJHLkobv/J0OCNb1RM69/vqTFa1HN6cADhyZSWjr91IIEQATFgDD";

    fn k1() -> &'static str {
        EXAMPLE_KEYS.strip_prefix("k1:").unwrap()
    }

    fn b64(der: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(der)
    }

    fn der(key: &str) -> Vec<u8> {
        decode_key(key).unwrap()
    }

    #[test]
    fn parses_keys_in_order_and_publishes_each() {
        let keys = AssertionKeys::parse(&format!(" a:{} , b_2-X:{K2} ", k1())).unwrap();
        assert_eq!(keys.kids(), ["a", "b_2-X"]);
        assert_eq!(keys.signing_key().kid(), "a");
        let doc = jwks(Some(&keys));
        assert_eq!(doc["keys"].as_array().unwrap().len(), 2);
        // x and y of K1, as Node's `createPublicKey(...).export({format: 'jwk'})` gives them.
        assert_eq!(
            doc["keys"][0],
            json!({"kty": "EC", "crv": "P-256", "x": "W1NchTDE5Kqei47BYh6-3ynwTVhbkgCbwOplOFOZbGk",
                   "y": "geBqw-SMS4dfRmHliR9Z35gjg1A2cyQrm42qmW4zZds", "kid": "a", "alg": "ES256", "use": "sig"})
        );
        assert_eq!(doc["keys"][1]["kid"], "b_2-X");
        assert_ne!(keys.keys()[0].id(), keys.keys()[1].id());
        assert_eq!(keys.keys()[0].pkcs8_der(), der(k1()));
        // URL-safe base64 without padding reads the same.
        let url = URL_SAFE_NO_PAD.encode(der(k1()));
        let same = AssertionKeys::parse(&format!("a:{url}")).unwrap();
        assert_eq!(jwks(Some(&same))["keys"][0], doc["keys"][0]);
    }

    #[test]
    fn header_names_the_key() {
        let keys = AssertionKeys::parse(EXAMPLE_KEYS).unwrap();
        let header = URL_SAFE_NO_PAD.decode(&keys.signing_key().header).unwrap();
        assert_eq!(header, br#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#);
    }

    #[test]
    fn refuses_bad_keys_naming_the_entry_never_the_value() {
        let p384 = "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDXmVPVhzM7tkrEO8gcUxkJNUnXXvjf0p0GFmj3Hb+DhjqPH4jrWV58bMSHrRcVjLihZANiAASeSPqQo/RtZW88uoy5oEjiOG/Hd5aSn64/gMWWaC4qaYn6q/9Ym2GSVZXPSbcE97lRtATSZAenwrVYb/VUm1uJFR2YT35jukiquRrXiWaw0UHuvPVUOjfZczDg4poty4w=";
        let ed25519 = "MC4CAQAwBQYDK2VwBCIEIPAoaKjJbsEB3RwyFyLaQYpVUYagK+mCs6DqeDwJcNUt";
        let sec1_only = "MHcCAQEEINt0FMwe9Ec6slNztWBLIz5We92K8kbcIYNe5QS6W4fOoAoGCCqGSM49AwEHoUQDQgAEFqJT18crrWtxT4xI+uG2v5PmlGPg91N7EC/uJEmy6chbGt8mv+JE9z5ku3xp6XO52EMV5vW6f2DhG8jdJ4/K8A==";
        // K1 as Java's SunEC used to write it: no `[1] publicKey` (67 bytes).
        let full = der(k1());
        let no_public: Vec<u8> = [
            &[0x30, 0x41][..],
            &full[3..27],
            &[0x04, 0x27, 0x30, 0x25],
            &full[31..68],
        ]
        .concat();
        let mut zero = der(k1());
        zero[36..68].fill(0);
        let mut big = der(k1());
        big[36..68].copy_from_slice(&P256_ORDER);
        let mut compressed = der(k1());
        compressed[73] = 0x02;
        let mut trailing = der(k1());
        trailing.push(0);
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "is empty"),
            ("k1".into(), "entry 1 is not of the form kid:base64key"),
            (format!("k1:{},", k1()), "entry 2 is not of the form"),
            (format!("k 1:{}", k1()), "entry 1: key id must be"),
            (
                format!("{}:{}", "k".repeat(33), k1()),
                "entry 1: key id must be",
            ),
            (
                format!("a:{},a:{K2}", k1()),
                "entry 2: the key id appears twice",
            ),
            ("k1:not base64!".into(), "entry 1: key is not valid base64"),
            ("k1:AAAA".into(), "entry 1: is not PKCS#8 DER"),
            (format!("k1:{sec1_only}"), "entry 1: is not PKCS#8 DER"),
            (
                format!("k1:{}", b64(&trailing)),
                "entry 1: is not PKCS#8 DER",
            ),
            (format!("k1:{p384}"), "entry 1: is not a P-256 key"),
            (
                format!("k1:{ed25519}"),
                "entry 1: is not an elliptic-curve key",
            ),
            (
                format!("k1:{}", b64(&no_public)),
                "entry 1: carries no public key",
            ),
            (
                format!("k1:{}", b64(&zero)),
                "entry 1: its private key is not a P-256 scalar",
            ),
            (
                format!("k1:{}", b64(&big)),
                "entry 1: its private key is not a P-256 scalar",
            ),
            (
                format!("k1:{}", b64(&compressed)),
                "entry 1: its public key is not an uncompressed",
            ),
        ];
        for (value, want) in cases {
            let e = AssertionKeys::parse(&value).unwrap_err();
            assert!(e.starts_with(want), "{value:?}: {e}");
            assert!(!e.contains("MIG") && !e.contains("AAAA"), "{e}");
        }
        let nine: Vec<String> = (0..9).map(|i| format!("k{i}:{}", k1())).collect();
        assert_eq!(
            AssertionKeys::parse(&nine.join(",")).unwrap_err(),
            "holds more than 8 keys"
        );
        let eight: Vec<String> = (0..8).map(|i| format!("k{i}:{}", k1())).collect();
        assert_eq!(
            AssertionKeys::parse(&eight.join(",")).unwrap().kids().len(),
            8
        );
    }

    /// `check_pkcs8` as it was with the `pkcs8` and `sec1` crates reading
    /// the DER: what `key_der` must agree with (the checks after the
    /// reading, `p256_key`, are the same code).
    fn check_with_der_crates(der: &[u8]) -> Result<([u8; 32], [u8; 32]), &'static str> {
        use pkcs8::der::asn1::ObjectIdentifier;
        const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
        const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
        let info = pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|_| "is not PKCS#8 DER")?;
        if info.algorithm.oid != EC_PUBLIC_KEY {
            return Err("is not an elliptic-curve key (it must be P-256)");
        }
        if info.algorithm.parameters_oid().ok() != Some(P256) {
            return Err("is not a P-256 key");
        }
        let ec = sec1::EcPrivateKey::try_from(info.private_key.as_bytes())
            .map_err(|_| "its EC private key is malformed")?;
        if let Some(params) = ec.parameters {
            if params.named_curve() != Some(P256) {
                return Err("is not a P-256 key");
            }
        }
        let outer = info.public_key.as_ref().and_then(|p| p.as_bytes());
        p256_key(ec.private_key, ec.public_key, outer)
    }

    fn tlv(tag: &[u8], contents: &[u8]) -> Vec<u8> {
        let n = contents.len();
        let len: Vec<u8> = match n {
            0..=0x7f => vec![n as u8],
            0x80..=0xff => vec![0x81, n as u8],
            _ => vec![0x82, (n >> 8) as u8, n as u8],
        };
        [tag, &len, contents].concat()
    }

    /// Keys in every shape the crates accept (and a few they refuse): v1
    /// and v2, public key inside, outside, both or neither, attributes,
    /// extension fields with short and long tag numbers, no curve in the
    /// EC key.
    fn shapes() -> Vec<Vec<u8>> {
        let full = der(k1());
        let info = crate::key_der::PrivateKeyInfo::parse(&full).unwrap();
        let ec = crate::key_der::EcPrivateKey::parse(info.private_key).unwrap();
        let alg = tlv(
            &[0x30],
            &[tlv(&[0x06], EC_PUBLIC_KEY), tlv(&[0x06], P256)].concat(),
        );
        let point = ec.public_key.unwrap();
        let bits = |p: &[u8]| [&[0u8][..], p].concat();
        let ec_key = |params: bool, public: Option<&[u8]>| {
            let mut body = [tlv(&[0x02], &[1]), tlv(&[0x04], ec.private_key)].concat();
            if params {
                body.extend(tlv(&[0xa0], &tlv(&[0x06], P256)));
            }
            if let Some(p) = public {
                body.extend(tlv(&[0xa1], &tlv(&[0x03], &bits(p))));
            }
            tlv(&[0x30], &body)
        };
        let pkcs8 = |version: u8, ec: &[u8], tail: &[Vec<u8>]| {
            let head = [tlv(&[0x02], &[version]), alg.clone(), tlv(&[0x04], ec)].concat();
            tlv(&[0x30], &[head, tail.concat()].concat())
        };
        let mut other = point.to_vec();
        other[40] ^= 1;
        let outer = |p: &[u8]| tlv(&[0x81], &bits(p));
        vec![
            full.clone(),
            der(K2),
            pkcs8(0, &ec_key(true, Some(point)), &[]),
            pkcs8(0, &ec_key(false, Some(point)), &[]),
            pkcs8(0, &ec_key(true, None), &[]),
            pkcs8(1, &ec_key(true, None), &[outer(point)]),
            pkcs8(1, &ec_key(false, Some(point)), &[outer(point)]),
            pkcs8(1, &ec_key(true, Some(point)), &[outer(&other)]),
            pkcs8(
                1,
                &ec_key(true, None),
                &[tlv(&[0x81], &[&[3u8][..], point].concat())],
            ),
            pkcs8(
                0,
                &ec_key(true, Some(point)),
                &[tlv(&[0xa0], &tlv(&[0x30], &[]))],
            ),
            pkcs8(0, &ec_key(true, Some(point)), &[tlv(&[0xa0], &[])]),
            pkcs8(
                1,
                &ec_key(true, Some(point)),
                &[outer(point), tlv(&[0xa2], &tlv(&[0x05], &[]))],
            ),
            pkcs8(
                1,
                &ec_key(true, None),
                &[outer(point), tlv(&[0xbf, 0x1f], &tlv(&[0x05], &[]))],
            ),
            pkcs8(
                1,
                &ec_key(true, None),
                &[outer(point), tlv(&[0xbf, 0x81, 0x48], &tlv(&[0x0c], b"x"))],
            ),
            pkcs8(
                0,
                &ec_key(true, Some(point)),
                &[tlv(&[0xa0], &[]), tlv(&[0xa3], &tlv(&[0x02], &[7]))],
            ),
        ]
    }

    /// One rule of DER, PKCS#8 or SEC1 each, accepted or refused.
    fn edges() -> Vec<Vec<u8>> {
        let full = der(k1());
        let info = crate::key_der::PrivateKeyInfo::parse(&full).unwrap();
        let ec = crate::key_der::EcPrivateKey::parse(info.private_key).unwrap();
        let (d, point) = (ec.private_key, ec.public_key.unwrap());
        let bits = |unused: u8, p: &[u8]| [&[unused][..], p].concat();
        let seq = |parts: &[Vec<u8>]| tlv(&[0x30], &parts.concat());
        let curve = tlv(&[0x06], P256);
        let alg = seq(&[tlv(&[0x06], EC_PUBLIC_KEY), curve.clone()]);
        let int = |v: &[u8]| tlv(&[0x02], v);
        let ec_public = tlv(&[0xa1], &tlv(&[0x03], &bits(0, point)));
        let ec1 = seq(&[
            int(&[1]),
            tlv(&[0x04], d),
            tlv(&[0xa0], &curve),
            ec_public.clone(),
        ]);
        let ec_bare = seq(&[int(&[1]), tlv(&[0x04], d)]);
        let pkcs8 = |version: &[u8], alg: &[u8], ec: &[u8], tail: &[Vec<u8>]| {
            seq(&[int(version), alg.to_vec(), tlv(&[0x04], ec), tail.concat()])
        };
        let outer = tlv(&[0x81], &bits(0, point));
        let v2 = |tail: &[u8]| pkcs8(&[1], &alg, &ec_bare, &[outer.clone(), tail.to_vec()]);
        let null = tlv(&[0x05], &[]);
        let ec_with = |parts: &[Vec<u8>]| {
            pkcs8(
                &[0],
                &alg,
                &seq(&[&[int(&[1]), tlv(&[0x04], d)][..], parts].concat()),
                &[],
            )
        };
        vec![
            // Extension fields: EXPLICIT (constructed) around exactly one element.
            v2(&[0x82, 0x00]),
            v2(&tlv(&[0x82], &null)),
            v2(&tlv(&[0xa2], &[null.clone(), null.clone()].concat())),
            v2(&tlv(&[0xa2], &tlv(&[0x07], &[]))),
            v2(&tlv(&[0xa2], &tlv(&[0x22], &[]))),
            v2(&tlv(&[0xa2], &tlv(&[0x1f, 0x20], &[]))),
            v2(&tlv(&[0xa2], &tlv(&[0x6a], &[]))),
            v2(&tlv(&[0xa2], &tlv(&[0xdf, 0x28], &[]))),
            // High tag numbers: at least 31, no leading zero group, at most 5 groups.
            v2(&tlv(&[0xbf, 0x05], &null)),
            v2(&tlv(&[0xbf, 0x80, 0x1f], &null)),
            v2(&tlv(&[0xbf, 0x81, 0x80, 0x80, 0x80, 0x00], &null)),
            v2(&tlv(&[0xbf, 0x8f, 0xff, 0xff, 0xff, 0x7f], &null)),
            v2(&tlv(&[0xbf, 0x8f, 0xff, 0xff, 0xff, 0xff], &null)),
            v2(&tlv(&[0xbf, 0x9f, 0xff, 0xff, 0xff, 0x7f], &null)),
            // Lengths: definite, in the fewest octets, at most four.
            v2(&[0xa2, 0x80, 0x05, 0x00, 0x00, 0x00]),
            v2(&[0xa2, 0x81, 0x02, 0x05, 0x00]),
            v2(&[0xa2, 0x82, 0x00, 0x02, 0x05, 0x00]),
            v2(&[0xa2, 0x85, 0, 0, 0, 0, 2, 0x05, 0x00]),
            v2(&[&[0xa2, 0x82, 0x00, 0xcb][..], &tlv(&[0x04], &[0; 200])].concat()),
            v2(&[&[0xa2, 0x81, 0xcb][..], &tlv(&[0x04], &[0; 200])].concat()),
            v2(&tlv(&[0xbf, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00], &null)),
            v2(&[0xa2, 0x03, 0x05, 0x00]),
            // [1] publicKey: a primitive BIT STRING, unused bits 0 to 7.
            pkcs8(&[1], &alg, &ec_bare, &[tlv(&[0xa1], &bits(0, point))]),
            pkcs8(&[1], &alg, &ec_bare, &[tlv(&[0x81], &[3])]),
            pkcs8(&[1], &alg, &ec_bare, &[tlv(&[0x81], &bits(8, point))]),
            pkcs8(&[1], &alg, &ec_bare, &[tlv(&[0x81], &[])]),
            pkcs8(
                &[1],
                &alg,
                &ec1,
                &[tlv(&[0x81], &bits(0, point)), outer.clone()],
            ),
            // [0] attributes: constructed, once, before [1].
            pkcs8(&[0], &alg, &ec1, &[tlv(&[0x80], &[])]),
            pkcs8(&[0], &alg, &ec1, &[tlv(&[0xa0], &[]), tlv(&[0xa0], &[])]),
            pkcs8(&[1], &alg, &ec_bare, &[outer.clone(), tlv(&[0xa0], &[])]),
            // Versions.
            pkcs8(&[2], &alg, &ec1, &[]),
            pkcs8(&[0, 0], &alg, &ec1, &[]),
            pkcs8(&[], &alg, &ec1, &[]),
            pkcs8(&[0], &alg, &ec_bare, std::slice::from_ref(&outer)),
            pkcs8(&[1], &alg, &ec1, &[]),
            // The algorithm.
            pkcs8(&[0], &seq(&[tlv(&[0x06], EC_PUBLIC_KEY)]), &ec1, &[]),
            pkcs8(
                &[0],
                &seq(&[tlv(&[0x06], EC_PUBLIC_KEY), null.clone()]),
                &ec1,
                &[],
            ),
            pkcs8(
                &[0],
                &seq(&[tlv(&[0x06], EC_PUBLIC_KEY), curve.clone(), null.clone()]),
                &ec1,
                &[],
            ),
            pkcs8(
                &[0],
                &seq(&[
                    tlv(&[0x06], &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x02]),
                    curve.clone(),
                ]),
                &ec1,
                &[],
            ),
            pkcs8(
                &[0],
                &seq(&[
                    tlv(&[0x06], EC_PUBLIC_KEY),
                    tlv(&[0x06], &[0x2b, 0x81, 0x04, 0x00, 0x22]),
                ]),
                &ec1,
                &[],
            ),
            pkcs8(
                &[0],
                &seq(&[tlv(&[0x06], EC_PUBLIC_KEY), tlv(&[0x26], &curve)]),
                &ec1,
                &[],
            ),
            // The EC key: version 1, [0] and [1] EXPLICIT, in order, nothing after.
            pkcs8(&[0], &alg, &[ec1.clone(), vec![0]].concat(), &[]),
            ec_with(&[tlv(&[0x80], &curve), ec_public.clone()]),
            ec_with(&[
                tlv(&[0xa0], &[curve.clone(), null.clone()].concat()),
                ec_public.clone(),
            ]),
            ec_with(&[
                tlv(&[0xa0], &tlv(&[0x06], &[0x2b, 0x81, 0x04, 0x00, 0x22])),
                ec_public.clone(),
            ]),
            ec_with(&[tlv(&[0xa0], &null), ec_public.clone()]),
            ec_with(&[ec_public.clone(), tlv(&[0xa0], &curve)]),
            ec_with(&[tlv(&[0xa1], &tlv(&[0x03], &bits(1, point)))]),
            ec_with(&[tlv(&[0x81], &bits(0, point))]),
            ec_with(&[ec_public.clone(), tlv(&[0xa2], &null)]),
            ec_with(&[tlv(&[0xa0], &curve)]),
            pkcs8(
                &[0],
                &alg,
                &seq(&[int(&[0]), tlv(&[0x04], d), ec_public.clone()]),
                &[],
            ),
            [full.clone(), vec![0]].concat(),
            full[..full.len() - 1].to_vec(),
        ]
    }

    #[test]
    fn key_der_reads_each_rule_as_the_der_crates_do() {
        let edges = edges();
        for (i, der) in edges.iter().enumerate() {
            assert_eq!(
                check_pkcs8(der),
                check_with_der_crates(der),
                "edge {i}: {der:02x?}"
            );
        }
        let accepted = edges.iter().filter(|d| check_pkcs8(d).is_ok()).count();
        assert!(
            (3..edges.len() - 10).contains(&accepted),
            "accepted {accepted}"
        );
    }

    #[test]
    fn key_der_reads_every_shape_as_the_der_crates_do() {
        let shapes = shapes();
        for (i, der) in shapes.iter().enumerate() {
            assert_eq!(check_pkcs8(der), check_with_der_crates(der), "shape {i}");
        }
        let accepted = shapes.iter().filter(|d| check_pkcs8(d).is_ok()).count();
        assert!(accepted >= 10, "most shapes are keys: {accepted}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Any key a byte or three away from a good one: `key_der` accepts
        /// it exactly when the crates do, with the same point.
        #[test]
        fn key_der_agrees_with_the_der_crates_on_damaged_keys(
            shape in 0usize..15,
            edits in proptest::collection::vec((0u8..4, proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 1..4),
        ) {
            let mut der = shapes()[shape].clone();
            for (kind, at, byte) in edits {
                let i = at.index(der.len() + 1);
                match kind {
                    0 if i < der.len() => der[i] = byte,
                    1 => der.truncate(i),
                    2 => der.insert(i, byte),
                    _ if i < der.len() => { der.remove(i); }
                    _ => {}
                }
            }
            let ours = check_pkcs8(&der);
            let theirs = check_with_der_crates(&der);
            proptest::prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:02x?}: {:?} vs {:?}", der, ours, theirs);
            proptest::prop_assert_eq!(ours.ok(), theirs.ok());
        }

        #[test]
        fn key_der_agrees_with_the_der_crates_on_noise(der in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..160)) {
            proptest::prop_assert_eq!(check_pkcs8(&der).ok(), check_with_der_crates(&der).ok());
        }
    }

    #[test]
    fn reuse_window_is_a_quarter_of_the_ttl() {
        assert!(reusable(1_000, 1_000, 60_000));
        assert!(reusable(1_000, 15_999, 60_000));
        assert!(!reusable(1_000, 16_000, 60_000));
        assert!(!reusable(1_000, 999, 60_000), "clock went back");
        assert!(reusable(0, 2_499, 10_000));
        assert!(!reusable(0, 2_500, 10_000));
    }
}
