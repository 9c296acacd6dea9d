//! The summary kept in the KV metadata of an index key:
//! `{"v":1,"l":label|null,"ca","au"?,"ls","ea","aa"` (ms) `,"c"?,"ua"?}`
//! (`au`, `authenticatedAt`, absent in entries written before it existed:
//! `ca`). The
//! userId is in the key name, `meta` is left out, and the user agent is cut
//! so that the metadata always fits KV's 1024 bytes (a 128-char label of
//! control characters alone escapes to 770 bytes).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::record::RECORD_VERSION;
use crate::session::{ClientInfo, Lifetime, Session, Summary};
use crate::store::MAX_METADATA_BYTES;
use crate::token::SessionId;

/// The compact summary, borrowed from a session to write it, owned when read.
#[derive(Serialize, Deserialize)]
struct IndexMeta<'a> {
    v: u32,
    l: Option<Cow<'a, str>>,
    ca: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    au: Option<i64>,
    ls: i64,
    ea: i64,
    aa: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ua: Option<Cow<'a, str>>,
}

impl IndexMeta<'_> {
    fn size(&self) -> usize {
        serde_json::to_string(self)
            .map(|s| s.len())
            .unwrap_or(usize::MAX)
    }
}

/// The metadata of `session`'s index key, always at most
/// [`MAX_METADATA_BYTES`] serialized: the user agent is cut to what fits.
pub fn encode(session: &Session) -> Value {
    let t = session.lifetime;
    let mut meta = IndexMeta {
        v: RECORD_VERSION,
        l: session.label.as_deref().map(Cow::Borrowed),
        ca: t.created_at,
        au: Some(t.authenticated_at),
        ls: t.last_seen_at,
        ea: t.expires_at,
        aa: t.absolute_expires_at,
        c: session.client.country.as_deref().map(Cow::Borrowed),
        ua: None,
    };
    if let Some(ua) = &session.client.user_agent {
        // `,"ua":""` is 8 bytes; the rest is what the escaped text may take.
        let budget = MAX_METADATA_BYTES.saturating_sub(meta.size().saturating_add(8));
        let mut used = 0;
        let cut: String = ua
            .chars()
            .take_while(|&c| {
                used += json_escaped_len(c);
                used <= budget
            })
            .collect();
        if !cut.is_empty() {
            meta.ua = Some(Cow::Owned(cut));
        }
        if meta.size() > MAX_METADATA_BYTES {
            meta.ua = None;
        }
    }
    serde_json::to_value(&meta).unwrap_or(Value::Null)
}

/// Reads the index metadata of session `id` of `user_id`; `None` when it
/// is not valid index metadata.
pub fn decode(user_id: &str, id: &SessionId, metadata: &Value) -> Option<Summary> {
    let m = IndexMeta::deserialize(metadata).ok()?;
    if m.v != RECORD_VERSION {
        return None;
    }
    Some(Summary {
        id: id.clone(),
        user_id: user_id.to_owned(),
        label: m.l.map(Cow::into_owned),
        client: ClientInfo {
            user_agent: m.ua.map(Cow::into_owned),
            country: m.c.map(Cow::into_owned),
        },
        lifetime: Lifetime {
            created_at: m.ca,
            authenticated_at: m.au.unwrap_or(m.ca),
            last_seen_at: m.ls,
            expires_at: m.ea,
            absolute_expires_at: m.aa,
        },
        current: None,
    })
}

/// Cuts the session's user agent to what its index summary can hold beside
/// its label, so that listings show the same client as the session itself.
/// Call before writing a new label.
pub fn fit_user_agent(session: &mut Session) {
    let kept = encode(session)
        .get("ua")
        .and_then(Value::as_str)
        .map(str::to_owned);
    session.client.user_agent = kept;
}

/// Bytes `c` takes inside a JSON string as serde_json writes it.
fn json_escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::sample;
    use serde_json::json;

    #[test]
    fn index_metadata_round_trips() {
        let s = sample(Some("phone"), Some("Mozilla/5.0"));
        let meta = encode(&s);
        assert!(meta.get("userId").is_none() && meta.get("meta").is_none());
        let summary = decode("user-1", &s.id, &meta).unwrap();
        assert_eq!(summary, s.summary(None));
        assert!(decode("u", &s.id, &json!({"v": 1})).is_none());
        assert!(decode("u", &s.id, &json!("x")).is_none());
    }

    #[test]
    fn index_metadata_fits_kv_in_the_worst_case() {
        // 128 control chars each escaped as \u00XX, a 512-byte user agent of
        // quotes (each escaped to 2 bytes), extreme timestamps.
        let label = "\u{1}".repeat(128);
        let ua = "\"".repeat(512);
        let mut s = sample(Some(&label), Some(&ua));
        s.lifetime = s.lifetime.map(|_| i64::MIN);
        let meta = encode(&s);
        let size = serde_json::to_string(&meta).unwrap().len();
        assert!(size <= MAX_METADATA_BYTES, "{size}");
        assert!(
            size >= MAX_METADATA_BYTES - 1,
            "the budget is used fully: {size}"
        );
        let kept = meta["ua"].as_str().unwrap();
        assert!(!kept.is_empty() && ua.starts_with(kept));
        assert_eq!(meta["l"], label.as_str());

        // Other escape kinds and 4-byte chars: still fits, cut at a char boundary.
        for ua in [
            "\u{2}".repeat(100),
            "\u{10348}".repeat(128),
            "\n".repeat(512),
        ] {
            let s = sample(Some(&label), Some(&ua));
            let meta = encode(&s);
            assert!(serde_json::to_string(&meta).unwrap().len() <= MAX_METADATA_BYTES);
            assert!(ua.starts_with(meta["ua"].as_str().unwrap()));
        }

        // An ordinary user agent is kept whole.
        let s = sample(Some("laptop"), Some(&"a".repeat(512)));
        assert_eq!(encode(&s)["ua"].as_str().unwrap().len(), 512);
    }

    #[test]
    fn an_entry_written_before_authenticated_at_reads_it_as_created_at() {
        let mut s = sample(Some("phone"), None);
        s.lifetime.authenticated_at = s.lifetime.created_at + 7;
        let mut meta = encode(&s);
        assert_eq!(decode("user-1", &s.id, &meta).unwrap().lifetime, s.lifetime);
        meta.as_object_mut().unwrap().remove("au");
        let old = decode("user-1", &s.id, &meta).unwrap();
        assert_eq!(old.lifetime.authenticated_at, s.lifetime.created_at);
    }
}
