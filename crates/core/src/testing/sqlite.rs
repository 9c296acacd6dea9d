//! The owner's [`Sql`] on SQLite itself (in memory), so that the very
//! statements the Durable Object runs are tested natively. Clones share one
//! database. A [`Faults`] plan numbers each transaction as one call: lost,
//! it never runs; unanswered, it commits and then answers an error.

use std::cell::RefCell;
use std::rc::Rc;

use rusqlite::types::{Value as Sqlite, ValueRef};
use rusqlite::Connection;

use super::faults::{self, Attached};
use super::{Faults, StoreOp};
use crate::owner::{Row, Sql, SqlValue};
use crate::store::StoreError;

/// See the module documentation.
#[derive(Clone)]
pub struct SqliteDb {
    inner: Rc<Inner>,
}

struct Inner {
    conn: Connection,
    faults: RefCell<Option<Attached>>,
}

impl Default for SqliteDb {
    fn default() -> Self {
        Self::new()
    }
}

impl SqliteDb {
    pub fn new() -> Self {
        let conn = Connection::open_in_memory().expect("an in-memory SQLite database");
        Self {
            inner: Rc::new(Inner {
                conn,
                faults: RefCell::default(),
            }),
        }
    }

    /// Numbers this database's transactions in `faults` under `name`.
    pub fn set_faults(&self, faults: Option<(&Faults, &str)>) {
        *self.inner.faults.borrow_mut() = faults.map(|(faults, name)| Attached {
            faults: faults.clone(),
            store: name.to_owned(),
        });
    }

    /// Every row of `query` (a test's look inside).
    pub fn rows(&self, query: &str) -> Vec<Row> {
        self.exec(query, &[]).expect("a readable query")
    }
}

fn failed(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

impl Sql for SqliteDb {
    fn exec(&self, query: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let mut statement = self.inner.conn.prepare(query).map_err(failed)?;
        let bound: Vec<Sqlite> = params
            .iter()
            .map(|p| match p {
                SqlValue::Null => Sqlite::Null,
                SqlValue::Integer(n) => Sqlite::Integer(*n),
                SqlValue::Text(t) => Sqlite::Text(t.clone()),
            })
            .collect();
        let columns = statement.column_count();
        let mut rows = statement
            .query(rusqlite::params_from_iter(bound))
            .map_err(failed)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(failed)? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i).map_err(failed)? {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(n) => SqlValue::Integer(n),
                    ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                    other => return Err(StoreError::Rejected(format!("column type {other:?}"))),
                });
            }
            out.push(values);
        }
        Ok(out)
    }

    fn transaction(
        &self,
        body: &mut dyn FnMut() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let attached = self.inner.faults.borrow().clone();
        let verdict = faults::check(attached.as_ref(), StoreOp::Transaction, "transaction")?;
        let conn = &self.inner.conn;
        conn.execute_batch("BEGIN").map_err(failed)?;
        match body() {
            Ok(()) => {
                conn.execute_batch("COMMIT").map_err(failed)?;
                verdict.answer(Ok(()))
            }
            Err(e) => {
                conn.execute_batch("ROLLBACK").map_err(failed)?;
                Err(e)
            }
        }
    }
}
