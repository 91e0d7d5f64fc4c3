//! The storage layer: one API over SQLite (the embedded default) and PostgreSQL.
//!
//! All SQL is written once, in the dialect both engines share (`$1` placeholders, `RETURNING`,
//! partial and expression indexes); the few places where the engines really differ ask
//! [`Backend`]. Times are stored as 100 ns ticks since the epoch, flags as 0/1, so the same
//! rows decode the same way on both through sqlx's `Any` driver. Migrations are embedded per
//! backend.
//!
//! SQLite allows one writer at a time, so on SQLite every write goes through a dedicated
//! single-connection pool (writes queue in the process instead of failing with `SQLITE_BUSY`),
//! while reads use a pool of their own. On PostgreSQL both are the same pool.

pub mod copy;
mod customers;
mod entity;
mod error;
mod group;
mod health;
mod history;
mod login_failures;
mod operators;
mod outbox;
mod overview;
mod rows;
mod services;
mod sessions;
mod settings;
mod sqlite_reads;
mod tickets;
mod wakeups;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

pub use customers::CustomerFilter;
pub use entity::Entity;
pub use error::StoreError;
pub use health::STORAGE_FULL;
pub use overview::{TicketListFilter, TicketState};
pub use rows::Check;
pub use sessions::{NewSession, SessionRecord};
pub use tickets::TicketFilter;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long [`Store::ping`] waits: a health check must answer quickly even while the
/// database does not.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a connection (or a transaction on one) talks to.
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        match conn.backend_name() {
            "PostgreSQL" => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// `$top`/`$skip` paging of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    pub top: Option<i64>,
    pub skip: Option<i64>,
}

impl Page {
    fn limit(&self) -> i64 {
        self.top.unwrap_or(i64::MAX)
    }
    fn offset(&self) -> i64 {
        self.skip.unwrap_or(0)
    }
}

/// Pool sizes and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Reads.
    pool: AnyPool,
    /// Writes: a single connection on SQLite, the same pool on PostgreSQL.
    writer: AnyPool,
    /// Bumped after a commit that queued notifications, to wake the delivery workers.
    outbox_queued: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Where to listen for other instances' wake-ups (PostgreSQL only; see `wakeups`).
    postgres_url: Option<std::sync::Arc<str>>,
    /// SQLite: the group commit of ticket writes (see [`group`]).
    group: Option<group::GroupWriter>,
    /// Point reads straight from the SQLite file (`None` on PostgreSQL).
    sqlite_reads: Option<std::sync::Arc<sqlite_reads::SqliteReads>>,
    /// Whether writes fail for want of space (see [`health`]).
    health: std::sync::Arc<health::WriteHealth>,
    /// The turns at password hashing, shared by everything that hashes or checks a password.
    hashing: crate::domain::Hashing,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

impl Store {
    /// Opens (and for SQLite creates) the database. Does not migrate: see [`Store::migrate`].
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(
                "the database URL must start with sqlite:// or postgres://".into(),
            ));
        };
        match backend {
            Backend::Sqlite => {
                let url = sqlite_url(url);
                let options: AnyConnectOptions = url
                    .parse()
                    .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?;
                let open = |max: u32| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(settings.acquire_timeout)
                        // A local file cannot drop a connection: skip the ping (a round trip to
                        // the connection's worker thread) on every acquire.
                        .test_before_acquire(false)
                        .after_release(|conn, _meta| Box::pin(not_in_a_transaction(conn)))
                        .after_connect(|conn, _meta| {
                            Box::pin(async move {
                                conn.execute(SQLITE_PRAGMAS).await?;
                                Ok(())
                            })
                        })
                };
                // The writer first: it creates the file and switches it to WAL.
                let writer = open(1).connect_with(options.clone()).await?;
                let pool = open(settings.max_connections.max(1))
                    .connect_with(options)
                    .await?;
                Ok(Store {
                    backend,
                    pool,
                    group: Some(group::GroupWriter::start(writer.clone())),
                    writer,
                    outbox_queued: Default::default(),
                    postgres_url: None,
                    health: std::sync::Arc::new(health::WriteHealth::new(sqlite_dir(&url))),
                    sqlite_reads: sqlite_reads::SqliteReads::for_url(&url)?.map(Into::into),
                    hashing: crate::domain::Hashing::for_this_machine(),
                })
            }
            Backend::Postgres => {
                let options: AnyConnectOptions = url
                    .parse()
                    .map_err(|_| StoreError::Config("invalid PostgreSQL URL".into()))?;
                // One of the instance's connections listens for wake-ups (see `wakeups`).
                let pool = AnyPoolOptions::new()
                    .max_connections(settings.max_connections.saturating_sub(1).max(2))
                    .acquire_timeout(settings.acquire_timeout)
                    .after_release(|conn, _meta| Box::pin(not_in_a_transaction(conn)))
                    .connect_with(options)
                    .await?;
                Ok(Store {
                    backend,
                    writer: pool.clone(),
                    pool,
                    outbox_queued: Default::default(),
                    postgres_url: Some(url.into()),
                    group: None,
                    sqlite_reads: None,
                    health: Default::default(),
                    hashing: crate::domain::Hashing::for_this_machine(),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The turns at password hashing (see [`crate::domain::Hashing`]).
    pub fn hashing(&self) -> &crate::domain::Hashing {
        &self.hashing
    }

    /// Applies pending migrations. On PostgreSQL sqlx takes an advisory lock, so two
    /// instances starting at once do not both migrate.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.writer)
            .await
            .map_err(StoreError::Migrate)
    }

    /// Does the database answer (within [`PING_TIMEOUT`])?
    pub async fn ping(&self) -> bool {
        let ping = sqlx::query("SELECT 1").execute(&self.pool);
        matches!(tokio::time::timeout(PING_TIMEOUT, ping).await, Ok(Ok(_)))
    }

    pub async fn close(&self) {
        if let Some(direct) = &self.sqlite_reads {
            direct.close();
        }
        self.pool.close().await;
        self.writer.close().await;
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a second process on the same file waits for it (busy timeout) instead of
    /// failing when its read turns into a write.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }

    /// ` FOR UPDATE` where the engine has row locks; SQLite's single writer needs none.
    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// ` FOR SHARE` where the engine has row locks: the rows read stay as they are (not deleted
    /// by another transaction) until this one ends, while other readers may share them.
    fn for_share(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR SHARE",
        }
    }

    pub fn reader(&self) -> &AnyPool {
        &self.pool
    }

    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Wakes this process's delivery workers.
    fn wake_workers(&self) {
        self.outbox_queued.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes whenever this process queues notifications (the delivery workers wait on it).
    pub fn outbox_queued(&self) -> tokio::sync::watch::Receiver<u64> {
        self.outbox_queued.subscribe()
    }
}

/// Whether a connection handed back to its pool may be used again: not when it is still
/// inside a transaction. A dropped transaction is rolled back on the connection first, but
/// when that rollback fails (SQLite has already ended the transaction itself after a failed
/// `COMMIT` on a full disk), sqlx still counts the connection as inside one, and every later
/// `BEGIN` on it would fail. Such a connection is closed; the pool opens a fresh one.
async fn not_in_a_transaction(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    // Lets a rollback queued by a dropped transaction run first (SQLite's connection worker
    // takes commands in order).
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!("a database connection was left inside a failed transaction; closing it");
        return Ok(false);
    }
    Ok(true)
}

/// The directory of a SQLite database file (`None` in memory).
fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr;
    if url.contains("mode=memory") {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    if file
        .to_str()
        .is_some_and(|p| p.starts_with("file:") || p == ":memory:")
    {
        return None;
    }
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
    Some(dir.unwrap_or(std::path::Path::new(".")).to_path_buf())
}

/// `sqlite://herald.db` → `sqlite://herald.db?mode=rwc` (create when missing).
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The ids bound as parameter `$param` (with [`ids_param`]) as a subquery, for `id IN (…)`:
/// one parameter however many ids, so a statement never grows with a request's list nor
/// reaches the engines' limits on parameters (SQLite 32,766, PostgreSQL 65,535).
fn ids_in(backend: Backend, param: usize) -> String {
    match backend {
        Backend::Sqlite => format!("SELECT value FROM json_each(${param})"),
        Backend::Postgres => format!("SELECT jsonb_array_elements_text(${param}::jsonb)::bigint"),
    }
}

/// The value of an [`ids_in`] parameter: the ids as a JSON array.
fn ids_param(ids: &[i64]) -> String {
    serde_json::to_string(ids).expect("integers always serialize")
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}
