//! The scheduler of `herald serve`: runs the time-driven jobs (`store::schedule`) when they
//! fall due.
//!
//! Each tick asks the database for the jobs due by the clock and when the next one is (one
//! query on a partial index, nothing kept in memory), then runs them one by one, each in its own transaction that re-checks it is still
//! pending: so every instance on one database may run a scheduler, and each job is done once.
//! The next tick comes when the next job falls due, or after `poll` (a second by default, well
//! within the promised 10 s) when that is sooner or unknown (jobs planned meanwhile); after
//! downtime the first tick catches up on every job that fell due meanwhile (the store drops a
//! reminder whose work has begun).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::Timestamp;
use crate::store::{Store, StoreError};

/// Jobs read per query; a tick goes on reading until none are due.
const BATCH: usize = 100;

/// Starts the scheduler; the task ends when `shutdown` is cancelled (a job being run finishes
/// first: its transaction either commits or leaves the job pending).
pub fn spawn(
    store: Store,
    poll: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let wait = match tick(&store, &shutdown).await {
                Ok(next) => next
                    .map(|at| at.since(store.now()).min(poll))
                    .unwrap_or(poll),
                Err(e) => {
                    tracing::warn!(error = %e, "could not run scheduled jobs");
                    poll
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    })
}

/// Runs every job due now. Returns when the next job falls due, if that is known.
pub async fn tick(
    store: &Store,
    shutdown: &CancellationToken,
) -> Result<Option<Timestamp>, StoreError> {
    loop {
        let due = store.due_jobs(store.now(), BATCH).await?;
        for id in &due.ids {
            if shutdown.is_cancelled() {
                return Ok(None);
            }
            if let Some(done) = store.run_due_job(*id, store.now()).await? {
                tracing::info!(
                    job = done.job_id,
                    ticket = done.ticket_id,
                    event = done.event.map(|e| e.as_str()),
                    queued = done.queued,
                    "ran a scheduled job"
                );
            }
        }
        if !due.more {
            return Ok(due.next);
        }
    }
}
