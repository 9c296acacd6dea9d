//! `strong` mode's exact count of the sessions created per user
//! (`RL_CREATE`): an owner runs every creation of its user, one at a time,
//! so it counts them exactly, across every location, inside the creation's
//! own transaction: no extra request, no KV call.
//!
//! ```ignore
//! let settings = OwnerSettings { create_limit: Some(CreateLimit::new(20, 60)), ..settings };
//! // the 21st Op::Create of a user within 60 s:
//! // Err(SessionError::RateLimited(seconds to wait)) and nothing created
//! ```
//!
//! A sliding window: one row per creation of the last `period` seconds
//! (`creations (at)`, in ms). A creation that fails rolls back with its
//! row, so only sessions actually made count.

use serde::{Deserialize, Serialize};

use super::sql::{Sql, SqlValue};
use crate::ops::Op;
use crate::service::SessionError;
use crate::store::StoreError;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS creations (at INTEGER NOT NULL)";

/// At most `limit` sessions created per user in any `period_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLimit {
    pub limit: u32,
    pub period_secs: u32,
}

impl CreateLimit {
    pub const fn new(limit: u32, period_secs: u32) -> Self {
        Self { limit, period_secs }
    }

    fn period_ms(&self) -> i64 {
        i64::from(self.period_secs) * 1000
    }
}

/// Counts `op` when it is a creation and a limit is set: `Err(RateLimited)`
/// when `limit` sessions were already created in the window ending at
/// `now_ms`, with the seconds until the oldest of them leaves it. Runs
/// inside the operation's transaction.
pub(super) fn admit(
    sql: &impl Sql,
    limit: Option<&CreateLimit>,
    op: &Op,
    now_ms: i64,
) -> Result<(), SessionError> {
    let (Some(limit), Op::Create { .. }) = (limit, op) else {
        return Ok(());
    };
    sql.exec(SCHEMA, &[])?;
    sql.exec(
        "DELETE FROM creations WHERE at <= ?1",
        &[SqlValue::Integer(now_ms.saturating_sub(limit.period_ms()))],
    )?;
    let rows = sql.exec("SELECT COUNT(*), MIN(at) FROM creations", &[])?;
    let column = |i: usize| {
        rows.first()
            .and_then(|r| r.get(i))
            .and_then(SqlValue::as_i64)
    };
    let count =
        column(0).ok_or_else(|| StoreError::Rejected("unexpected count of creations".into()))?;
    if count >= i64::from(limit.limit) {
        let oldest = column(1).unwrap_or(now_ms);
        let wait_ms = oldest.saturating_add(limit.period_ms()) - now_ms;
        let wait_ms = u64::try_from(wait_ms.max(1)).unwrap_or(1);
        return Err(SessionError::RateLimited(wait_ms.div_ceil(1000)));
    }
    sql.exec(
        "INSERT INTO creations (at) VALUES (?1)",
        &[SqlValue::Integer(now_ms)],
    )?;
    Ok(())
}
