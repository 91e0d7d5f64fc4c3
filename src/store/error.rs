//! Errors of the storage layer. The HTTP layer maps them once, in `api::error`.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The request refers to something that breaks a rule of the data: (field, message).
    #[error("invalid: {0:?}")]
    Invalid(Vec<(&'static str, String)>),
    /// An `If-Match` precondition did not hold.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The change would break a rule (deleting the last administrator).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database configuration: {0}")]
    Config(String),
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The database's disk is full: nothing can be written until space is freed (reads work).
    #[error("the database's storage is full")]
    StorageFull(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl StoreError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::Invalid(vec![(field, message.into())])
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_storage_full(&e) {
            StoreError::StorageFull(e)
        } else if is_unavailable(&e) {
            StoreError::Unavailable(e)
        } else {
            StoreError::Database(e)
        }
    }
}

impl StoreError {
    /// One error that ended a group commit, as each request of the group is told it.
    pub(super) fn shared(e: &std::sync::Arc<sqlx::Error>) -> Self {
        let full = is_storage_full(e);
        let unavailable = is_unavailable(e);
        let e = sqlx::Error::AnyDriverError(Box::new(e.clone()));
        if full {
            StoreError::StorageFull(e)
        } else if unavailable {
            StoreError::Unavailable(e)
        } else {
            StoreError::Database(e)
        }
    }
}

/// Is this "no space left": SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full` (53100), or the
/// operating system's `ENOSPC`?
pub(super) fn is_storage_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c == "53100"
                || c.parse::<i32>()
                    .is_ok_and(|code| code & 0xff == SQLITE_FULL)
        }),
        sqlx::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(ENOSPC)
        }
        _ => false,
    }
}

/// SQLite's primary result code for a full disk (extended codes keep it in the low byte).
const SQLITE_FULL: i32 = 13;
/// Linux's (and most systems') "No space left on device".
const ENOSPC: i32 = 28;

fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| is_transient(&c)),
        _ => false,
    }
}

/// SQLSTATEs that mean "the database is not reachable right now" rather than "this request is
/// wrong": connection exceptions (class 08), the server shutting down or starting up (57P01-03),
/// and no free connection slot (53300).
fn is_transient(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03" | "53300")
}

/// Is this a unique-constraint violation (a duplicate name or email under concurrency)?
pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
