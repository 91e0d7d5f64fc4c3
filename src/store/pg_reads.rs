//! Point reads on PostgreSQL over connections of Herald's own: one round trip per read.
//!
//! sqlx's pool pings every connection handed back to it (a round trip, and a task spawned per
//! release), and no option turns that off: a GET of one entity was two round trips, and most
//! of Herald's time under load went to the kernel switching between Herald and the server's
//! backends for them. The reads of one entity by id (tickets, customers, services, operators)
//! take a detached sqlx [`PgConnection`] from here instead, run their one prepared statement
//! (sqlx keeps it prepared per connection) and put the connection back, with no round trip.
//!
//! Tickets, the figure of issue 16, are read together ([`PgReads::read_together`]): the reads
//! that queue while every connection is busy are read by one statement (`unnest($1)`), one
//! round trip and one executor start in the server for all of them, in a reader task that
//! takes them all from the queue each time its connection is free.
//!
//! A plain sqlx connection rather than tokio-postgres or deadpool: the same URL and options as
//! the pool, the same rows and errors (`sqlx::Error`, decoded through [`Columns`]), no second
//! driver to keep.
//!
//! - A connection is put back only when its statement finished, successfully or as "not
//!   found"; one whose read failed, or whose future was dropped mid-read (a cancelled
//!   request), is dropped: it may be mid-answer. A statement of reads read together runs to
//!   its end in its reader task whatever happens to the requests.
//! - One idle for [`PING_WHEN_IDLE_FOR`] or more is pinged first (a server restarted meanwhile);
//!   a read that fails on a reused connection for want of the server is tried once more on a
//!   new one, so a restarted server costs no request.
//! - A bounded number of connections, out of the instance's `--db-max-connections`
//!   (see `dialect::connect`); a read waits for one up to the acquire timeout, then fails as
//!   "unavailable" (a 503) like the pool.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{ConnectOptions, Connection, Row};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError};

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
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
    /// The reads [`PgReads::read_together`] queued and no reader has taken yet.
    waiting: Mutex<Vec<Waiting>>,
}

/// A read queued by [`PgReads::read_together`]: its statement for many ids, its id, and what
/// to do with its rows (decode them and answer its request).
struct Waiting {
    many: &'static str,
    id: i64,
    deliver: Box<dyn FnOnce(Fetched<'_>) + Send>,
}

/// The rows of one read, or the error of the statement that read them.
type Fetched<'a> = Result<&'a [PgRow], &'a Arc<sqlx::Error>>;

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
            permits: Arc::new(Semaphore::new(max)),
            acquire_timeout,
            waiting: Mutex::new(Vec::new()),
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

    /// The rows of `many` (one parameter, an array of ids, its rows ordered by their `id`
    /// column) for `id` alone, decoded by `decode` as [`PgReads::read`] does. The reads that
    /// queue while all connections are busy are read together: whichever reader takes a
    /// connection next runs `many` once for all the ids queued with it, one round trip and
    /// one statement for all of them (BENCHMARKS.md, "PostgreSQL POST and reads, fourth pass").
    ///
    /// The statements run in reader tasks of their own, so a request that goes away does not
    /// stop one mid-answer: its rows are dropped, the connection is put back.
    pub(super) async fn read_together<T: Send + 'static>(
        self: &Arc<Self>,
        many: &'static str,
        id: i64,
        decode: fn(&[PgRow]) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let deliver = Box::new(move |rows: Fetched<'_>| {
            let _ = reply.send(match rows {
                Ok(rows) => decode(rows),
                Err(e) => Err(StoreError::shared(e)),
            });
        });
        self.waiting
            .lock()
            .expect("never poisoned")
            .push(Waiting { many, id, deliver });
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(self.clone().serve(permit));
            }
            // Every connection is busy: the reader of one takes this read when it is done.
            Err(TryAcquireError::NoPermits) => {}
            Err(TryAcquireError::Closed) => {
                self.waiting.lock().expect("never poisoned").clear();
            }
        }
        // As long as a read alone waits for a connection (`read`), then a 503: a database that
        // stopped answering must not hold every GET until the request's own timeout. The read
        // stays queued; its answer, when it comes, goes nowhere.
        match tokio::time::timeout(self.acquire_timeout, answer).await {
            Ok(answer) => answer.unwrap_or(Err(StoreError::Unavailable(sqlx::Error::PoolClosed))),
            Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        }
    }

    /// A reader: runs the queued reads on a connection of its `permit` until there are none.
    async fn serve(self: Arc<Self>, mut permit: OwnedSemaphorePermit) {
        loop {
            let mut batch = std::mem::take(&mut *self.waiting.lock().expect("never poisoned"));
            if batch.is_empty() {
                drop(permit);
                // A read queued since, finding no permit, waits for a reader: be it.
                if self.waiting.lock().expect("never poisoned").is_empty() {
                    return;
                }
                match self.permits.clone().try_acquire_owned() {
                    Ok(again) => permit = again,
                    Err(_) => return,
                }
                continue;
            }
            // One statement per kind of read queued.
            while let Some(first) = batch.first() {
                let many = first.many;
                let (same, rest): (Vec<Waiting>, Vec<Waiting>) =
                    batch.into_iter().partition(|w| w.many == many);
                batch = rest;
                self.answer(many, same).await;
            }
        }
    }

    /// Runs `many` for the ids of `waiting` and delivers each its rows.
    async fn answer(&self, many: &'static str, waiting: Vec<Waiting>) {
        let mut ids: Vec<i64> = waiting.iter().map(|w| w.id).collect();
        ids.sort_unstable();
        ids.dedup();
        match self.fetch_many(many, &ids).await {
            Ok(rows) => {
                let keys = rows
                    .iter()
                    .map(|row| row.try_get::<i64, _>("id"))
                    .collect::<Result<Vec<i64>, _>>();
                let keys = match keys {
                    Ok(keys) => keys,
                    Err(e) => return fail(waiting, e),
                };
                for w in waiting {
                    // The rows are ordered by id: this read's are one run of them.
                    let start = keys.partition_point(|k| *k < w.id);
                    let end = keys.partition_point(|k| *k <= w.id);
                    (w.deliver)(Ok(&rows[start..end]));
                }
            }
            Err(e) => fail(waiting, e),
        }
    }

    /// The rows of `many` for `ids`, on a connection of these (taken under the caller's
    /// permit), put back when the statement finished.
    async fn fetch_many(&self, many: &str, ids: &[i64]) -> Result<Vec<PgRow>, sqlx::Error> {
        let (mut conn, reused) = self.checkout().await.map_err(driver_error)?;
        let rows = match fetch_ids(&mut conn, many, ids).await {
            Err(e) if reused && is_gone(&e) => {
                conn = self.open().await.map_err(driver_error)?;
                fetch_ids(&mut conn, many, ids).await?
            }
            rows => rows?,
        };
        if let Some(idle) = self.idle.lock().expect("never poisoned").as_mut() {
            idle.push((conn, Instant::now()));
        }
        Ok(rows)
    }

    /// Closes the idle connections; reads waiting or to come fail as on a closed pool.
    pub(super) fn close(&self) {
        self.permits.close();
        self.idle.lock().expect("never poisoned").take();
        self.waiting.lock().expect("never poisoned").clear();
    }

    async fn take(&self) -> Result<Lease<'_>, StoreError> {
        let permit = match tokio::time::timeout(self.acquire_timeout, self.permits.acquire()).await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
            Err(_) => return Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        };
        let (conn, reused) = self.checkout().await?;
        Ok(Lease {
            reads: self,
            conn: Some(conn),
            reused,
            _permit: permit,
        })
    }

    /// An idle connection (pinged if idle for long) or a new one, and whether it is reused:
    /// the caller holds a permit.
    async fn checkout(&self) -> Result<(PgConnection, bool), StoreError> {
        let idle = match self.idle.lock().expect("never poisoned").as_mut() {
            Some(idle) => idle.pop(),
            None => return Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
        };
        Ok(match idle {
            Some((conn, since)) if since.elapsed() < PING_WHEN_IDLE_FOR => (conn, true),
            Some((mut conn, _)) => match conn.ping().await {
                Ok(()) => (conn, true),
                Err(_) => (self.open().await?, false),
            },
            None => (self.open().await?, false),
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

async fn fetch_ids(
    conn: &mut PgConnection,
    sql: &str,
    ids: &[i64],
) -> Result<Vec<PgRow>, sqlx::Error> {
    sqlx::query(sql).bind(ids).fetch_all(conn).await
}

/// The driver's error a connection's [`StoreError`] holds (checking out or opening one fails
/// with nothing else).
fn driver_error(e: StoreError) -> sqlx::Error {
    match e {
        StoreError::Unavailable(e) | StoreError::Database(e) | StoreError::StorageFull(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// Answers every read of `waiting` with the error `e`.
fn fail(waiting: Vec<Waiting>, e: sqlx::Error) {
    let e = Arc::new(e);
    for w in waiting {
        (w.deliver)(Err(&e));
    }
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
