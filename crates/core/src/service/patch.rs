//! Merge patches (RFC 7396) of a session's `{label, meta}`, and who may
//! write which field.

use serde_json::{Map, Value};

use super::SessionError;
use crate::session::{validate_label, Meta, Session, ValidationError};
use crate::text::quote;

/// Who writes a merge patch: what a patch may touch follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Writer {
    /// The session's own holder (self-service): `label` only. `meta` holds
    /// the roles and claims the origin trusts, so a patch naming it is
    /// refused ([`SessionError::Forbidden`]).
    Holder,
    /// The admin API: `label` and `meta`.
    Admin,
}

/// `session` with the merge patch `patch` applied by `writer`, validated.
pub(crate) fn apply(
    session: &Session,
    patch: &Value,
    writer: Writer,
) -> Result<Session, SessionError> {
    let Value::Object(fields) = patch else {
        return Err(ValidationError::new("body", "must be a JSON object").into());
    };
    if let Some(unknown) = fields.keys().find(|k| *k != "label" && *k != "meta") {
        let allowed = match writer {
            Writer::Holder => "only label can be changed",
            Writer::Admin => "only label and meta can be changed",
        };
        let shown = quote(unknown);
        return Err(
            ValidationError::new("body", format!("unknown field {shown}: {allowed}")).into(),
        );
    }
    if writer == Writer::Holder && fields.contains_key("meta") {
        return Err(SessionError::Forbidden { field: "meta" });
    }
    let mut doc = Map::new();
    if let Some(label) = &session.label {
        doc.insert("label".into(), Value::String(label.clone()));
    }
    doc.insert("meta".into(), session.meta.to_value());
    let mut doc = Value::Object(doc);
    json_patch::merge(&mut doc, patch);

    let mut updated = session.clone();
    updated.label = match doc.get("label") {
        None | Some(Value::Null) => None,
        Some(Value::String(label)) => Some(label.clone()),
        Some(_) => return Err(ValidationError::new("label", "must be a string or null").into()),
    };
    validate_label(updated.label.as_deref())?;
    updated.meta = match doc.get_mut("meta").map(Value::take) {
        None => Meta::empty(),
        Some(meta) => Meta::from_value(meta)?,
    };
    Ok(updated)
}
