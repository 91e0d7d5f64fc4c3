//! What differs between SQLite and PostgreSQL, in one place.
//!
//! The SQL of the other store modules is written once, in what both engines share (`$n`
//! placeholders, `RETURNING`, partial indexes, `UPDATE … FROM (VALUES …)`); they ask
//! [`Backend`] for the few clauses that differ, and [`Engine`] holds what only one of the
//! engines has:
//!
//! | | SQLite | PostgreSQL |
//! |---|---|---|
//! | row locks (`FOR UPDATE`, `FOR SHARE`) | none: one writer at a time | on the rows read |
//! | claiming due messages | plain sub-select | `FOR UPDATE SKIP LOCKED` |
//! | parameters of very long statements | positional `?` | `$n` |
//! | a list of ids as one parameter | `json_each` | `jsonb_array_elements_text` |
//! | JSON built in SQL (an import's audit entries) | `json_object`, `json_group_array`, `json_remove` | `jsonb_build_object`, `jsonb_agg`, `-` |
//! | a write transaction begins with | `BEGIN IMMEDIATE` (takes the write lock) | `BEGIN` |
//! | the first administrator's setup | the write lock suffices | `LOCK TABLE operators` |
//! | queueing messages wakes | this process's workers | every instance's (`NOTIFY`) |
//! | ticket creation commits | in a group commit ([`super::group`]) | in its own transaction |
//! | one entity is read | a ticket straight from the file ([`super::sqlite_reads`]) | on connections of its own ([`super::pg_reads`]) |
//! | migrations | `migrations/sqlite` | `migrations/postgres` |
//! | pools | one writer connection, a pool of readers | one pool, the point reads' connections, one listening connection |

use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AnyPool, Executor};
use std::sync::atomic::{AtomicU64, Ordering};

use super::group::{pg_writers, GroupWriter};
use super::health::WriteHealth;
use super::pg_reads::PgReads;
use super::sqlite_checkpoint::Checkpointer;
use super::sqlite_outbox::SqliteOutbox;
use super::sqlite_reads::SqliteReads;
use super::{not_in_a_transaction, sqlite_dir};
use super::{PoolSettings, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(
                "the database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }

    /// The backend a connection (or a transaction on one) talks to.
    pub fn of(conn: &AnyConnection) -> Backend {
        match conn.backend_name() {
            "PostgreSQL" => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    pub(super) fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// The statement that opens a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a second process on the same file waits for it (busy timeout)
    /// instead of failing when its read turns into a write.
    pub(super) fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// ` FOR UPDATE` where the engine has row locks; SQLite's single writer needs none.
    pub(super) fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// ` FOR SHARE` where the engine has row locks: the rows read stay as they are (not deleted
    /// by another transaction) until this one ends, while other readers may share them.
    pub(super) fn for_share(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR SHARE",
        }
    }

    /// The tail of an `UPDATE notifications` that changes the rows whose ids the CTE `cte`
    /// picked (a column `id`): `FROM … WHERE …`. PostgreSQL: the ids as one array, evaluated
    /// once, matched by the primary key; as a join, the planner sometimes put the CTE on the
    /// inner side of a nested loop over every row of the table (a claim of 250 with a
    /// million queued ran for a minute on the CPU, holding row locks the other workers'
    /// outcome writes and lease renewals waited for). SQLite: the join.
    pub(super) fn update_picked(self, cte: &str) -> String {
        match self {
            Backend::Sqlite => format!("FROM {cte} WHERE notifications.id = {cte}.id"),
            Backend::Postgres => {
                format!("WHERE notifications.id = ANY(ARRAY(SELECT id FROM {cte}))")
            }
        }
    }

    /// Parameter `n` (from 1) of a statement with very many: positional `?` on SQLite, where
    /// binding by `$n` name costs a scan of all names per parameter (which adds up with
    /// thousands), `$n` on PostgreSQL. Only for statements whose parameters are all numbered
    /// in order.
    pub(super) fn param(self, n: usize) -> String {
        match self {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${n}"),
        }
    }

    /// The ids bound as parameter `$param` (a JSON array: see `ids_param`) as a subquery, for
    /// `id IN (…)`: one parameter however many ids, so a statement never grows with a
    /// request's list nor reaches the engines' limits on parameters (SQLite 32,766,
    /// PostgreSQL 65,535).
    pub(super) fn ids_in(self, param: usize) -> String {
        match self {
            Backend::Sqlite => format!("SELECT value FROM json_each(${param})"),
            Backend::Postgres => {
                format!("SELECT jsonb_array_elements_text(${param}::jsonb)::bigint")
            }
        }
    }

    /// A JSON object of `(key, SQL expression)` pairs (keys are Rust literals, never input).
    /// A value that is JSON already (from [`Backend::json_ids`]) goes through
    /// [`Backend::json`].
    pub(super) fn json_object(self, pairs: &[(&str, &str)]) -> String {
        let args: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("'{key}', {value}"))
            .collect();
        match self {
            Backend::Sqlite => format!("json_object({})", args.join(", ")),
            Backend::Postgres => format!("jsonb_build_object({})", args.join(", ")),
        }
    }

    /// `object` without `key` where `when` holds (an audit entry names only what changed).
    pub(super) fn json_without(self, object: &str, key: &str, when: &str) -> String {
        match self {
            // A path that names nothing removes nothing.
            Backend::Sqlite => {
                format!("json_remove({object}, CASE WHEN {when} THEN '$.{key}' ELSE '$.\"\"' END)")
            }
            Backend::Postgres => format!("({object} - CASE WHEN {when} THEN '{key}' ELSE '' END)"),
        }
    }

    /// The JSON array, in ascending order, of the integer `column` of the rows of
    /// `from_where` (`FROM … WHERE …`); `[]` when there are none. Two compare with `=`.
    pub(super) fn json_ids(self, column: &str, from_where: &str) -> String {
        match self {
            Backend::Sqlite => format!(
                "(SELECT json_group_array(v) FROM (SELECT {column} AS v {from_where} ORDER BY 1))"
            ),
            Backend::Postgres => format!(
                "(SELECT COALESCE(jsonb_agg({column} ORDER BY {column}), '[]'::jsonb) {from_where})"
            ),
        }
    }

    /// A JSON value (text on SQLite, which a subquery or a column leaves untyped) as a value
    /// of [`Backend::json_object`], not a string.
    pub(super) fn json(self, json: &str) -> String {
        match self {
            Backend::Sqlite => format!("json({json})"),
            Backend::Postgres => json.to_owned(),
        }
    }

    /// A JSON value built in SQL, as the text a column of JSON text holds.
    pub(super) fn json_text(self, json: &str) -> String {
        match self {
            Backend::Sqlite => json.to_owned(),
            Backend::Postgres => format!("({json})::text"),
        }
    }

    /// The statement that makes creating the first administrator exclusive, beyond what the
    /// write transaction itself ensures: SQLite's write lock already keeps a second setup out.
    pub(super) fn setup_lock(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("LOCK TABLE operators IN SHARE ROW EXCLUSIVE MODE"),
        }
    }

    /// Run in a transaction that queues messages, before the `INSERT` of the messages
    /// (parameter `$1`: [`super::wakeups::CHANNEL`]). PostgreSQL: wake the other instances'
    /// workers when this commits (see `wakeups`), and for this transaction only:
    /// - sort the followers by address in memory (`work_mem` is 4 MB by default, about 25,000
    ///   of them; more spilled to disk and made a 100,000-follower POST slower);
    /// - join the followers with the customers without a hash join. The planner's estimates
    ///   prefer hashing the follows of a large service, but probing a hash of a million
    ///   entries took 0.99 s where merging the two indexes in customer order took 0.49 s
    ///   (`perf`: `ExecScanHashBucket` 11 % of the backend). A few followers are looked up by
    ///   a nested loop either way; the setting only makes a hash join the last resort.
    ///
    /// SQLite: nothing, the process wakes its own workers after the commit.
    pub(super) fn on_enqueue(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                "SELECT pg_notify($1, ''), set_config('work_mem', '64MB', true), \
                 set_config('enable_hashjoin', 'off', true)",
            ),
        }
    }
}

/// Checkpoints are not run by the commits (`wal_autocheckpoint = 0`) but by a task of their
/// own, see [`super::sqlite_checkpoint`].
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = 0;";

/// The file of a `sqlite:` URL; `None` for an in-memory database (which only sqlx's own
/// connections can see).
pub(super) fn sqlite_file(url: &str) -> Result<Option<std::path::PathBuf>, StoreError> {
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?;
    let path = options.get_filename().to_path_buf();
    let in_memory =
        url.contains("mode=memory") || path.to_str().is_some_and(|p| p.starts_with("file:"));
    Ok((!in_memory).then_some(path))
}

/// The pools of a connected store, and what only its engine has.
pub(super) struct Connected {
    pub engine: Engine,
    /// Reads.
    pub pool: AnyPool,
    /// Writes: a single connection on SQLite (writes queue in the process instead of failing
    /// with `SQLITE_BUSY`), the same pool as reads on PostgreSQL.
    pub writer: AnyPool,
    /// Whether writes fail for want of space (SQLite watches its file's directory).
    pub health: WriteHealth,
}

/// Opens (and for SQLite creates) the database at `url`.
pub(super) async fn connect(url: &str, settings: &PoolSettings) -> Result<Connected, StoreError> {
    sqlx::any::install_default_drivers();
    match Backend::of_url(url)? {
        Backend::Sqlite => {
            let url = sqlite_url(url);
            let options: AnyConnectOptions = url
                .parse()
                .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?;
            // Counts the writer's hand-outs and returns, for the answers kept in memory (see
            // `SqliteReads::version`): every commit of this process but the delivery
            // workers' happens on the writer between the two.
            let uses = Arc::new(AtomicU64::new(0));
            let checkpoints = sqlite_file(&url)?.map(Checkpointer::start);
            let wal = checkpoints.as_ref().map(Checkpointer::writes);
            let open = |max: u32, counted: Option<Arc<AtomicU64>>| {
                let wal = wal.clone();
                let count = move || {
                    if let Some(uses) = &counted {
                        uses.fetch_add(1, Ordering::SeqCst);
                        // The writer's hand-outs end in commits (the read pool's do not).
                        if let Some(wal) = &wal {
                            wal.wrote();
                        }
                    }
                };
                let (on_acquire, on_connect) = (count.clone(), count.clone());
                AnyPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(settings.acquire_timeout)
                    // A local file cannot drop a connection: no ping on acquire, and no end
                    // of life (which would also close a connection without `after_release`).
                    .test_before_acquire(false)
                    .max_lifetime(None)
                    .before_acquire(move |_conn, _meta| {
                        on_acquire();
                        Box::pin(async { Ok(true) })
                    })
                    .after_release(move |conn, _meta| {
                        let count = count.clone();
                        Box::pin(async move {
                            let clean = not_in_a_transaction(conn).await;
                            count();
                            clean
                        })
                    })
                    .after_connect(move |conn, _meta| {
                        on_connect();
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
            };
            // The writer first: it creates the file and switches it to WAL.
            let writer = open(1, Some(uses.clone()))
                .connect_with(options.clone())
                .await?;
            let pool = open(settings.max_connections.max(1), None)
                .connect_with(options)
                .await?;
            let engine = Engine::Sqlite {
                group: GroupWriter::start(writer.clone(), 1, Backend::Sqlite.begin_write()),
                direct: SqliteReads::for_url(&url, uses)?.map(Into::into),
                outbox: SqliteOutbox::for_url(&url, wal.clone())?,
                checkpoints: checkpoints.map(Arc::new),
            };
            Ok(Connected {
                engine,
                pool,
                writer,
                health: WriteHealth::new(sqlite_dir(&url)),
            })
        }
        Backend::Postgres => {
            let options: AnyConnectOptions = url
                .parse()
                .map_err(|_| StoreError::Config("invalid PostgreSQL URL".into()))?;
            // One of the instance's connections listens for wake-ups (see `wakeups`), half of
            // the others read single entities (see `pg_reads`; none below 4 in all).
            let (pool_size, reads) = postgres_budget(settings.max_connections);
            let pool = AnyPoolOptions::new()
                .max_connections(pool_size)
                .acquire_timeout(settings.acquire_timeout)
                // A ping is a round trip: only for a connection idle long enough to have been
                // dropped meanwhile (a connection that died sooner fails its statement, is
                // closed on release, and the request is a 503 to retry).
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_WHEN_IDLE_FOR {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                // sqlx pings every released connection itself (which also sends a dropped
                // transaction's queued ROLLBACK); PostgreSQL's transaction depth is known
                // without a round trip.
                .after_release(|conn, _meta| Box::pin(async move { Ok(released_clean(conn)) }))
                .connect_with(options)
                .await?;
            let reads = match reads {
                0 => None,
                n => Some(Arc::new(PgReads::new(url, n, settings.acquire_timeout)?)),
            };
            Ok(Connected {
                engine: Engine::Postgres {
                    url: url.into(),
                    reads,
                    group: GroupWriter::start(
                        pool.clone(),
                        pg_writers(pool_size),
                        Backend::Postgres.begin_write(),
                    ),
                    frontiers: Default::default(),
                },
                writer: pool.clone(),
                pool,
                health: Default::default(),
            })
        }
    }
}

/// A pooled PostgreSQL connection idle this long is pinged before it is handed out.
use super::pg_reads::PING_WHEN_IDLE_FOR;

/// How `--db-max-connections` is shared on PostgreSQL: (the pool, the point reads), one
/// left for listening to wake-ups. The pool keeps at least two.
fn postgres_budget(max: u32) -> (u32, usize) {
    let others = max.saturating_sub(1);
    let reads = if max >= 4 { others / 2 } else { 0 };
    ((others - reads).max(2), reads as usize)
}

/// Whether a released PostgreSQL connection may be reused: not when it was left inside a
/// transaction (a dropped transaction's rollback is already counted).
fn released_clean(conn: &sqlx::AnyConnection) -> bool {
    use sqlx::Connection;
    if conn.is_in_transaction() {
        tracing::warn!("a database connection was left inside a transaction; closing it");
        return false;
    }
    true
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

/// What one engine has and the other has not, besides the pools.
#[derive(Clone)]
pub(super) enum Engine {
    Sqlite {
        /// The group commit of ticket writes.
        group: GroupWriter,
        /// Point reads straight from the file (`None` for an in-memory database).
        direct: Option<Arc<SqliteReads>>,
        /// The delivery workers' writes (`None` for an in-memory database).
        outbox: Option<Arc<SqliteOutbox>>,
        /// The WAL's checkpoints (`None` for an in-memory database).
        checkpoints: Option<Arc<Checkpointer>>,
    },
    Postgres {
        /// Where to listen for other instances' wake-ups.
        url: Arc<str>,
        /// The point reads' connections (`None` with too few connections to spare).
        reads: Option<Arc<PgReads>>,
        /// The group commit of ticket creations (see `group`).
        group: GroupWriter,
        /// Where this instance's claims of due messages start.
        frontiers: Arc<super::pg_claims::Frontiers>,
    },
}

impl Engine {
    pub(super) fn backend(&self) -> Backend {
        match self {
            Engine::Sqlite { .. } => Backend::Sqlite,
            Engine::Postgres { .. } => Backend::Postgres,
        }
    }

    /// The group commit that ticket creations go through.
    pub(super) fn group(&self) -> &GroupWriter {
        match self {
            Engine::Sqlite { group, .. } | Engine::Postgres { group, .. } => group,
        }
    }

    /// The direct reads, where there are some.
    pub(super) fn direct_reads(&self) -> Option<&SqliteReads> {
        match self {
            Engine::Sqlite { direct, .. } => direct.as_deref(),
            Engine::Postgres { .. } => None,
        }
    }

    /// The SQLite file's checkpoint task, where there is one.
    pub(super) fn checkpoints(&self) -> Option<&Arc<Checkpointer>> {
        match self {
            Engine::Sqlite { checkpoints, .. } => checkpoints.as_ref(),
            Engine::Postgres { .. } => None,
        }
    }

    /// The delivery workers' own SQLite connection, where there is one.
    pub(super) fn sqlite_outbox(&self) -> Option<&Arc<SqliteOutbox>> {
        match self {
            Engine::Sqlite { outbox, .. } => outbox.as_ref(),
            Engine::Postgres { .. } => None,
        }
    }

    /// Where PostgreSQL's claims of due messages start (see `pg_claims`).
    pub(super) fn claim_frontiers(&self) -> Option<&super::pg_claims::Frontiers> {
        match self {
            Engine::Sqlite { .. } => None,
            Engine::Postgres { frontiers, .. } => Some(frontiers),
        }
    }

    /// The point reads on connections of their own, where there are some.
    pub(super) fn pg_reads(&self) -> Option<&Arc<PgReads>> {
        match self {
            Engine::Sqlite { .. } => None,
            Engine::Postgres { reads, .. } => reads.as_ref(),
        }
    }

    /// The URL to listen on for wake-ups from other instances, where they can send them.
    pub(super) fn wakeup_url(&self) -> Option<&str> {
        match self {
            Engine::Sqlite { .. } => None,
            Engine::Postgres { url, .. } => Some(url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(Backend::of_url("sqlite://h.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(matches!(
            Backend::of_url("mysql://u@h/db"),
            Err(StoreError::Config(_))
        ));
    }

    #[test]
    fn sqlite_needs_no_row_locks_and_takes_the_write_lock_at_begin() {
        let b = Backend::Sqlite;
        assert_eq!((b.for_update(), b.for_share()), ("", ""));
        assert_eq!(b.begin_write(), "BEGIN IMMEDIATE");
        assert_eq!(b.setup_lock(), None);
        assert_eq!(b.on_enqueue(), None);
        assert_eq!(b.param(7), "?");
        assert_eq!(b.ids_in(2), "SELECT value FROM json_each($2)");
    }

    #[test]
    fn postgres_locks_rows_and_wakes_other_instances() {
        let b = Backend::Postgres;
        assert_eq!(b.for_update(), " FOR UPDATE");
        assert_eq!(b.for_share(), " FOR SHARE");
        assert_eq!(b.begin_write(), "BEGIN");
        assert!(b.setup_lock().unwrap().starts_with("LOCK TABLE operators"));
        let on_enqueue = b.on_enqueue().unwrap();
        assert!(on_enqueue.contains("pg_notify($1"));
        assert!(on_enqueue.contains("set_config('enable_hashjoin', 'off', true)"));
        assert_eq!(b.param(7), "$7");
        assert!(b.ids_in(2).contains("$2::jsonb"));
    }

    #[test]
    fn postgres_connections_stay_within_the_budget() {
        // (max, pool, reads): one more listens for wake-ups.
        for (max, pool, reads) in [(3, 2, 0), (4, 2, 1), (8, 4, 3), (16, 8, 7), (32, 16, 15)] {
            assert_eq!(postgres_budget(max), (pool, reads), "{max}");
            assert!(pool + (reads as u32) < max, "{max}");
        }
    }

    #[test]
    fn each_backend_has_its_own_migrations_of_the_same_versions() {
        let versions =
            |b: Backend| -> Vec<i64> { b.migrator().iter().map(|m| m.version).collect() };
        assert_eq!(versions(Backend::Sqlite), versions(Backend::Postgres));
        assert!(!versions(Backend::Sqlite).is_empty());
    }
}
