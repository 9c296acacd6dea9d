//! The DER of an `ASSERTION_KEYS` entry: PKCS#8 (RFC 5208, RFC 5958) around
//! a SEC1 EC private key (RFC 5915), read as strictly as the `der`, `pkcs8`
//! and `sec1` crates read them (the `assertion` tests check it against them)
//! in a fraction of their wasm.
//!
//! ```
//! use session_http::key_der::{EcPrivateKey, PrivateKeyInfo};
//! let der = session_core::token::decode_key(
//!     session_http::assertion::EXAMPLE_KEYS.strip_prefix("k1:").unwrap(),
//! ).unwrap();
//! let info = PrivateKeyInfo::parse(&der).unwrap();
//! assert_eq!(info.algorithm, [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]); // id-ecPublicKey
//! let ec = EcPrivateKey::parse(info.private_key).unwrap();
//! assert_eq!(ec.private_key.len(), 32);
//! ```
//!
//! Only the structure is read: what the fields mean (which curve, whether
//! the scalar and the point are in range) is `assertion`'s to check.

/// `PrivateKeyInfo` / `OneAsymmetricKey`: version 0 without the public key,
/// 1 with it; attributes and later extension fields are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivateKeyInfo<'a> {
    /// The algorithm's OID, its contents octets.
    pub algorithm: &'a [u8],
    /// The algorithm's parameters, any one element.
    pub parameters: Option<Element<'a>>,
    /// The contents of the `privateKey` OCTET STRING.
    pub private_key: &'a [u8],
    /// `[1] publicKey`, `None` when absent or when its BIT STRING has unused
    /// bits (so is not whole bytes).
    pub public_key: Option<&'a [u8]>,
}

/// `ECPrivateKey` (version 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcPrivateKey<'a> {
    pub private_key: &'a [u8],
    /// `[0] parameters`: the named curve's OID, its contents octets.
    pub parameters: Option<&'a [u8]>,
    /// `[1] publicKey`, the bytes of its BIT STRING.
    pub public_key: Option<&'a [u8]>,
}

/// One element: its first tag octet, tag number and contents octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    pub tag: u8,
    pub number: u32,
    pub contents: &'a [u8],
}

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;

impl<'a> PrivateKeyInfo<'a> {
    /// `None` unless `der` is exactly one well-formed `PrivateKeyInfo`.
    pub fn parse(der: &'a [u8]) -> Option<Self> {
        let mut body = whole(der, SEQUENCE)?;
        let with_public_key = match expect(&mut body, INTEGER)? {
            [0] => false,
            [1] => true,
            _ => return None,
        };
        let mut algorithm = expect(&mut body, SEQUENCE)?;
        let oid = expect(&mut algorithm, OID)?;
        let parameters = match algorithm.is_empty() {
            true => None,
            false => Some(element(&mut algorithm)?),
        };
        if !algorithm.is_empty() {
            return None;
        }
        let private_key = expect(&mut body, OCTET_STRING)?;
        // [0] IMPLICIT attributes: a constructed SET, its contents not read.
        if let Some(attributes) = context(&mut body, 0)? {
            if !constructed(attributes.tag) {
                return None;
            }
        }
        // [1] IMPLICIT publicKey: a primitive BIT STRING.
        let public_key = match context(&mut body, 1)? {
            Some(e) if constructed(e.tag) => return None,
            Some(e) => Some(bit_string(e.contents)?),
            None => None,
        };
        if with_public_key != public_key.is_some() {
            return None;
        }
        // Later extension fields: each an EXPLICIT [n] around one element.
        while !body.is_empty() {
            let field = element(&mut body)?;
            if field.tag & 0xc0 != 0x80 || !constructed(field.tag) {
                return None;
            }
            let mut inner = field.contents;
            element(&mut inner)?;
            if !inner.is_empty() {
                return None;
            }
        }
        Some(PrivateKeyInfo {
            algorithm: oid,
            parameters,
            private_key,
            public_key: public_key.and_then(|(unused, bytes)| (unused == 0).then_some(bytes)),
        })
    }
}

impl<'a> EcPrivateKey<'a> {
    /// `None` unless `der` is exactly one well-formed `ECPrivateKey`.
    pub fn parse(der: &'a [u8]) -> Option<Self> {
        let mut body = whole(der, SEQUENCE)?;
        if expect(&mut body, INTEGER)? != [1] {
            return None;
        }
        let private_key = expect(&mut body, OCTET_STRING)?;
        let parameters = match context(&mut body, 0)? {
            Some(e) => Some(explicit(e, OID)?),
            None => None,
        };
        let public_key = match context(&mut body, 1)? {
            Some(e) => match bit_string(explicit(e, BIT_STRING)?)? {
                (0, bytes) => Some(bytes),
                _ => return None,
            },
            None => None,
        };
        body.is_empty().then_some(EcPrivateKey {
            private_key,
            parameters,
            public_key,
        })
    }
}

fn constructed(tag: u8) -> bool {
    tag & 0x20 != 0
}

/// The contents of `der` when it is exactly one element tagged `tag`.
fn whole(der: &[u8], tag: u8) -> Option<&[u8]> {
    let mut input = der;
    let contents = expect(&mut input, tag)?;
    input.is_empty().then_some(contents)
}

/// The next element's contents when it is tagged `tag`.
fn expect<'a>(input: &mut &'a [u8], tag: u8) -> Option<&'a [u8]> {
    let e = element(input)?;
    (e.tag == tag).then_some(e.contents)
}

/// `Some(Some(e))` and `e` read when the next element is `[number]`
/// (context-specific), `Some(None)` and nothing read when it is another one
/// or there is none, `None` when it is malformed.
fn context<'a>(input: &mut &'a [u8], number: u32) -> Option<Option<Element<'a>>> {
    if input.is_empty() {
        return Some(None);
    }
    let mut ahead = *input;
    let e = element(&mut ahead)?;
    if e.tag & 0xc0 == 0x80 && e.number == number {
        *input = ahead;
        Some(Some(e))
    } else {
        Some(None)
    }
}

/// The contents of the one element tagged `tag` inside EXPLICIT `e`.
fn explicit<'a>(e: Element<'a>, tag: u8) -> Option<&'a [u8]> {
    if !constructed(e.tag) {
        return None;
    }
    whole(e.contents, tag)
}

/// A BIT STRING's unused bits (0 to 7) and bytes.
fn bit_string(contents: &[u8]) -> Option<(u8, &[u8])> {
    let (&unused, bytes) = contents.split_first()?;
    (unused <= 7 && (unused == 0 || !bytes.is_empty())).then_some((unused, bytes))
}

/// Reads one element: a tag `der` knows (the universal ones it names, any
/// application, context-specific or private one, high numbers in the
/// shortest form), a definite length in the fewest octets (at most four),
/// and that many contents octets.
fn element<'a>(input: &mut &'a [u8]) -> Option<Element<'a>> {
    let (&tag, mut rest) = input.split_first()?;
    let number = match tag {
        0x01..=0x06
        | 0x09
        | 0x0a
        | 0x0c
        | 0x0d
        | 0x12..=0x18
        | 0x1a
        | 0x1b
        | 0x1e
        | 0x30
        | 0x31 => u32::from(tag & 0x1f),
        0x40..=0xff if tag & 0x1f != 0x1f => u32::from(tag & 0x1f),
        0x40..=0xff => {
            let mut number = 0u32;
            let mut octets = 0;
            loop {
                let (&b, after) = rest.split_first()?;
                rest = after;
                number |= u32::from(b & 0x7f);
                if b & 0x80 == 0 {
                    if number < 0x1f {
                        return None;
                    }
                    break number;
                }
                // A leading zero group, or more groups than 32 bits hold.
                octets += 1;
                if (octets == 1 && number == 0) || number.leading_zeros() < 7 {
                    return None;
                }
                number <<= 7;
            }
        }
        _ => return None,
    };
    let (&first, mut rest) = rest.split_first()?;
    let len = match first {
        0..=0x7f => usize::from(first),
        0x81..=0x84 => {
            let octets = usize::from(first - 0x80);
            if rest.len() < octets || rest[0] == 0 {
                return None;
            }
            let (bytes, after) = rest.split_at(octets);
            rest = after;
            let len = bytes.iter().fold(0usize, |n, &b| n << 8 | usize::from(b));
            if len < 0x80 {
                return None;
            }
            len
        }
        _ => return None,
    };
    if rest.len() < len {
        return None;
    }
    let (contents, after) = rest.split_at(len);
    *input = after;
    Some(Element {
        tag,
        number,
        contents,
    })
}
