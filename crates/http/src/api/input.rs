//! Reading a request's input: its JSON body, path parameters and query.

use serde_json::{Map, Value};
use session_core::service::MAX_CURSOR_LEN;
use session_core::store::MAX_LIST_LIMIT;

use super::MAX_BODY_BYTES;
use crate::problem::{ErrorCode, Problem};
use crate::request::RequestHead;

/// Page size of the admin listing when `limit` is not given.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// The JSON body of a request: 415 unless `application/json` or
/// `application/merge-patch+json`, 400 naming `body` when malformed.
pub(super) fn json_body(head: &RequestHead, body: &[u8]) -> Result<Value, Problem> {
    let media_type = head.header("content-type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match media_type.as_deref() {
        Some("application/json") | Some("application/merge-patch+json") => {}
        _ => {
            return Err(Problem::new(
                ErrorCode::UnsupportedMediaType,
                "the body must be application/json or application/merge-patch+json",
            ))
        }
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(ErrorCode::PayloadTooLarge.into());
    }
    // serde_json's syntax errors name a line and column, never the input.
    // Read as text: the wasm holds one copy of serde_json's parser (the text
    // one, which every other JSON reader uses) instead of two.
    let text = std::str::from_utf8(body).map_err(|e| {
        let (line, column) = line_and_column(&body[..e.valid_up_to()]);
        Problem::invalid_field(
            "body",
            &format!("malformed JSON: not UTF-8 at line {line} column {column}"),
        )
    })?;
    serde_json::from_str(text)
        .map_err(|e| Problem::invalid_field("body", &format!("malformed JSON: {e}")))
}

/// Where the byte after `before` is, counted as serde_json counts: lines
/// from 1, columns in bytes from 1.
fn line_and_column(before: &[u8]) -> (usize, usize) {
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    (line, before.len() - line_start + 1)
}

/// The object's fields, 400 naming `body` when not an object and naming the
/// first unknown field otherwise.
pub(super) fn only_fields<'v>(
    body: &'v Value,
    known: &[&str],
) -> Result<&'v Map<String, Value>, Problem> {
    let Value::Object(fields) = body else {
        return Err(Problem::invalid_field("body", "must be a JSON object"));
    };
    if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
        let shown: String = unknown
            .chars()
            .take(session_core::text::QUOTE_CHARS)
            .collect();
        return Err(Problem::invalid_field(&shown, "is not a known field"));
    }
    Ok(fields)
}

/// A percent-encoded path segment as text: `None` when an escape is not `%`
/// and two hex digits (`%ZZ`) or the bytes are not UTF-8.
pub(super) fn decode_path_param(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// `limit` (1..=1000, default 100) and `cursor` of the admin listing.
pub(super) fn list_params(head: &RequestHead) -> Result<(usize, Option<String>), Problem> {
    let mut limit = None;
    let mut cursor = None;
    for (name, value) in head.url.query_pairs() {
        match name.as_ref() {
            "limit" if limit.is_none() => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Problem::invalid_field(
                            "limit",
                            &format!("must be a whole number from 1 to {MAX_LIST_LIMIT}"),
                        )
                    })?;
                limit = Some(n);
            }
            "cursor" if cursor.is_none() => {
                if value.is_empty() || value.len() > MAX_CURSOR_LEN {
                    return Err(Problem::invalid_field(
                        "cursor",
                        "is not a cursor of this listing",
                    ));
                }
                cursor = Some(value.into_owned());
            }
            _ => {}
        }
    }
    Ok((limit.unwrap_or(DEFAULT_LIST_LIMIT), cursor))
}

/// `?others=true|false` of `DELETE sessions`.
pub(super) fn others_param(head: &RequestHead) -> Result<bool, Problem> {
    match head.url.query_pairs().find(|(name, _)| name == "others") {
        None => Ok(false),
        Some((_, v)) if v == "true" => Ok(true),
        Some((_, v)) if v == "false" => Ok(false),
        Some(_) => Err(Problem::invalid_field("others", "must be true or false")),
    }
}
