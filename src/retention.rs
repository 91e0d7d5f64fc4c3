//! Keeping the audit log to its retention (`audit_retention`, a year by default): every
//! instance prunes at start and then every [`PRUNE_EVERY`]. Pruning is a batched delete on the
//! index of the entries' time (`Store::prune_audit`), so it is cheap, and safe when several
//! instances prune at once: each deletes what is still there.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::Timestamp;
use crate::live_settings::LiveSettings;
use crate::store::Store;

/// How often an instance prunes.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Prunes once: deletes the entries older than the retention; returns how many.
pub async fn prune_once(
    store: &Store,
    settings: &LiveSettings,
) -> Result<u64, crate::store::StoreError> {
    let cutoff = Timestamp::now().minus(settings.get().audit_retention);
    let deleted = store.prune_audit(cutoff).await?;
    if deleted > 0 {
        tracing::info!(deleted, "audit log entries past their retention deleted");
    }
    Ok(deleted)
}

/// Prunes now and every [`PRUNE_EVERY`] until `shutdown`.
pub fn spawn(store: Store, settings: LiveSettings, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            if let Err(e) = prune_once(&store, &settings).await {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not prune the audit log");
            }
        }
    });
}
