//! The scheduler of `herald serve`: runs the time-driven jobs (`store::schedule`) when they
//! fall due.
//!
//! Each tick asks the database for the jobs due by the clock (one indexed query, nothing in
//! memory), then runs them one by one, each in its own transaction that re-checks it is still
//! pending: so every instance on one database may run a scheduler, and each job is done once.
//! A tick comes every `poll` (a second by default, well within the promised 10 s); after
//! downtime the first tick catches up on every job that fell due meanwhile (the store drops a
//! reminder whose work has begun).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::Store;

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
            if let Err(e) = tick(&store, &shutdown).await {
                tracing::warn!(error = %e, "could not run scheduled jobs");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(poll) => {}
            }
        }
    })
}

/// Runs every job due now. Returns how many ran.
pub async fn tick(
    store: &Store,
    shutdown: &CancellationToken,
) -> Result<usize, crate::store::StoreError> {
    let mut ran = 0;
    loop {
        let now = store.now();
        let due = store.due_jobs(now, BATCH).await?;
        if due.is_empty() {
            return Ok(ran);
        }
        for id in &due {
            if shutdown.is_cancelled() {
                return Ok(ran);
            }
            if let Some(done) = store.run_due_job(*id, store.now()).await? {
                tracing::info!(
                    job = done.job_id,
                    ticket = done.ticket_id,
                    event = done.event.map(|e| e.as_str()),
                    queued = done.queued,
                    "ran a scheduled job"
                );
                ran += 1;
            }
        }
        if due.len() < BATCH {
            return Ok(ran);
        }
    }
}
