//! The session record: the JSON value stored under a session key,
//! `{"v":1,"id","userId","label","meta","client":{"userAgent","country"},
//! "createdAt","authenticatedAt","lastSeenAt","expiresAt","absoluteExpiresAt"` (ms since the
//! epoch) `,"idleTtl","absoluteTtl"` (seconds) `,"secretHash"}`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::session::{ClientInfo, Lifetime, Meta, Session};
use crate::token::{SecretHash, SessionId};

/// Version of the stored record and index metadata formats.
pub const RECORD_VERSION: u32 = 1;

/// The record, borrowed from a session to write it, owned when read.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    v: u32,
    id: Cow<'a, str>,
    user_id: Cow<'a, str>,
    label: Option<Cow<'a, str>>,
    /// Borrowed from the text read: [`Meta`] keeps it as written.
    #[serde(borrow)]
    meta: &'a RawValue,
    client: Cow<'a, ClientInfo>,
    // The lifetime's fields, spelled out: `#[serde(flatten)]` would make
    // serde buffer the whole record on every read.
    created_at: i64,
    /// Absent in records written before the field existed: `createdAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authenticated_at: Option<i64>,
    last_seen_at: i64,
    expires_at: i64,
    absolute_expires_at: i64,
    idle_ttl: u64,
    absolute_ttl: u64,
    secret_hash: Cow<'a, str>,
}

/// The JSON value stored under the session key.
pub fn encode(session: &Session) -> String {
    let record = Record {
        v: RECORD_VERSION,
        id: Cow::Borrowed(session.id.as_str()),
        user_id: Cow::Borrowed(&session.user_id),
        label: session.label.as_deref().map(Cow::Borrowed),
        meta: session.meta.as_raw(),
        client: Cow::Borrowed(&session.client),
        created_at: session.lifetime.created_at,
        authenticated_at: Some(session.lifetime.authenticated_at),
        last_seen_at: session.lifetime.last_seen_at,
        expires_at: session.lifetime.expires_at,
        absolute_expires_at: session.lifetime.absolute_expires_at,
        idle_ttl: session.idle_ttl,
        absolute_ttl: session.absolute_ttl,
        secret_hash: Cow::Owned(session.secret_hash.to_text()),
    };
    serde_json::to_string(&record).unwrap_or_default()
}

/// Reads a stored record; `None` when it is not a valid record of session `id`.
pub fn decode(json: &str, id: &SessionId) -> Option<Session> {
    let r: Record = serde_json::from_str(json).ok()?;
    if r.v != RECORD_VERSION || r.id != id.as_str() {
        return None;
    }
    Some(Session {
        id: id.clone(),
        user_id: r.user_id.into_owned(),
        label: r.label.map(Cow::into_owned),
        meta: Meta::from_stored(r.meta)?,
        client: r.client.into_owned(),
        lifetime: Lifetime {
            created_at: r.created_at,
            authenticated_at: r.authenticated_at.unwrap_or(r.created_at),
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            absolute_expires_at: r.absolute_expires_at,
        },
        idle_ttl: r.idle_ttl,
        absolute_ttl: r.absolute_ttl,
        secret_hash: SecretHash::from_text(&r.secret_hash)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::sample;
    use crate::testing::SeededRandom;
    use serde_json::Value;

    #[test]
    fn record_round_trip_and_refusals() {
        let s = sample(Some("x"), Some("ua"));
        let json = encode(&s);
        let back = decode(&json, &s.id).unwrap();
        assert_eq!(back.to_json(), s.to_json());
        assert!(back.secret_hash.matches(&s.secret_hash));
        assert_eq!((back.idle_ttl, back.absolute_ttl), (600, 3600));
        let other = SessionId::generate(
            crate::token::OwnerTag::for_user("", "u"),
            &SeededRandom::new(99),
        )
        .unwrap();
        assert!(decode(&json, &other).is_none());
        assert!(decode(&json.replace("\"v\":1", "\"v\":2"), &s.id).is_none());
        assert!(decode("{", &s.id).is_none());
        assert!(decode("null", &s.id).is_none());
    }

    #[test]
    fn the_stored_format_is_stable() {
        // Records written by earlier versions must stay readable: the field
        // names and units are fixed.
        let s = sample(Some("x"), None);
        let v: Value = serde_json::from_str(&encode(&s)).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "absoluteExpiresAt",
                "absoluteTtl",
                "authenticatedAt",
                "client",
                "createdAt",
                "expiresAt",
                "id",
                "idleTtl",
                "label",
                "lastSeenAt",
                "meta",
                "secretHash",
                "userId",
                "v"
            ]
        );
        assert_eq!(v["createdAt"], 1_700_000_000_123_i64);
        assert_eq!(
            v["client"],
            serde_json::json!({"userAgent": null, "country": "FR"})
        );
    }

    #[test]
    fn meta_is_read_and_written_as_stored() {
        // Numbers in `meta` are never printed again: what the record holds
        // is what the identity header and the API show.
        let s = sample(None, None);
        let json = encode(&s).replace(r#""meta":{"n":1,"#, r#""meta":{"n":1.50e0,"#);
        let read = decode(&json, &s.id).unwrap();
        assert_eq!(read.meta.as_json(), r#"{"n":1.50e0,"roles":["admin",7]}"#);
        assert_eq!(encode(&read), json);
        let not_object =
            encode(&s).replace(r#""meta":{"n":1,"roles":["admin",7]}"#, r#""meta":["x"]"#);
        assert!(decode(&not_object, &s.id).is_none());
        assert!(decode(&not_object.replace(r#"["x"]"#, "{}"), &s.id).is_some());
    }

    #[test]
    fn a_record_written_before_authenticated_at_reads_it_as_created_at() {
        let mut s = sample(None, None);
        s.lifetime.authenticated_at = s.lifetime.created_at + 5;
        let mut v: Value = serde_json::from_str(&encode(&s)).unwrap();
        assert_eq!(v["authenticatedAt"], s.lifetime.created_at + 5);
        v.as_object_mut().unwrap().remove("authenticatedAt");
        let old = decode(&v.to_string(), &s.id).unwrap();
        assert_eq!(old.lifetime.authenticated_at, s.lifetime.created_at);
    }
}
