//! Decoding storage rows into domain values.

use std::borrow::Cow;

use sqlx::any::AnyRow;
use sqlx::error::UnexpectedNullError;
use sqlx::Row;

use crate::domain::{Operator, Service, Timestamp};

/// A result row read by column name: sqlx's rows, and those of the direct SQLite reads
/// (`sqlite_reads`), so both decode the same way.
pub(super) trait Columns {
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;

    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.opt_int(col)?.ok_or_else(|| null(col))
    }

    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.opt_text(col)?.ok_or_else(|| null(col))
    }
}

fn null(col: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: format!("{col:?}"),
        source: Box::new(UnexpectedNullError),
    }
}

impl Columns for AnyRow {
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(col)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(col)
    }
}

pub(super) fn ts(row: &impl Columns, col: &str) -> Result<Option<Timestamp>, sqlx::Error> {
    Ok(row.opt_int(col)?.map(Timestamp::from_ticks))
}

pub(super) fn flag(row: &impl Columns, col: &str) -> Result<bool, sqlx::Error> {
    Ok(row.int(col)? != 0)
}

/// A service from columns `id`, `name`, `description`, `is_public` (or with a prefix, e.g.
/// `s_id`).
pub(super) fn service(row: &impl Columns, prefix: &str) -> Result<Service, sqlx::Error> {
    const COLUMNS: [&str; 4] = ["id", "name", "description", "is_public"];
    let [id, name, description, is_public] = match prefix {
        "" => COLUMNS.map(Cow::Borrowed),
        "s_" => ["s_id", "s_name", "s_description", "s_is_public"].map(Cow::Borrowed),
        _ => COLUMNS.map(|c| Cow::Owned(format!("{prefix}{c}"))),
    };
    Ok(Service {
        id: row.int(&id)?,
        name: row.text(&name)?,
        description: row.opt_text(&description)?,
        is_public: flag(row, &is_public)?,
    })
}

/// A joined service that may be absent (LEFT JOIN).
pub(super) fn joined_service(row: &impl Columns) -> Result<Option<Service>, sqlx::Error> {
    match row.opt_int("s_id")? {
        Some(_) => service(row, "s_").map(Some),
        None => Ok(None),
    }
}

pub(super) fn operator(row: &impl Columns) -> Result<Operator, sqlx::Error> {
    Ok(Operator {
        id: row.int("id")?,
        name: row.text("name")?,
        email: row.text("email")?,
        cell_phone: row.opt_text("cell_phone")?,
        is_admin: flag(row, "is_admin")?,
    })
}

/// A predicate the current value must satisfy before a change (an `If-Match` ETag check).
pub type Check<'a, T> = Option<&'a (dyn Fn(&T) -> bool + Send + Sync)>;

pub(super) fn check<T>(check: Check<'_, T>, current: &T) -> Result<(), super::StoreError> {
    match check {
        Some(f) if !f(current) => Err(super::StoreError::PreconditionFailed),
        _ => Ok(()),
    }
}
