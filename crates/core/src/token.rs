//! Session tokens: issuing, parsing, tag verification, and the secret hash.
//!
//! A token is `es1.{kid}.{id}.{secret}.{tag}`:
//! - `es1`: format version;
//! - `kid`: id of the HMAC key that tagged it, `[A-Za-z0-9_-]{1,32}`;
//! - `id`: the public session id, base64url without padding: 32 bytes (43
//!   chars), the [`OwnerTag`] of its user then 16 random bytes, so that the
//!   token leads to its owner in `strong` mode without any read;
//! - `secret`: 32 CSPRNG bytes (256 bits), base64url without padding (43 chars);
//! - `tag`: HMAC-SHA-256 with key `kid` over `"edge-session token v1\0" || kid || "\0" || id || secret`
//!   (raw bytes), base64url without padding (43 chars).
//!
//! Every part is decoded strictly (canonical base64url, exact lengths), so
//! one session has exactly one spelling of its token. The tag only lets the
//! Worker refuse forged tokens without touching KV; what proves possession is
//! the secret, of which KV only holds [`SecretHash`] (SHA-256, domain separated
//! and bound to the id). A 256-bit random secret cannot be brute-forced from
//! its hash, so no key is needed for it, and rotating HMAC keys never
//! invalidates the hashes already stored.

use crate::random::{Random, RandomError};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Version tag opening every token.
pub const TOKEN_VERSION: &str = "es1";
/// Longest input [`KeyRing::verify_token`] even looks at. Real tokens are at most 168 chars.
pub const MAX_TOKEN_LEN: usize = 256;
/// Random bytes of a session id (its tail, after the owner tag).
pub const SESSION_ID_RANDOM_BYTES: usize = 16;
/// Bytes of an [`OwnerTag`], the head of a session id.
pub const OWNER_TAG_BYTES: usize = 16;
/// Bytes of a session id.
const ID_BYTES: usize = OWNER_TAG_BYTES + SESSION_ID_RANDOM_BYTES;
/// Bytes of a token secret.
pub const SECRET_BYTES: usize = 32;
/// Bytes of a tag (HMAC-SHA-256).
pub const TAG_BYTES: usize = 32;
/// Fewest bytes of an HMAC key.
pub const MIN_KEY_BYTES: usize = 32;
/// Longest key id.
pub const MAX_KID_LEN: usize = 32;

const TAG_DOMAIN: &[u8] = b"edge-session token v1\0";
const HASH_DOMAIN: &[u8] = b"edge-session secret v1\0";
const OWNER_DOMAIN: &[u8] = b"edge-session owner v1\0";
/// Characters of the base64url (no padding) form of 16 and 32 bytes.
const B64_16_CHARS: usize = 22;
const B64_32_CHARS: usize = 43;

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes canonical base64url without padding into exactly `N` bytes.
fn b64url_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    // Decoded in place (no allocation): N bytes take at most 4N/3 + 1
    // characters, and a longer text cannot decode into N.
    if text.len() > N * 4 / 3 + 1 {
        return None;
    }
    let mut out = [0u8; N];
    let n = URL_SAFE_NO_PAD.decode_slice(text, &mut out).ok()?;
    (n == N).then_some(out)
}

/// True for a valid key id: `[A-Za-z0-9_-]{1,32}`.
pub fn is_valid_kid(kid: &str) -> bool {
    (1..=MAX_KID_LEN).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Who owns a user's sessions in `strong` mode: the first 16 bytes of
/// SHA-256 over a domain tag, `KEY_PREFIX` and the userId. Every owned
/// session id starts with it, so a token names its owner (a Durable Object)
/// without a read, and the owner of a userId is computed the same way.
/// Unkeyed on purpose: it must survive `TOKEN_KEYS` rotation, and it tells
/// nothing a session id's holder cannot already learn from the session.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerTag([u8; OWNER_TAG_BYTES]);

impl OwnerTag {
    /// The owner of `user_id`'s sessions under `key_prefix`.
    pub fn for_user(key_prefix: &str, user_id: &str) -> Self {
        let mut h = Sha256::new();
        h.update(OWNER_DOMAIN);
        h.update(key_prefix.as_bytes());
        h.update([0]);
        h.update(user_id.as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        let mut tag = [0u8; OWNER_TAG_BYTES];
        tag.copy_from_slice(&digest[..OWNER_TAG_BYTES]);
        Self(tag)
    }

    /// Base64url text (22 chars): the owner's name, with the key prefix.
    pub fn to_text(&self) -> String {
        b64url(&self.0)
    }

    /// Parses [`OwnerTag::to_text`]'s form.
    pub fn from_text(text: &str) -> Option<Self> {
        if text.len() != B64_16_CHARS {
            return None;
        }
        b64url_exact::<OWNER_TAG_BYTES>(text).map(Self)
    }
}

impl std::fmt::Debug for OwnerTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OwnerTag({})", self.to_text())
    }
}

/// A session id as a fixed-size key, for maps.
pub type IdKey = [u8; ID_BYTES];

/// The public id of a session: its [`OwnerTag`] and 16 random bytes (43
/// base64url chars).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    bytes: [u8; ID_BYTES],
    text: String,
}

impl SessionId {
    /// A fresh id owned by `owner`.
    pub fn generate(owner: OwnerTag, random: &impl Random) -> Result<Self, RandomError> {
        let mut bytes = [0u8; ID_BYTES];
        bytes[..OWNER_TAG_BYTES].copy_from_slice(&owner.0);
        random.fill(&mut bytes[OWNER_TAG_BYTES..])?;
        Ok(Self::from_bytes(bytes))
    }

    fn from_bytes(bytes: [u8; ID_BYTES]) -> Self {
        Self {
            bytes,
            text: b64url(&bytes),
        }
    }

    /// Parses the text form; `None` unless it is exactly 43 canonical
    /// base64url chars.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != B64_32_CHARS {
            return None;
        }
        b64url_exact::<ID_BYTES>(text).map(Self::from_bytes)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The owner named by the id.
    pub fn owner(&self) -> OwnerTag {
        let mut tag = [0u8; OWNER_TAG_BYTES];
        tag.copy_from_slice(&self.bytes[..OWNER_TAG_BYTES]);
        OwnerTag(tag)
    }

    /// The id as a fixed-size key.
    pub fn key(&self) -> IdKey {
        self.bytes
    }
}

impl std::ops::Deref for SessionId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl serde::Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        SessionId::parse(&text).ok_or_else(|| serde::de::Error::custom("not a session id"))
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId({})", self.text)
    }
}

/// The 256-bit secret of a token. Never printed.
#[derive(Clone)]
pub struct Secret([u8; SECRET_BYTES]);

impl Secret {
    /// A fresh secret from the CSPRNG.
    pub fn generate(random: &impl Random) -> Result<Self, RandomError> {
        let mut bytes = [0u8; SECRET_BYTES];
        random.fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The hash KV stores for this secret of session `id`.
    pub fn hash(&self, id: &SessionId) -> SecretHash {
        let mut h = Sha256::new();
        h.update(HASH_DOMAIN);
        h.update(id.as_bytes());
        h.update(self.0);
        SecretHash(h.finalize().into())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// SHA-256 of a token secret (domain separated, bound to the session id):
/// what KV holds instead of the secret. Compared in constant time.
#[derive(Clone)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Base64url text form, as stored in the session record.
    pub fn to_text(&self) -> String {
        b64url(&self.0)
    }

    /// Parses the stored text form.
    pub fn from_text(text: &str) -> Option<Self> {
        b64url_exact::<32>(text).map(Self)
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// A token string as issued to a client. Its `Debug` is redacted and it has
/// no `Display`: read it with [`Token::expose`] only where it is sent out.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token an owner issued (`strong` mode), as it sent it back.
    pub(crate) fn from_owner(text: String) -> Self {
        Token(text)
    }

    /// The token text, for the response body or the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A token whose shape and tag have been verified: the session id to read and
/// the secret to check against the stored hash.
#[derive(Clone)]
pub struct VerifiedToken {
    pub kid: String,
    pub id: SessionId,
    pub secret: Secret,
}

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("kid", &self.kid)
            .field("id", &self.id)
            .field("secret", &self.secret)
            .finish()
    }
}

/// Why a token was refused. Deliberately carries nothing of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Too long, wrong shape, wrong version, bad base64 or lengths.
    Malformed,
    /// The key id is not in the ring.
    UnknownKey,
    /// The tag does not verify.
    BadTag,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "malformed token",
            TokenError::UnknownKey => "token signed by an unknown key",
            TokenError::BadTag => "token tag does not verify",
        })
    }
}

impl std::error::Error for TokenError {}

/// Why `TOKEN_KEYS` was refused. The reason names entries by position and
/// never echoes any of the value (key ids included: the whole var is a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRingError(pub String);

impl std::fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyRingError {}

#[derive(Clone)]
struct RingKey {
    kid: String,
    mac: HmacSha256,
}

/// The HMAC keys of `TOKEN_KEYS`: the first signs, all verify. Cloning
/// copies the prepared HMAC states (cheap: no re-keying).
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("kids", &self.kids())
            .finish()
    }
}

const B64_STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
const B64_URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes a key written in standard or URL-safe base64, padded or not (the
/// key vars' one base64 rule: `TOKEN_KEYS` here, `ASSERTION_KEYS` in the
/// HTTP layer).
pub fn decode_key(text: &str) -> Option<Vec<u8>> {
    let standard = text.contains(['+', '/']);
    let url = text.contains(['-', '_']);
    match (standard, url) {
        (true, true) => None,
        (false, true) => B64_URL_LENIENT.decode(text).ok(),
        _ => B64_STANDARD_LENIENT.decode(text).ok(),
    }
}

impl KeyRing {
    /// Parses `TOKEN_KEYS`: `kid:base64key[,kid:base64key…]`. Whitespace around
    /// entries is ignored. Each kid is `[A-Za-z0-9_-]{1,32}` and unique; each
    /// key is standard or URL-safe base64 (padding optional) of at least 32 bytes.
    pub fn parse(text: &str) -> Result<Self, KeyRingError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(KeyRingError("is empty".into()));
        }
        let mut keys = Vec::new();
        for (index, entry) in text.split(',').enumerate() {
            let n = index + 1;
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(KeyRingError(format!("entry {n} is empty")));
            }
            let Some((kid, key)) = entry.split_once(':') else {
                return Err(KeyRingError(format!(
                    "entry {n} is not of the form kid:base64key"
                )));
            };
            let (kid, key) = (kid.trim(), key.trim());
            if !is_valid_kid(kid) {
                return Err(KeyRingError(format!(
                    "entry {n}: key id must be 1 to {MAX_KID_LEN} characters of A-Z a-z 0-9 _ -"
                )));
            }
            if keys.iter().any(|k: &(String, Vec<u8>)| k.0 == kid) {
                // The key id is part of a secret: never repeat it.
                return Err(KeyRingError(format!("entry {n}: the key id appears twice")));
            }
            let Some(bytes) = decode_key(key) else {
                return Err(KeyRingError(format!("entry {n}: key is not valid base64")));
            };
            if bytes.len() < MIN_KEY_BYTES {
                return Err(KeyRingError(format!(
                    "entry {n}: key must decode to at least {MIN_KEY_BYTES} bytes"
                )));
            }
            keys.push((kid.to_owned(), bytes));
        }
        Self::from_keys(keys)
    }

    /// A ring from raw keys, the first signing. Same rules as [`KeyRing::parse`].
    pub fn from_keys(
        keys: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> Result<Self, KeyRingError> {
        let mut ring = Vec::new();
        for (index, (kid, key)) in keys.into_iter().enumerate() {
            let n = index + 1;
            if !is_valid_kid(&kid) {
                return Err(KeyRingError(format!("key {n}: invalid key id")));
            }
            if ring.iter().any(|k: &RingKey| k.kid == kid) {
                return Err(KeyRingError(format!("key {n}: the key id appears twice")));
            }
            if key.len() < MIN_KEY_BYTES {
                return Err(KeyRingError(format!(
                    "key {n}: must be at least {MIN_KEY_BYTES} bytes"
                )));
            }
            let mac = HmacSha256::new_from_slice(&key)
                .map_err(|_| KeyRingError(format!("key {n}: unusable")))?;
            ring.push(RingKey { kid, mac });
        }
        if ring.is_empty() {
            return Err(KeyRingError("no keys".into()));
        }
        Ok(Self { keys: ring })
    }

    /// Key ids, the signing one first.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// Id of the key that signs new tokens.
    pub fn signing_kid(&self) -> &str {
        self.keys.first().map(|k| k.kid.as_str()).unwrap_or("")
    }

    fn tag(mac: &HmacSha256, kid: &str, id: &SessionId, secret: &Secret) -> HmacSha256 {
        let mut mac = mac.clone();
        mac.update(TAG_DOMAIN);
        mac.update(kid.as_bytes());
        mac.update(b"\0");
        mac.update(id.as_bytes());
        mac.update(&secret.0);
        mac
    }

    /// The token of session `id` with `secret`, tagged by the signing key.
    pub fn issue(&self, id: &SessionId, secret: &Secret) -> Token {
        // `from_keys` guarantees at least one key.
        let Some(key) = self.keys.first() else {
            return Token(String::new());
        };
        let tag = Self::tag(&key.mac, &key.kid, id, secret)
            .finalize()
            .into_bytes();
        Token(format!(
            "{TOKEN_VERSION}.{}.{}.{}.{}",
            key.kid,
            id.as_str(),
            b64url(&secret.0),
            b64url(&tag)
        ))
    }

    /// Checks a presented token's shape and tag, touching no store. Inputs
    /// longer than [`MAX_TOKEN_LEN`] are refused before any other work; the
    /// tag is compared in constant time.
    pub fn verify_token(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(version), Some(kid), Some(id), Some(secret), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        if version != TOKEN_VERSION
            || !is_valid_kid(kid)
            || secret.len() != B64_32_CHARS
            || tag.len() != B64_32_CHARS
        {
            return Err(TokenError::Malformed);
        }
        let id = SessionId::parse(id).ok_or(TokenError::Malformed)?;
        let secret = Secret(b64url_exact::<SECRET_BYTES>(secret).ok_or(TokenError::Malformed)?);
        let tag = b64url_exact::<TAG_BYTES>(tag).ok_or(TokenError::Malformed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        Self::tag(&key.mac, kid, &id, &secret)
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadTag)?;
        Ok(VerifiedToken {
            kid: kid.to_owned(),
            id,
            secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeededRandom;
    use base64::engine::general_purpose::STANDARD;

    fn key_text(byte: u8, len: usize) -> String {
        STANDARD.encode(vec![byte; len])
    }

    fn ring() -> KeyRing {
        KeyRing::parse(&format!("k1:{}", key_text(1, 32))).unwrap()
    }

    fn owner() -> OwnerTag {
        OwnerTag::for_user("", "alice")
    }

    fn issue(ring: &KeyRing, seed: u64) -> (Token, SessionId, Secret) {
        let random = SeededRandom::new(seed);
        let id = SessionId::generate(owner(), &random).unwrap();
        let secret = Secret::generate(&random).unwrap();
        (ring.issue(&id, &secret), id, secret)
    }

    #[test]
    fn issued_token_has_the_documented_shape_and_verifies() {
        let ring = ring();
        let (token, id, secret) = issue(&ring, 1);
        let text = token.expose();
        let parts: Vec<&str> = text.split('.').collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[0], "es1");
        assert_eq!(parts[1], "k1");
        assert_eq!(parts[2], id.as_str());
        assert_eq!(parts[2].len(), 43);
        assert_eq!(id.owner(), owner());
        assert_eq!(parts[3].len(), 43);
        assert_eq!(parts[4].len(), 43);
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        let verified = ring.verify_token(text).unwrap();
        assert_eq!(verified.id, id);
        assert_eq!(verified.kid, "k1");
        assert!(verified.secret.hash(&id).matches(&secret.hash(&id)));
    }

    #[test]
    fn every_single_character_change_is_refused() {
        let ring = ring();
        let (token, _, _) = issue(&ring, 2);
        let text = token.expose();
        for i in 0..text.len() {
            for replacement in ['A', 'b', '_', '.', '0'] {
                let mut bytes = text.as_bytes().to_vec();
                if bytes[i] == replacement as u8 {
                    continue;
                }
                bytes[i] = replacement as u8;
                let forged = String::from_utf8(bytes).unwrap();
                assert!(
                    ring.verify_token(&forged).is_err(),
                    "accepted a change at {i}"
                );
            }
        }
    }

    #[test]
    fn malformed_inputs_are_refused() {
        let ring = ring();
        let (token, _, _) = issue(&ring, 3);
        let text = token.expose();
        let too_long = format!("{text}{}", "A".repeat(MAX_TOKEN_LEN));
        let cases = [
            String::new(),
            ".....".into(),
            format!("{text}."),
            format!(".{text}"),
            text.replacen("es1", "es2", 1),
            text.replacen("k1", "k!", 1),
            format!("{text}A"),
            text[..text.len() - 1].to_string(),
            too_long,
            "es1.k1".into(),
            "\u{0}".repeat(300),
        ];
        for case in cases {
            assert_eq!(
                ring.verify_token(&case).err(),
                Some(TokenError::Malformed),
                "{case:?}"
            );
        }
    }

    #[test]
    fn non_canonical_base64_is_refused() {
        let ring = ring();
        let (token, _, _) = issue(&ring, 4);
        let text = token.expose();
        // The last char of a 43-char field carries 2 unused bits: flipping them
        // decodes to the same bytes, and must still be refused.
        let last = text.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let pos = alphabet.find(last).unwrap();
        let sibling = alphabet.as_bytes()[pos ^ 1] as char;
        let forged = format!("{}{sibling}", &text[..text.len() - 1]);
        assert_eq!(
            ring.verify_token(&forged).err(),
            Some(TokenError::Malformed)
        );
    }

    #[test]
    fn unknown_kid_and_other_key_are_refused() {
        let ring = ring();
        let other = KeyRing::parse(&format!("k1:{}", key_text(2, 32))).unwrap();
        let (token, _, _) = issue(&other, 5);
        assert_eq!(
            ring.verify_token(token.expose()).err(),
            Some(TokenError::BadTag)
        );
        let stranger = KeyRing::parse(&format!("k9:{}", key_text(1, 32))).unwrap();
        let (token, _, _) = issue(&stranger, 5);
        assert_eq!(
            ring.verify_token(token.expose()).err(),
            Some(TokenError::UnknownKey)
        );
    }

    #[test]
    fn first_key_signs_and_all_verify() {
        let old = KeyRing::parse(&format!("old:{}", key_text(1, 32))).unwrap();
        let both =
            KeyRing::parse(&format!("new:{}, old:{}", key_text(2, 40), key_text(1, 32))).unwrap();
        assert_eq!(both.kids(), vec!["new", "old"]);
        assert_eq!(both.signing_kid(), "new");
        let (old_token, _, _) = issue(&old, 6);
        assert!(both.verify_token(old_token.expose()).is_ok());
        let (new_token, _, _) = issue(&both, 7);
        assert!(new_token.expose().starts_with("es1.new."));
        assert_eq!(
            old.verify_token(new_token.expose()).err(),
            Some(TokenError::UnknownKey)
        );
    }

    #[test]
    fn key_ring_accepts_both_base64_alphabets_with_or_without_padding() {
        let raw: Vec<u8> = (0..33u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(250))
            .collect();
        let standard = STANDARD.encode(&raw);
        let url = base64::engine::general_purpose::URL_SAFE.encode(&raw);
        assert!(standard.contains(['+', '/']) && url.contains(['-', '_']));
        for text in [
            standard.clone(),
            standard.trim_end_matches('=').to_string(),
            url.clone(),
            url.trim_end_matches('=').to_string(),
        ] {
            let ring = KeyRing::parse(&format!("a:{text}")).unwrap();
            let reference = KeyRing::from_keys([("a".to_string(), raw.clone())]).unwrap();
            let (token, _, _) = issue(&reference, 8);
            assert!(ring.verify_token(token.expose()).is_ok(), "{text}");
        }
    }

    #[test]
    fn key_ring_errors_are_clear_and_never_echo_keys() {
        let short = key_text(7, 31);
        let good = key_text(7, 32);
        let cases = [
            (String::new(), "empty"),
            ("   ".to_string(), "empty"),
            (good.clone(), "kid:base64key"),
            (format!("k:{good},"), "entry 2 is empty"),
            (format!("k:{good},k:{good}"), "twice"),
            (format!("bad kid:{good}"), "key id"),
            (format!("{}:{good}", "k".repeat(33)), "key id"),
            (format!(":{good}"), "key id"),
            (format!("k:{short}"), "at least 32 bytes"),
            ("k:not*base64!".to_string(), "not valid base64"),
            (
                format!("k:{}", good.replace('=', "")) + "+-",
                "not valid base64",
            ),
        ];
        let secret_kid = format!("SecretKid:{good},SecretKid:{good}");
        let err = KeyRing::parse(&secret_kid).unwrap_err().to_string();
        assert!(err.contains("twice") && !err.contains("SecretKid"), "{err}");
        for (input, expected) in cases {
            let err = KeyRing::parse(&input).expect_err(&input).to_string();
            assert!(err.contains(expected), "{input:?} gave {err:?}");
            assert!(
                !err.contains(&good) && !err.contains(&short),
                "echoed a key: {err}"
            );
        }
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let ring = ring();
        let (token, id, secret) = issue(&ring, 9);
        let verified = ring.verify_token(token.expose()).unwrap();
        let secret_text = b64url(&secret.0);
        let tag_text = token.expose().rsplit('.').next().unwrap().to_string();
        for shown in [
            format!("{token:?}"),
            format!("{verified:?}"),
            format!("{secret:?}"),
            format!("{:?}", secret.hash(&id)),
            format!("{ring:?}"),
        ] {
            assert!(!shown.contains(&secret_text), "{shown}");
            assert!(!shown.contains(&tag_text), "{shown}");
            assert!(!shown.contains(token.expose()), "{shown}");
        }
        assert!(format!("{ring:?}").contains("k1"));
    }

    #[test]
    fn owner_tags_depend_on_prefix_and_user_and_are_stable() {
        let a = OwnerTag::for_user("", "alice");
        assert_eq!(a, OwnerTag::for_user("", "alice"));
        assert_ne!(a, OwnerTag::for_user("", "alice2"));
        assert_ne!(a, OwnerTag::for_user("app/", "alice"));
        // The separator keeps ("a", "b:c") and ("a\0b", ...) apart from ("", "a...").
        assert_ne!(OwnerTag::for_user("a", "b"), OwnerTag::for_user("", "ab"));
        let digest = Sha256::digest([OWNER_DOMAIN, b"p", &[0], b"bob"].concat());
        assert_eq!(
            OwnerTag::for_user("p", "bob").to_text(),
            b64url(&digest[..16])
        );
        // Different random tails, same owner.
        let r = SeededRandom::new(3);
        let x = SessionId::generate(a, &r).unwrap();
        let y = SessionId::generate(a, &r).unwrap();
        assert_ne!(x, y);
        assert_eq!((x.owner(), y.owner()), (a, a));
    }

    #[test]
    fn secret_hash_depends_on_secret_and_id() {
        let random = SeededRandom::new(10);
        let id = SessionId::generate(owner(), &random).unwrap();
        let other_id = SessionId::generate(owner(), &random).unwrap();
        let secret = Secret::generate(&random).unwrap();
        let other_secret = Secret::generate(&random).unwrap();
        let hash = secret.hash(&id);
        assert!(hash.matches(&SecretHash::from_text(&hash.to_text()).unwrap()));
        assert!(!hash.matches(&other_secret.hash(&id)));
        assert!(!hash.matches(&secret.hash(&other_id)));
        assert_eq!(
            hash.to_text(),
            b64url(&Sha256::digest(
                [HASH_DOMAIN, id.as_bytes(), &secret.0].concat()
            ))
        );
    }

    #[test]
    fn session_id_parse_is_strict() {
        // The 22-char ids of before owner tags were never deployed: refused.
        assert_eq!(SessionId::parse("AAAAAAAAAAAAAAAAAAAAAA"), None);
        let id = SessionId::generate(owner(), &SeededRandom::new(11)).unwrap();
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(SessionId::parse(id.as_str()).unwrap().owner(), owner());
        assert_eq!(SessionId::parse(""), None);
        assert_eq!(SessionId::parse(&format!("{id}A")), None);
        assert_eq!(SessionId::parse(&id.as_str()[..42]), None);
        assert_eq!(SessionId::parse(&"!".repeat(43)), None);
        assert_eq!(
            SessionId::parse(&format!("{}B", "A".repeat(42))),
            None,
            "non-canonical"
        );
    }
}
