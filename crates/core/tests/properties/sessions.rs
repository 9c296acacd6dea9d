//! A new session's JSON (admin API body, `X-Session-Issue`) and the merge
//! patch of a session's `{label, meta}` (contract §3, §4, §5): any JSON is
//! taken, or refused naming a field at fault, per a reference of the rules;
//! what is taken obeys the limits and is what the store then holds; errors
//! never hold a value.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use session_core::session::{MAX_LABEL_CHARS, MAX_META_BYTES, MAX_META_DEPTH, MAX_USER_ID_BYTES};
use session_core::{ClientInfo, NewSession, SessionError, Writer};

use crate::common::Ops;
use crate::common::{block_on, env};

/// Every generated string value starts with it: an error holding it echoed
/// a value.
const MARK: &str = "Vq";

fn string_value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zé ]{0,12}".prop_map(|s| format!("{MARK}{s}")),
        1 => (MAX_LABEL_CHARS - 4..MAX_LABEL_CHARS + 4).prop_map(|n| format!("{MARK}{}", "é".repeat(n - MARK.len()))),
        1 => (MAX_META_BYTES - 600..MAX_META_BYTES + 200).prop_map(|n| format!("{MARK}{}", "x".repeat(n))),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&["roles", "a", "b", "label", "meta", "userId"][..])
            .prop_map(str::to_owned),
        "[a-z]{1,6}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        string_value().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `levels` objects nested in each other.
fn nested(levels: usize) -> Value {
    let mut v = json!({});
    for _ in 1..levels {
        v = json!({ "a": v });
    }
    v
}

fn meta_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::btree_map(key(), json_value(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => (MAX_META_DEPTH - 2..MAX_META_DEPTH + 3).prop_map(nested),
        1 => json_value(),
    ]
}

/// How deep containers nest (a scalar is 0, `{}` is 1).
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The fields at fault in a meta, per the contract's limits.
fn meta_ok(meta: &Value) -> bool {
    meta.is_object()
        && depth(meta) <= MAX_META_DEPTH
        && serde_json::to_string(meta).unwrap().len() <= MAX_META_BYTES
}

fn label_ok(label: &Value) -> bool {
    match label {
        Value::Null => true,
        Value::String(s) => s.chars().count() <= MAX_LABEL_CHARS,
        _ => false,
    }
}

/// RFC 7396, as the RFC writes it.
fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in patch {
        if v.is_null() {
            out.remove(k);
        } else {
            let current = out.get(k).cloned().unwrap_or(Value::Null);
            out.insert(k.clone(), merge_patch(&current, v));
        }
    }
    Value::Object(out)
}

fn field_of(e: &SessionError) -> String {
    match e {
        SessionError::Invalid(v) => v.field.to_string(),
        SessionError::Forbidden { field } => format!("forbidden:{field}"),
        other => format!("unexpected: {other:?}"),
    }
}

fn patch_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (
            prop::option::of(prop_oneof![3 => string_value().prop_map(Value::from), 1 => json_value()]),
            prop::option::of(meta_value()),
        )
            .prop_map(|(label, meta)| {
                let mut m = Map::new();
                if let Some(l) = label {
                    m.insert("label".into(), l);
                }
                if let Some(x) = meta {
                    m.insert("meta".into(), x);
                }
                Value::Object(m)
            }),
        1 => json_value(),
    ]
}

proptest! {
    #![proptest_config(crate::cases(512))]

    /// Any JSON as an admin merge patch of a session's `{label, meta}`:
    /// taken exactly when the RFC 7396 result obeys the limits, and then it
    /// is the result and what the store holds (expiry untouched); refused
    /// naming `body`, `label` or `meta` at fault, the session unchanged.
    #[test]
    fn admin_merge_patch_agrees_with_rfc_7396_and_the_limits(
        label in prop::option::of("[a-z]{0,10}"),
        meta in prop::collection::btree_map(key(), json_value(), 0..3),
        patch in patch_value(),
    ) {
        let env = env();
        let meta = Value::Object(meta.into_iter().collect());
        prop_assume!(meta_ok(&meta));
        let new = NewSession { label: label.clone(), meta: Some(meta.clone()), ..NewSession::for_user("u") };
        let (_, session) = block_on(env.service.create(new)).unwrap();

        let mut doc = Map::new();
        if let Some(l) = &label {
            doc.insert("label".into(), Value::from(l.as_str()));
        }
        doc.insert("meta".into(), meta.clone());
        let merged = merge_patch(&Value::Object(doc), &patch);
        let mut faults = Vec::new();
        let shape_ok = patch.as_object().is_some_and(|p| p.keys().all(|k| k == "label" || k == "meta"));
        if !shape_ok {
            faults.push("body");
        } else {
            if !label_ok(merged.get("label").unwrap_or(&Value::Null)) {
                faults.push("label");
            }
            let m = merged.get("meta").cloned().unwrap_or_else(|| json!({}));
            if !meta_ok(&m) {
                faults.push("meta");
            }
        }

        let result = block_on(env.service.update(session.id.as_str(), &patch));
        let stored = block_on(env.service.get(session.id.as_str())).unwrap();
        match result {
            Ok(updated) => {
                prop_assert!(faults.is_empty(), "took {} though {:?} at fault", patch, faults);
                let label = merged.get("label").and_then(Value::as_str).map(str::to_owned);
                let meta = merged.get("meta").cloned().unwrap_or_else(|| json!({}));
                prop_assert_eq!(&updated.label, &label);
                prop_assert_eq!(updated.meta.to_value(), meta);
                prop_assert_eq!(&stored.label, &updated.label);
                prop_assert_eq!(&stored.meta, &updated.meta);
                prop_assert_eq!(stored.lifetime, session.lifetime);
            }
            Err(e) => {
                let field = field_of(&e);
                prop_assert!(faults.contains(&field.as_str()), "{} refused naming {} (faults {:?})", patch, field, faults);
                prop_assert!(!e.to_string().contains(MARK), "echoed a value: {}", e);
                prop_assert_eq!(&stored.label, &session.label);
                prop_assert_eq!(&stored.meta, &session.meta);
            }
        }
    }

    /// The holder's own patch: `label` only; naming `meta` is forbidden
    /// (before anything is written), whatever else it holds.
    #[test]
    fn a_holders_patch_never_writes_meta(patch in patch_value()) {
        let env = env();
        let (_, session) = block_on(env.service.create(NewSession {
            meta: Some(json!({"roles": ["user"]})),
            ..NewSession::for_user("u")
        }))
        .unwrap();
        let result = block_on(env.service.update_session(&session, &patch, Writer::Holder));
        let stored = block_on(env.service.get(session.id.as_str())).unwrap();
        prop_assert_eq!(&stored.meta, &session.meta);
        let fields = patch.as_object();
        match (fields, result) {
            (None, r) => prop_assert_eq!(r.err().map(|e| field_of(&e)), Some("body".to_owned())),
            (Some(f), r) if f.keys().any(|k| k != "label" && k != "meta") => {
                prop_assert_eq!(r.err().map(|e| field_of(&e)), Some("body".to_owned()))
            }
            (Some(f), r) if f.contains_key("meta") => {
                prop_assert_eq!(r.err().map(|e| field_of(&e)), Some("forbidden:meta".to_owned()))
            }
            (Some(f), r) => {
                let label = merge_patch(&json!({"label": session.label}), &Value::Object(f.clone()));
                let label = label.get("label").cloned().unwrap_or(Value::Null);
                match r {
                    Ok(updated) => {
                        prop_assert!(label_ok(&label));
                        prop_assert_eq!(updated.label.map(Value::from).unwrap_or(Value::Null), label);
                        prop_assert_eq!(&updated.meta, &session.meta);
                    }
                    Err(e) => {
                        prop_assert!(!label_ok(&label));
                        prop_assert_eq!(field_of(&e), "label");
                    }
                }
            }
        }
    }

    /// Any JSON as a new session (admin body, `X-Session-Issue`): created
    /// exactly when no field is at fault per the contract's rules, and then
    /// its token verifies to a session holding what was asked; refused
    /// naming a field at fault, never a value.
    #[test]
    fn new_session_json_agrees_with_the_rules(
        body in prop_oneof![
            6 => (
                prop::option::of(prop_oneof![
                    4 => "[a-zA-Z0-9@.é]{1,20}".prop_map(Value::from),
                    1 => Just(Value::from("")),
                    1 => (MAX_USER_ID_BYTES - 2..MAX_USER_ID_BYTES + 3).prop_map(|n| Value::from("u".repeat(n))),
                    1 => json_value(),
                ]),
                prop::option::of(prop_oneof![string_value().prop_map(Value::from), json_value()]),
                prop::option::of(meta_value()),
                prop::option::of(ttl_value()),
                prop::option::of(ttl_value()),
                prop::option::of(("[a-z]{1,8}", json_value())),
            )
                .prop_map(|(user, label, meta, idle, absolute, extra)| {
                    let mut m = Map::new();
                    for (k, v) in [("userId", user), ("label", label), ("meta", meta), ("idleTtl", idle), ("absoluteTtl", absolute)] {
                        if let Some(v) = v {
                            m.insert(k.into(), v);
                        }
                    }
                    if let Some((k, v)) = extra {
                        m.insert(k, v);
                    }
                    Value::Object(m)
                }),
            1 => json_value(),
        ],
    ) {
        let faults = new_session_faults(&body);
        let env = env();
        let result = NewSession::from_json(body.clone(), ClientInfo::default())
            .map_err(SessionError::Invalid)
            .and_then(|new| block_on(env.service.create(new)));
        match result {
            Ok((token, session)) => {
                prop_assert!(faults.is_empty(), "created {} though {:?} at fault", body, faults);
                let verified = block_on(env.service.verify(token.expose())).unwrap();
                prop_assert_eq!(&verified.id, &session.id);
                prop_assert_eq!(Some(verified.user_id.as_str()), body["userId"].as_str());
                prop_assert_eq!(verified.label.as_deref(), body.get("label").and_then(Value::as_str));
                let meta = body.get("meta").filter(|m| !m.is_null()).cloned().unwrap_or_else(|| json!({}));
                prop_assert_eq!(verified.meta.to_value(), meta);
                let (idle, absolute) = expected_ttls(&body);
                prop_assert_eq!((verified.idle_ttl, verified.absolute_ttl), (idle, absolute));
            }
            Err(e) => {
                let field = field_of(&e);
                prop_assert!(faults.contains(&field), "{} refused naming {:?} (faults {:?})", body, field, faults);
                prop_assert!(!e.to_string().contains(MARK), "echoed a value: {}", e);
            }
        }
    }
}

fn ttl_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(&[0u64, 59, 60, 61, 3600, 604_800, 2_592_000, 31_536_000, 31_536_001][..]).prop_map(Value::from),
        2 => (60u64..40_000_000).prop_map(Value::from),
        1 => prop::sample::select(vec![json!(-1), json!(60.5), json!("60"), json!(null), json!(1e20), json!(true), json!(-0.0)]),
    ]
}

const DEFAULT_IDLE: u64 = 604_800;
const DEFAULT_ABSOLUTE: u64 = 2_592_000;
const MAX_TTL: u64 = 31_536_000;

/// The TTLs of a session created from `body`: a missing one is the
/// default, moved to keep idle <= absolute.
fn expected_ttls(body: &Value) -> (u64, u64) {
    let idle = body.get("idleTtl").and_then(Value::as_u64);
    let absolute = body.get("absoluteTtl").and_then(Value::as_u64);
    match (idle, absolute) {
        (Some(i), Some(a)) => (i, a),
        (Some(i), None) => (i, DEFAULT_ABSOLUTE.max(i)),
        (None, Some(a)) => (DEFAULT_IDLE.min(a), a),
        (None, None) => (DEFAULT_IDLE, DEFAULT_ABSOLUTE),
    }
}

/// Every field at fault in a new session's JSON, by the contract alone.
fn new_session_faults(body: &Value) -> Vec<String> {
    let Value::Object(m) = body else {
        return vec!["body".into()];
    };
    let known = ["userId", "label", "meta", "idleTtl", "absoluteTtl"];
    let mut faults: Vec<String> = m
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| k.chars().take(64).collect())
        .collect();
    match m.get("userId") {
        Some(Value::String(u)) if !u.is_empty() && u.len() <= MAX_USER_ID_BYTES => {}
        _ => faults.push("userId".into()),
    }
    if !label_ok(m.get("label").unwrap_or(&Value::Null)) {
        faults.push("label".into());
    }
    match m.get("meta") {
        None | Some(Value::Null) => {}
        Some(meta) if meta_ok(meta) => {}
        Some(_) => faults.push("meta".into()),
    }
    let ttl = |field: &str| -> Result<Option<u64>, ()> {
        match m.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if (60..=MAX_TTL).contains(&n) => Ok(Some(n)),
                _ => Err(()),
            },
        }
    };
    match (ttl("idleTtl"), ttl("absoluteTtl")) {
        (Err(()), a) => {
            faults.push("idleTtl".into());
            if a.is_err() {
                faults.push("absoluteTtl".into());
            }
        }
        (Ok(_), Err(())) => faults.push("absoluteTtl".into()),
        (Ok(Some(i)), Ok(Some(a))) if a < i => faults.push("absoluteTtl".into()),
        _ => {}
    }
    faults
}

// --- the counterexamples the properties found, as examples ---------------

/// A number of `meta` came back from the store one ULP off: serde_json's
/// default float parser is not exact (`float_roundtrip` is).
#[test]
fn meta_numbers_read_back_exactly() {
    let env = env();
    let meta = json!({"roles": [{"roles": 989398.9252359003}]});
    let new = NewSession {
        meta: Some(meta.clone()),
        ..NewSession::for_user("u")
    };
    let (token, session) = block_on(env.service.create(new)).unwrap();
    let read = block_on(env.service.get(session.id.as_str())).unwrap();
    assert_eq!(read.meta.to_value(), meta);
    let verified = block_on(env.service.verify(token.expose())).unwrap();
    assert_eq!(verified.meta.to_value(), meta);
    let text = r#"{"x":989398.9252359003}"#;
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap().to_string(),
        text
    );
}
