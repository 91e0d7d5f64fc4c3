//! The storage layer: one API over SQLite (the embedded default) and PostgreSQL.
//!
//! All SQL is written once, in the dialect both engines share (`$1` placeholders, `RETURNING`,
//! partial and expression indexes); everything where the engines really differ is in
//! [`dialect`]. Times are stored as 100 ns ticks since the epoch, flags as 0/1, so the same
//! rows decode the same way on both through sqlx's `Any` driver. Migrations are embedded per
//! backend.
//!
//! SQLite allows one writer at a time, so on SQLite every write goes through a dedicated
//! single-connection pool (writes queue in the process instead of failing with `SQLITE_BUSY`),
//! while reads use a pool of their own. On PostgreSQL both are the same pool.

mod audit;
pub mod backup;
pub mod copy;
mod customer_import;
mod customers;
mod dialect;
mod entity;
mod error;
mod group;
mod health;
mod history;
mod idempotency;
mod login_failures;
mod operators;
mod opt_outs;
mod outbox;
mod overview;
mod personal;
mod pg_claims;
mod pg_lists;
mod pg_reads;
mod planned_work;
mod public;
mod rows;
pub mod schedule;
mod services;
mod sessions;
mod settings;
pub mod sms;
mod sqlite_checkpoint;
mod sqlite_outbox;
mod sqlite_reads;
mod stats;
mod subscriptions;
mod ticket_create_pg;
mod ticket_rows;
mod tickets;
mod two_factor;
mod wakeups;
mod webhooks;

use std::time::Duration;

use sqlx::AnyPool;

use crate::domain::Timestamp;
pub use audit::{AuditFilter, AuditOrder};
pub use customer_import::{ImportAction, ImportRow, ImportState, ImportSummary, StagedRow};
pub use customers::{CustomerFilter, Recipients};
pub use dialect::Backend;
use dialect::Engine;
pub use entity::Entity;
pub use error::StoreError;
pub use health::STORAGE_FULL;
pub use idempotency::{holding, Claim, HeldClaim, IdempotencyKey, StoredAnswer};
pub use opt_outs::OptOut;
pub use overview::{TicketListFilter, TicketState};
pub use planned_work::PublicPlannedWork;
pub use public::{PublicBoard, PublicTicket, PUBLIC_EVENTS};
pub use rows::Check;
pub use sessions::{NewSession, SessionRecord};
pub use sms::SmsPart;
pub use subscriptions::{Confirmed, LinkState, Requested, Throttle};
pub use tickets::TicketFilter;
pub use two_factor::{Challenge, ChallengeKind, TwoFactor};
pub use webhooks::WebhookTarget;

/// How long [`Store::ping`] waits: a health check must answer quickly even while the
/// database does not.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

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
    /// What only this engine has.
    engine: Engine,
    /// Reads.
    pool: AnyPool,
    /// Writes: a single connection on SQLite, the same pool on PostgreSQL.
    writer: AnyPool,
    /// Bumped after a commit that queued notifications, to wake the delivery workers.
    outbox_queued: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Bumped after this process commits a change the public pages show (see
    /// [`Store::public_writes`]).
    public_writes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Whether writes fail for want of space (see [`health`]).
    health: std::sync::Arc<health::WriteHealth>,
    /// The turns at password hashing, shared by everything that hashes or checks a password.
    hashing: crate::domain::Hashing,
    /// What time it is for every write and for the scheduler (see [`crate::domain::Clock`]).
    clock: crate::clock::Clock,
    /// Which events are texted and how numbers are read (the live settings keep it current).
    sms_plan: std::sync::Arc<std::sync::RwLock<crate::domain::phone::SmsPlan>>,
    /// See [`Store::sms_numbers_to_normalise`].
    sms_numbers: std::sync::Arc<tokio::sync::Notify>,
    /// The email workers' batch size: recipients per list on PostgreSQL (see
    /// [`Store::set_email_batch`]).
    email_batch: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

/// See [`Store::read_version`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadVersion {
    /// Hand-outs and returns of this process's writer.
    writes: u64,
    /// Changes of `PRAGMA data_version` seen.
    others: u64,
}

impl ReadVersion {
    #[cfg(test)]
    pub fn for_tests(writes: u64) -> Self {
        ReadVersion { writes, others: 0 }
    }
}

impl Store {
    /// Opens (and for SQLite creates) the database. Does not migrate: see [`Store::migrate`].
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Store, StoreError> {
        let dialect::Connected {
            engine,
            pool,
            writer,
            health,
        } = dialect::connect(url, settings).await?;
        Ok(Store {
            engine,
            pool,
            writer,
            outbox_queued: Default::default(),
            public_writes: Default::default(),
            health: std::sync::Arc::new(health),
            hashing: crate::domain::Hashing::for_this_machine(),
            clock: crate::clock::Clock::system(),
            sms_plan: Default::default(),
            sms_numbers: Default::default(),
            email_batch: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(
                pg_lists::DEFAULT_BATCH,
            )),
        })
    }

    /// This store on another clock (tests: a manual one, see [`crate::clock::Clock`]).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Store {
        self.clock = clock;
        self
    }

    /// Now, by the store's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The store's clock.
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    pub fn backend(&self) -> Backend {
        self.engine.backend()
    }

    /// The turns at password hashing (see [`crate::domain::Hashing`]).
    pub fn hashing(&self) -> &crate::domain::Hashing {
        &self.hashing
    }

    /// Applies pending migrations. On PostgreSQL sqlx takes an advisory lock, so two
    /// instances starting at once do not both migrate.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.backend()
            .migrator()
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
        if let Some(direct) = self.engine.direct_reads() {
            direct.close();
        }
        if let Some(outbox) = self.engine.sqlite_outbox() {
            outbox.close();
        }
        if let Some(checkpoints) = self.engine.checkpoints() {
            checkpoints.close();
        }
        if let Some(reads) = self.engine.pg_reads() {
            reads.close();
        }
        self.pool.close().await;
        self.writer.close().await;
    }

    /// Starts a write transaction (see [`Backend::begin_write`]).
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        self.writer.begin_with(self.backend().begin_write()).await
    }

    /// See [`Backend::for_update`].
    fn for_update(&self) -> &'static str {
        self.backend().for_update()
    }

    /// See [`Backend::for_share`].
    fn for_share(&self) -> &'static str {
        self.backend().for_share()
    }

    pub fn reader(&self) -> &AnyPool {
        &self.pool
    }

    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// A version of everything in the database, on SQLite (see
    /// [`sqlite_reads::SqliteReads::version`]): a read made after taking it reflects it or a
    /// later one, and an answer rendered from such a read may be served again while the
    /// version stays the same. `None` on PostgreSQL (several instances, and a question costs
    /// what a point read does) and whenever it cannot be asked.
    pub fn read_version(&self) -> Option<ReadVersion> {
        let (writes, others) = self.engine.direct_reads()?.version()?;
        // Taken after the version: the writer out now may commit at any moment, and one
        // handed out since changed the version.
        if self.writer.size() > self.writer.num_idle() as u32 {
            return None;
        }
        Some(ReadVersion { writes, others })
    }

    /// Wakes this process's delivery workers.
    fn wake_workers(&self) {
        self.outbox_queued.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How many changes to tickets and services this process has committed: the public pages'
    /// memory uses a recent read of the change counter only while this has not moved.
    pub fn public_writes(&self) -> u64 {
        self.public_writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Counts a committed change to tickets or services (see [`Store::public_writes`]).
    fn public_changed(&self) {
        self.public_writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
pub(super) async fn not_in_a_transaction(
    conn: &mut sqlx::AnyConnection,
) -> Result<bool, sqlx::Error> {
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
pub(super) fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
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

/// The value of an [`ids_in`] parameter: the ids as a JSON array.
fn ids_param(ids: &[i64]) -> String {
    serde_json::to_string(ids).expect("integers always serialize")
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// The tests' services: one of each name, created as the command line would; their ids.
#[cfg(test)]
pub(crate) async fn test_services(store: &Store, names: &[&str]) -> Vec<i64> {
    use crate::domain::{Name, NewService, Who};
    let mut ids = Vec::new();
    for name in names {
        let new = NewService {
            name: Name::parse(name).unwrap(),
            description: None,
            is_public: Default::default(),
        };
        ids.push(store.create_service(&new, &Who::cli()).await.unwrap().id);
    }
    ids
}
