//! What a SQLite-backed Durable Object's storage offers the owner: one
//! statement at a time, and a transaction around several.
//!
//! ```ignore
//! sql.transaction(&mut || {
//!     sql.exec("DELETE FROM sessions WHERE id = ?1", &[SqlValue::text(id)])?;
//!     sql.exec("INSERT INTO outbox (key, seq, put) VALUES (?1, ?2, NULL)", &[..])?;
//!     Ok(())
//! })?;
//! ```
//!
//! Both are synchronous, as the object's `sql.exec` and `transactionSync`
//! are. The Worker's adapter is `src/store/sql.rs`; tests run the very same
//! statements on SQLite itself (`testing::SqliteDb`).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::store::StoreError;

/// A value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Text(String),
}

impl SqlValue {
    pub fn text(text: impl Into<String>) -> Self {
        SqlValue::Text(text.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Integer(n) => Some(*n),
            _ => None,
        }
    }
}

/// One row, its columns in the statement's order.
pub type Row = Vec<SqlValue>;

/// See the module documentation. Every failure is a [`StoreError`].
pub trait Sql {
    /// Runs one statement with `?1`, `?2`… bound to `params`; its rows.
    fn exec(&self, query: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError>;

    /// Runs `body` in one transaction: committed when it answers `Ok`,
    /// rolled back (and its error answered) otherwise.
    fn transaction(
        &self,
        body: &mut dyn FnMut() -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}

impl<T: Sql + ?Sized> Sql for std::rc::Rc<T> {
    fn exec(&self, query: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        (**self).exec(query, params)
    }

    fn transaction(
        &self,
        body: &mut dyn FnMut() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        (**self).transaction(body)
    }
}

/// Runs a future that never waits (the session service over [`Sql`], whose
/// calls are synchronous) to its end, inside a synchronous transaction.
/// One that would wait is refused: a transaction cannot span an await.
pub(crate) fn run_now<F: Future>(future: F) -> Result<F::Output, StoreError> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(StoreError::Rejected(
            "an owner operation waited inside its transaction".into(),
        )),
    }
}
