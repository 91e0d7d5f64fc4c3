//! SQLite's checkpoints, off the commits' path.
//!
//! In WAL mode a commit appends its pages to the `-wal` file, and a checkpoint copies them back
//! into the database file (and `fsync`s it) so that the WAL can start over. By default SQLite
//! runs one inside whichever commit takes the WAL past 1,000 pages, and that commit waits for
//! it: a ticket on a service with a million followers waited 0.27 s of its 0.45 s `COMMIT`
//! for the checkpoint of its own messages (BENCHMARKS.md, "Checkpoints off the commit").
//!
//! Herald's connections turn that off (`PRAGMA wal_autocheckpoint = 0`, in
//! `dialect::SQLITE_PRAGMAS` and the delivery's connection), and this task runs
//! `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own soon after writes: the writers
//! say so ([`WalWrites::wrote`]), and the task checkpoints at most every [`SPACING`], so a
//! burst of commits is one checkpoint. A passive checkpoint never waits for readers or
//! writers, nor holds them up; what a reader still needs stays in the WAL for the next one.
//! When the process ends, its last connection checkpoints and removes the WAL, as SQLite
//! always does, so a command-line command's writes are never left behind either.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The least time between two checkpoints.
pub(super) const SPACING: Duration = Duration::from_millis(1000);

/// What the writers tell the checkpoint task, and what it counted.
#[derive(Default)]
struct Shared {
    wrote: Notify,
    /// The WAL's pages already in the database file, as the latest checkpoint said.
    checkpointed: AtomicU64,
}

/// A handle for the writers of one file: [`WalWrites::wrote`] after a commit. Cheap to clone.
#[derive(Clone)]
pub(super) struct WalWrites(Arc<Shared>);

impl WalWrites {
    /// Something was committed: checkpoint soon.
    pub(super) fn wrote(&self) {
        self.0.wrote.notify_one();
    }

    /// The WAL's pages already in the database file, as the latest checkpoint said (tests).
    #[cfg(test)]
    pub(super) fn checkpointed(&self) -> u64 {
        self.0.checkpointed.load(Ordering::Relaxed)
    }
}

/// The checkpoint task of one SQLite file; it stops when this is dropped (with the store).
pub(super) struct Checkpointer {
    writes: WalWrites,
    stop: CancellationToken,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Checkpointer {
    /// Starts the task for the file at `path` (on the current runtime).
    pub(super) fn start(path: PathBuf) -> Checkpointer {
        let writes = WalWrites(Arc::default());
        let stop = CancellationToken::new();
        tokio::spawn(run(path, writes.0.clone(), stop.clone()));
        Checkpointer { writes, stop }
    }

    /// The handle the writers poke.
    pub(super) fn writes(&self) -> WalWrites {
        self.writes.clone()
    }

    /// Stops the task (the store is closing).
    pub(super) fn close(&self) {
        self.stop.cancel();
    }
}

async fn run(path: PathBuf, shared: Arc<Shared>, stop: CancellationToken) {
    let mut conn: Option<Connection> = None;
    let mut failing = false;
    loop {
        tokio::select! {
            _ = shared.wrote.notified() => {}
            _ = stop.cancelled() => return,
        }
        // Let the rest of a burst of commits come first.
        tokio::select! {
            _ = tokio::time::sleep(SPACING) => {}
            _ = stop.cancelled() => return,
        }
        let path = path.clone();
        let done = tokio::task::spawn_blocking(move || {
            let result = checkpoint(&path, &mut conn);
            (conn, result)
        })
        .await;
        let Ok((kept, result)) = done else {
            return; // the runtime is shutting down
        };
        conn = kept;
        match result {
            Ok(copied) => {
                shared.checkpointed.store(copied, Ordering::Relaxed);
                if failing {
                    tracing::info!("SQLite checkpoints work again");
                    failing = false;
                }
            }
            Err(e) => {
                // A full disk, say: the WAL keeps the pages meanwhile, and the next write
                // tries again. Said once, not at every write.
                if !failing {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; the WAL keeps the pages until one works");
                    failing = true;
                }
                conn = None;
            }
        }
    }
}

/// One passive checkpoint on `conn` (opened when needed): the WAL's pages now in the database
/// file (this one's and earlier ones' since the WAL last started over).
fn checkpoint(path: &std::path::Path, conn: &mut Option<Connection>) -> rusqlite::Result<u64> {
    if conn.is_none() {
        let opened = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        opened.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        *conn = Some(opened);
    }
    let conn = conn.as_ref().expect("just opened");
    // (busy, frames in the WAL, frames checkpointed): -1s when the file is not in WAL mode.
    let (_busy, _frames, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    Ok(u64::try_from(copied).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::store::{PoolSettings, Store};

    /// Pages written by [`write_pages`] (SQLite's own would checkpoint at 1,000).
    const PAGES: u64 = 3_000;

    /// A store on a new SQLite file, its WAL's path.
    async fn file_store() -> (tempfile::TempDir, Store, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let wal = dir.path().join("herald.db-wal");
        (dir, store, wal)
    }

    /// [`PAGES`] pages through the writer, in 30 commits (a row of 3,000 bytes fills a page).
    async fn write_pages(store: &Store) {
        sqlx::query("CREATE TABLE filler (b BLOB)")
            .execute(&store.writer)
            .await
            .unwrap();
        for _ in 0..30 {
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
                 INSERT INTO filler SELECT randomblob(3000) FROM n",
            )
            .execute(&store.writer)
            .await
            .unwrap();
        }
    }

    #[tokio::test]
    async fn commits_do_not_checkpoint_themselves() {
        let (_dir, store, wal) = file_store().await;
        store.engine.checkpoints().unwrap().close();
        let (off,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
            .fetch_one(&store.writer)
            .await
            .unwrap();
        assert_eq!(off, 0);
        write_pages(&store).await;
        // Checkpointed by a commit, the WAL would have started over every 1,000 pages.
        let size = std::fs::metadata(&wal).unwrap().len();
        assert!(size > PAGES * 4096, "the WAL holds {size} bytes");
        store.close().await;
    }

    #[tokio::test]
    async fn the_task_checkpoints_soon_after_the_writes() {
        let (_dir, store, _wal) = file_store().await;
        let writes = store.engine.checkpoints().unwrap().writes();
        write_pages(&store).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while writes.checkpointed() < PAGES {
            assert!(
                Instant::now() < deadline,
                "{} pages checkpointed",
                writes.checkpointed()
            );
            tokio::time::sleep(super::SPACING).await;
        }
        // Nothing was lost on the way.
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM filler")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(rows, 3_000);
        store.close().await;
    }
}
