//! Whether writes are failing for want of space, as `/readyz` reports it.
//!
//! A full disk does not stop reads, so a read cannot tell; instead the store remembers the
//! last write that failed with "storage full" until a write succeeds again. While it
//! remembers one, [`Store::writes_work`] tries a one-row write of its own (at most every
//! [`PROBE_EVERY`]), so the readiness comes back once space does even if nothing else writes.
//!
//! On SQLite a small write can still succeed on a full disk (the write-ahead log reuses its
//! own space) while larger ones fail, so there the free space of the file's filesystem is
//! looked at too: under [`MIN_FREE`] writes are not expected to work.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Store, StoreError};
use crate::domain::Timestamp;

/// How often a remembered failure is re-checked with a probe write.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// On SQLite, the free space below which writes are not expected to work.
pub const MIN_FREE: u64 = 1024 * 1024;

/// What people are told while writes fail for want of space.
pub const STORAGE_FULL: &str =
    "Herald's database storage is full, so nothing can be saved right now. \
     Reading still works; saving works again as soon as space is freed on the database's disk.";

#[derive(Debug, Default)]
pub(super) struct WriteHealth {
    full: AtomicBool,
    last_probe: Mutex<Option<Instant>>,
    /// SQLite: the directory of the database file.
    sqlite_dir: Option<PathBuf>,
}

impl WriteHealth {
    pub(super) fn new(sqlite_dir: Option<PathBuf>) -> WriteHealth {
        WriteHealth {
            sqlite_dir,
            ..Default::default()
        }
    }

    /// Is there too little room left under the SQLite file (`false` when unknown)?
    fn nearly_full(&self) -> bool {
        self.sqlite_dir
            .as_deref()
            .and_then(free_space)
            .is_some_and(|free| free < MIN_FREE)
    }
}

#[cfg(unix)]
fn free_space(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
fn free_space(_dir: &Path) -> Option<u64> {
    None
}

impl Store {
    /// Tells the store what a write came to: a "storage full" failure is remembered, a
    /// success forgets it, other failures change nothing.
    pub fn note_write<T>(&self, result: &Result<T, StoreError>) {
        match result {
            Ok(_) => self.health.full.store(false, Ordering::Relaxed),
            Err(StoreError::StorageFull(_)) => {
                if !self.health.full.swap(true, Ordering::Relaxed) {
                    tracing::error!("database storage full: writes fail until space is freed");
                }
            }
            Err(_) => {}
        }
    }

    /// Do writes work, as far as the store knows? Not on SQLite with less than [`MIN_FREE`]
    /// left; after a "storage full" failure, a probe write decides (at most every
    /// [`PROBE_EVERY`]; in between the failure stands).
    pub async fn writes_work(&self) -> bool {
        if self.health.nearly_full() {
            return false;
        }
        if !self.health.full.load(Ordering::Relaxed) {
            return true;
        }
        {
            let mut last = self.health.last_probe.lock().expect("not poisoned");
            if last.is_some_and(|at| at.elapsed() < PROBE_EVERY) {
                return false;
            }
            *last = Some(Instant::now());
        }
        let probe = self.probe_write().await;
        self.note_write(&probe);
        probe.is_ok()
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        let write = sqlx::query(
            "INSERT INTO _write_probe (id, written_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at",
        )
        .bind(Timestamp::now().ticks())
        .execute(&self.writer);
        match tokio::time::timeout(super::PING_TIMEOUT, write).await {
            Ok(done) => done.map(|_| ()).map_err(Into::into),
            Err(_) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        }
    }
}
