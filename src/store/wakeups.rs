//! Wake-ups between instances on PostgreSQL. A transaction that queues messages also notifies
//! the channel [`CHANNEL`] (PostgreSQL delivers the notification only if it commits), and every
//! instance listens to it, so messages queued through one instance are picked up at once by the
//! idle workers of all of them, not at their next poll. The poll stays as the fallback for
//! notifications missed while the listening connection was down.
//!
//! On SQLite there is nothing to relay: one process owns the file, and it wakes its own workers.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::Store;

/// The channel `NOTIFY`'d by a commit that queued messages.
pub const CHANNEL: &str = "herald_outbox";

/// How long to wait before listening again after the connection was lost.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

impl Store {
    /// Until `shutdown`, turns notifications on [`CHANNEL`] into wake-ups of this process's
    /// workers (see [`Store::outbox_queued`]). Returns at once on SQLite.
    pub async fn relay_wakeups(&self, shutdown: CancellationToken) {
        let Some(url) = self.engine.wakeup_url().map(str::to_owned) else {
            return;
        };
        while !shutdown.is_cancelled() {
            match listen(&url).await {
                Ok(mut listener) => {
                    // Whatever was queued while nobody listened is due now.
                    self.wake_workers();
                    loop {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            received = listener.recv() => match received {
                                Ok(_) => self.wake_workers(),
                                Err(e) => {
                                    tracing::warn!(error = %e, "lost the outbox wake-up channel; workers poll meanwhile");
                                    break;
                                }
                            },
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for outbox wake-ups; workers poll meanwhile");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(RECONNECT_AFTER) => {}
            }
        }
    }
}

async fn listen(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
