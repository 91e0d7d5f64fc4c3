//! Decoding storage rows into domain values.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::domain::{Operator, Service, Timestamp};

pub(super) fn ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>, sqlx::Error> {
    Ok(row
        .try_get::<Option<i64>, _>(col)?
        .map(Timestamp::from_micros))
}

pub(super) fn flag(row: &AnyRow, col: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

/// A service from columns `id`, `name`, `description` (or with a prefix, e.g. `s_id`).
pub(super) fn service(row: &AnyRow, prefix: &str) -> Result<Service, sqlx::Error> {
    Ok(Service {
        id: row.try_get(format!("{prefix}id").as_str())?,
        name: row.try_get(format!("{prefix}name").as_str())?,
        description: row.try_get(format!("{prefix}description").as_str())?,
    })
}

/// A joined service that may be absent (LEFT JOIN).
pub(super) fn joined_service(row: &AnyRow) -> Result<Option<Service>, sqlx::Error> {
    match row.try_get::<Option<i64>, _>("s_id")? {
        Some(_) => service(row, "s_").map(Some),
        None => Ok(None),
    }
}

pub(super) fn operator(row: &AnyRow) -> Result<Operator, sqlx::Error> {
    Ok(Operator {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        cell_phone: row.try_get("cell_phone")?,
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
