//! Point reads on PostgreSQL over connections of Herald's own: one round trip per read.
//!
//! sqlx's pool pings every connection handed back to it (a round trip, and a task spawned per
//! release), and no option turns that off: a GET of one entity was two round trips, and most
//! of Herald's time under load went to the kernel switching between Herald and the server's
//! backends for them. The reads of one entity by id (tickets, customers, services, operators)
//! take a detached sqlx [`PgConnection`] from here instead, run their one prepared statement
//! (sqlx keeps it prepared per connection) and put the connection back, with no round trip.
//!
//! A plain sqlx connection rather than tokio-postgres or deadpool: the same URL and options as
//! the pool, the same rows and errors (`sqlx::Error`, decoded through [`Columns`]), no second
//! driver to keep.
//!
//! - A connection is put back only when its statement finished, successfully or as "not
//!   found"; one whose read failed, or whose future was dropped mid-read (a cancelled
//!   request), is dropped: it may be mid-answer.
//! - One idle for [`PING_WHEN_IDLE_FOR`] or more is pinged first (a server restarted meanwhile);
//!   a read that fails on a reused connection for want of the server is tried once more on a
//!   new one, so a restarted server costs no request.
//! - A bounded number of connections, out of the instance's `--db-max-connections`
//!   (see `dialect::connect`); a read waits for one up to the acquire timeout, then fails as
//!   "unavailable" (a 503) like the pool.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{ConnectOptions, Connection, Row};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::rows::Columns;
use super::StoreError;

/// A connection idle this long is pinged before it is used (as the pool does).
pub(super) const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// The point-read connections of one instance.
pub(super) struct PgReads {
    options: PgConnectOptions,
    /// Idle connections and since when; `None` once closed.
    idle: Mutex<Option<Vec<(PgConnection, Instant)>>>,
    /// One permit per connection that may be open.
    permits: Semaphore,
    acquire_timeout: Duration,
}

impl PgReads {
    pub(super) fn new(
        url: &str,
        max: usize,
        acquire_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|_| StoreError::Config("invalid PostgreSQL URL".into()))?;
        Ok(PgReads {
            // The pool logs its statements at debug level only; these are as many.
            options: options.disable_statement_logging(),
            idle: Mutex::new(Some(Vec::new())),
            permits: Semaphore::new(max),
            acquire_timeout,
        })
    }

    /// The rows of `sql` (one parameter, `id`), read on a connection of these; `decode` turns
    /// them into the entity (or [`StoreError::NotFound`]).
    pub(super) async fn read<T>(
        &self,
        sql: &str,
        id: i64,
        decode: impl Fn(&[PgRow]) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut lease = self.take().await?;
        let rows = match fetch(lease.conn(), sql, id).await {
            Err(e) if lease.reused && is_gone(&e) => {
                // The server closed this connection since it was last used (a restart within
                // the ping interval): once more on a new connection.
                lease.conn = Some(self.open().await?);
                lease.reused = false;
                fetch(lease.conn(), sql, id).await?
            }
            rows => rows?,
        };
        let result = decode(&rows);
        if result.is_ok() || matches!(result, Err(StoreError::NotFound)) {
            lease.put_back();
        }
        result
    }

    /// Closes the idle connections; reads waiting or to come fail as on a closed pool.
    pub(super) fn close(&self) {
        self.permits.close();
        self.idle.lock().expect("never poisoned").take();
    }

    async fn take(&self) -> Result<Lease<'_>, StoreError> {
        let permit = match tokio::time::timeout(self.acquire_timeout, self.permits.acquire()).await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
            Err(_) => return Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        };
        let idle = match self.idle.lock().expect("never poisoned").as_mut() {
            Some(idle) => idle.pop(),
            None => return Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
        };
        let (conn, reused) = match idle {
            Some((conn, since)) if since.elapsed() < PING_WHEN_IDLE_FOR => (conn, true),
            Some((mut conn, _)) => match conn.ping().await {
                Ok(()) => (conn, true),
                Err(_) => (self.open().await?, false),
            },
            None => (self.open().await?, false),
        };
        Ok(Lease {
            reads: self,
            conn: Some(conn),
            reused,
            _permit: permit,
        })
    }

    async fn open(&self) -> Result<PgConnection, StoreError> {
        match tokio::time::timeout(self.acquire_timeout, self.options.connect()).await {
            Ok(conn) => Ok(conn?),
            Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        }
    }
}

async fn fetch(conn: &mut PgConnection, sql: &str, id: i64) -> Result<Vec<PgRow>, sqlx::Error> {
    sqlx::query(sql).bind(id).fetch_all(conn).await
}

/// Did the statement fail because the connection is gone (not because of the statement)?
fn is_gone(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        // admin_shutdown, crash_shutdown: the backend of this connection was ended.
        sqlx::Error::Database(d) => d.code().is_some_and(|c| matches!(&*c, "57P01" | "57P02")),
        _ => false,
    }
}

/// A connection taken for one read. Dropped without [`Lease::put_back`] (the read failed, or
/// its future was dropped mid-read), it closes the connection rather than reuse it.
struct Lease<'a> {
    reads: &'a PgReads,
    conn: Option<PgConnection>,
    /// Whether the connection served an earlier read (a new one is not tried twice).
    reused: bool,
    _permit: SemaphorePermit<'a>,
}

impl Lease<'_> {
    fn conn(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("held until put back")
    }

    fn put_back(mut self) {
        let conn = self.conn.take().expect("held until put back");
        if let Some(idle) = self.reads.idle.lock().expect("never poisoned").as_mut() {
            idle.push((conn, Instant::now()));
        }
    }
}

impl Columns for PgRow {
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(col)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(col)
    }
}
