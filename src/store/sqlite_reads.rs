//! Point reads on SQLite that skip sqlx's connection threads.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each command, each row
//! and each return to the pool over channels: reading one ticket costs half a dozen thread
//! wake-ups, and under load a third of the CPU went to the kernel switching between those
//! threads. A read by primary key itself takes a few microseconds, and in WAL mode a reader
//! never waits for the writer, so these reads run right on the calling task, on read-only
//! connections of their own.
//!
//! Only short reads of one entity come here; lists stream through sqlx, and every write goes
//! through the writer pool as before.
//!
//! A read here runs on a runtime thread, so it never waits for a lock: its busy timeout is
//! zero, and a read that finds the file locked (a WAL recovery, a checkpoint that resets the
//! log, another process holding an exclusive lock) is left to the pool, whose connections wait
//! for the lock (up to their busy timeout) on threads of their own.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::rows::Columns;
use super::ticket_rows::{add_row, SELECT_ONE};
use super::StoreError;
use crate::domain::Ticket;

/// How long a read waits for a lock: not at all (see above).
const BUSY_TIMEOUT: Duration = Duration::ZERO;

/// How long a look at `PRAGMA data_version` serves: the longest a commit by another process
/// goes unseen by [`SqliteReads::version`].
pub(super) const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// Statements kept prepared per connection.
const STATEMENT_CACHE: usize = 32;

/// Idle read-only connections to one SQLite file. A connection is taken for one read and
/// put back; as a read never awaits, at most one connection per runtime thread is ever in use.
pub(super) struct SqliteReads {
    path: PathBuf,
    /// `None` once closed.
    idle: Mutex<Option<Vec<Connection>>>,
    /// How many times this process's writer was handed out or returned (see
    /// [`SqliteReads::version`]).
    writes: Arc<AtomicU64>,
    /// The latest look at `PRAGMA data_version`, for commits by other processes.
    looked: Mutex<Looked>,
    /// Set by [`SqliteReads::close`].
    closed: AtomicBool,
}

impl SqliteReads {
    /// For the database file of a `sqlite:` URL; `None` for an in-memory database (which only
    /// sqlx's own connections can see).
    pub(super) fn for_url(
        url: &str,
        writes: Arc<AtomicU64>,
    ) -> Result<Option<SqliteReads>, StoreError> {
        Ok(super::dialect::sqlite_file(url)?.map(|path| SqliteReads {
            path,
            idle: Mutex::new(Some(Vec::new())),
            writes,
            looked: Mutex::new(Looked::default()),
            closed: AtomicBool::new(false),
        }))
    }

    /// A version of the whole file: while it stays the same, nothing was committed. It
    /// changes
    /// - at once when this process's writer (through which every change but the delivery
    ///   workers' goes) is handed out, and again when it is returned, after its commit
    ///   ([`Store::read_version`](super::Store::read_version) also gives no version at all
    ///   while the writer is out: its commit may land at any moment);
    /// - within [`LOOK_AGAIN`] with any other commit: another process's (the command line's,
    ///   which never writes tickets, customers or services; a statement run by hand), or the
    ///   delivery workers' own connection's. `PRAGMA data_version` tells, on a connection of
    ///   its own (it counts the commits of every *other* connection); asking takes a read
    ///   transaction (two file locks and a `stat`, a sixth of a cached GET), so it is asked
    ///   at most that often.
    ///
    /// Taken before a read, a version the read reflects or a later one. `None` when the file
    /// cannot be asked right now (closed, locked).
    pub(super) fn version(&self) -> Option<(u64, u64)> {
        if self.closed.load(Ordering::SeqCst) {
            return None;
        }
        // Read first: a write released after this is in a later version.
        let writes = self.writes.load(Ordering::SeqCst);
        let mut looked = self.looked.lock().expect("never poisoned");
        let now = Instant::now();
        if looked
            .at
            .is_some_and(|at| now.duration_since(at) < LOOK_AGAIN)
        {
            return Some((writes, looked.changes));
        }
        if looked.conn.is_none() {
            looked.conn = Some(self.open().ok()?);
        }
        let asked = looked.conn.as_ref().map(|conn| {
            conn.prepare_cached("PRAGMA data_version")
                .and_then(|mut s| s.query_row([], |row| row.get::<_, i64>(0)))
        });
        match asked {
            Some(Ok(version)) => {
                if looked.data_version != Some(version) {
                    looked.data_version = Some(version);
                    looked.changes += 1;
                }
                looked.at = Some(now);
                Some((writes, looked.changes))
            }
            _ => {
                // Opened again next time; no version, so nothing is served from memory.
                *looked = Looked {
                    changes: looked.changes + 1,
                    ..Looked::default()
                };
                None
            }
        }
    }

    /// One live ticket with its services; `None` when the file is locked right now (read it
    /// through the pool instead).
    pub(super) fn ticket(&self, id: i64) -> Option<Result<Ticket, StoreError>> {
        // The statement's column names, the same on every connection, looked up once.
        static NAMES: OnceLock<Vec<String>> = OnceLock::new();
        let read = self.read(|conn| {
            let mut statement = conn.prepare_cached(&SELECT_ONE).map_err(store_error)?;
            let names = NAMES.get_or_init(|| {
                statement
                    .column_names()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            });
            let mut rows = statement.query([id]).map_err(store_error)?;
            let mut ticket = None;
            while let Some(row) = rows.next().map_err(store_error)? {
                add_row(&mut ticket, &Named { row, names })?;
            }
            ticket.ok_or(StoreError::NotFound)
        });
        match read {
            Err(e) if is_locked(&e) => None,
            read => Some(read),
        }
    }

    /// Runs `read` on an idle connection (opening one when none is idle).
    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = match self.idle.lock().expect("never poisoned").as_mut() {
            Some(idle) => idle.pop(),
            None => return Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
        };
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&conn);
        // A connection that failed is dropped rather than reused.
        if result.is_ok() || matches!(result, Err(StoreError::NotFound)) {
            if let Some(idle) = self.idle.lock().expect("never poisoned").as_mut() {
                idle.push(conn);
            }
        }
        result
    }

    /// Closes the idle connections; later reads fail as on a closed pool.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.idle.lock().expect("never poisoned").take();
        self.looked.lock().expect("never poisoned").conn.take();
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(store_error)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(store_error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }
}

/// The latest look at `PRAGMA data_version` (see [`SqliteReads::version`]).
#[derive(Default)]
struct Looked {
    /// When it began.
    at: Option<Instant>,
    /// What it said.
    data_version: Option<i64>,
    /// How many times it changed (or could not be asked) since the process began.
    changes: u64,
    /// The connection it asks (always the same one: the number is its own).
    conn: Option<Connection>,
}

/// Did the read fail because the file is locked?
fn is_locked(e: &StoreError) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e {
        StoreError::Unavailable(sqlx::Error::AnyDriverError(e)) => e
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code)
            .is_some_and(|code| matches!(code, DatabaseBusy | DatabaseLocked)),
        _ => false,
    }
}

/// A failed read: an unreachable or locked database is "unavailable" (503), anything else a
/// database error.
fn store_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{CannotOpen, DatabaseBusy, DatabaseLocked};
    let unavailable = matches!(
        e.sqlite_error_code(),
        Some(CannotOpen | DatabaseBusy | DatabaseLocked)
    );
    let e = sqlx::Error::AnyDriverError(Box::new(e));
    if unavailable {
        StoreError::Unavailable(e)
    } else {
        StoreError::Database(e)
    }
}

/// A row read by column name through its statement's names: rusqlite's own lookup by name
/// asks SQLite for every column's name (and its length) on every call.
struct Named<'a> {
    row: &'a rusqlite::Row<'a>,
    names: &'a [String],
}

impl Named<'_> {
    fn index(&self, col: &str) -> Result<usize, sqlx::Error> {
        self.names
            .iter()
            .position(|name| name == col)
            .ok_or_else(|| sqlx::Error::ColumnNotFound(col.to_owned()))
    }
}

impl Columns for Named<'_> {
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.row.get(self.index(col)?).map_err(decode_error)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.row.get(self.index(col)?).map_err(decode_error)
    }
}

fn decode_error(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, Description, NewTicket, TicketChange, Timestamp};
    use crate::store::{PoolSettings, Store};

    /// A store on a new, migrated SQLite file in a directory of its own.
    async fn migrated_file() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("herald.db").display());
        let store = Store::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn direct_reads_match_sqlx_and_stop_when_closed() {
        let (_dir, store) = migrated_file().await;
        assert!(store.engine.direct_reads().is_some());
        let services = crate::store::test_services(&store, &["Mail", "Web"]).await;
        let new = NewTicket {
            description: Description::parse("Mail is slow").unwrap(),
            times: crate::domain::ticket::TicketTimes {
                start_time: Some(Timestamp::from_ticks(1_000_000)),
                ..Default::default()
            },
            services,
            operator: None,
        };
        let change = TicketChange {
            actor: Actor::Cli,
            address: None,
            notify: false,
            reminder_leads: Vec::new(),
        };
        let (created, _) = store.create_ticket(&new, &change).await.unwrap();

        let direct = store.get_ticket(created.id).await.unwrap();
        let mut conn = store.reader().acquire().await.unwrap();
        let through_sqlx = super::super::ticket_rows::load(&mut conn, created.id)
            .await
            .unwrap();
        drop(conn);
        assert_eq!(direct, through_sqlx);
        assert_eq!(direct.services.len(), 2);
        assert!(matches!(
            store.get_ticket(created.id + 1).await,
            Err(StoreError::NotFound)
        ));

        store.close().await;
        assert!(matches!(
            store.get_ticket(created.id).await,
            Err(StoreError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn the_version_moves_with_every_commit_and_is_withheld_while_the_writer_is_out() {
        let (dir, store) = migrated_file().await;
        // Settled: the writer's release after the migrations runs on a task of its own.
        let settled = || async {
            loop {
                if let Some(v) = store.read_version() {
                    return v;
                }
                tokio::task::yield_now().await;
            }
        };
        let before = settled().await;
        assert_eq!(store.read_version(), Some(before), "no commit, no change");

        let held = store.writer().acquire().await.unwrap();
        assert_eq!(store.read_version(), None, "the writer is out");
        drop(held);
        let after_use = settled().await;
        assert_ne!(after_use, before);

        // A commit on a connection of the store's own, past its writer (as another process's):
        // seen once the last look is older than LOOK_AGAIN.
        let other = Connection::open(dir.path().join("herald.db")).unwrap();
        other
            .execute("INSERT INTO settings (name, value) VALUES ('x', 'y')", [])
            .unwrap();
        let waited = Instant::now();
        while store.read_version() == Some(after_use) {
            assert!(waited.elapsed() < Duration::from_secs(10), "never seen");
            tokio::task::yield_now().await;
        }
        store.close().await;
        assert_eq!(store.read_version(), None, "closed");
    }

    /// A direct read runs on the runtime thread: a locked file must not hold it (for up to a
    /// busy timeout) but leave the read to the pool, whose connections wait on their own threads.
    #[test]
    fn a_locked_file_is_left_to_the_pool_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        // In rollback-journal mode (a WAL reader is rarely locked out, and not on demand),
        // another process's exclusive transaction locks every reader out.
        let locker = Connection::open(&path).unwrap();
        locker
            .execute_batch(include_str!(
                "../../migrations/sqlite/20261127000001_init.sql"
            ))
            .unwrap();
        locker
            .execute_batch(include_str!(
                "../../migrations/sqlite/20261201122500_service_is_public.sql"
            ))
            .unwrap();
        locker
            .execute_batch(
                "INSERT INTO tickets (id, description, created_time, is_closed) \
                 VALUES (1, 'Mail is slow', 0, 0)",
            )
            .unwrap();
        let direct =
            SqliteReads::for_url(&format!("sqlite://{}", path.display()), Default::default())
                .unwrap()
                .unwrap();
        let read = |direct: &SqliteReads| direct.ticket(1).map(|r| r.unwrap().description);
        assert_eq!(read(&direct).as_deref(), Some("Mail is slow"));
        locker
            .execute_batch("BEGIN EXCLUSIVE; INSERT INTO settings (name, value) VALUES ('x', 'y');")
            .unwrap();
        assert_eq!(read(&direct), None, "no wait for the lock");
        locker.execute_batch("ROLLBACK").unwrap();
        assert_eq!(read(&direct).as_deref(), Some("Mail is slow"));
    }

    #[test]
    fn in_memory_databases_are_read_through_sqlx() {
        assert!(SqliteReads::for_url("sqlite::memory:", Default::default())
            .unwrap()
            .is_none());
        assert!(
            SqliteReads::for_url("sqlite://x.db?mode=memory", Default::default())
                .unwrap()
                .is_none()
        );
        assert!(
            SqliteReads::for_url("sqlite://x.db?mode=rwc", Default::default())
                .unwrap()
                .is_some()
        );
    }
}
