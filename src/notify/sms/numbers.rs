//! Keeps the customers' stored numbers normalised (see [`Store::normalise_sms_numbers`]), so
//! that a fan-out reads them instead of normalising every follower's `CellPhone` in the
//! change's transaction: a full pass at start and whenever the SMS channel or its default
//! country changes, the changed `CellPhone`s when a bulk write says so, and a look once a
//! minute for what other instances (or the command line) wrote. A number that is not normalised
//! yet is still texted: the fan-out normalises it itself.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Store, StoreError};

/// Customers normalised per write.
const CHUNK: i64 = 2_000;
/// How often it looks without being told.
const LOOK_EVERY: Duration = Duration::from_secs(60);

/// Runs until `shutdown`.
pub fn spawn(store: Store, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let wake = store.sms_numbers_to_normalise();
        // The plan of the last full pass (`None` inside: the channel was off).
        let mut passed: Option<Option<String>> = None;
        loop {
            let key = store.sms_numbers_key();
            let all = passed.as_ref() != Some(&key);
            if key.is_some() {
                match pass(&store, all).await {
                    Ok(()) if all => passed = Some(key),
                    Ok(()) => {}
                    Err(e) => tracing::warn!(
                        error = %crate::telemetry::error_chain(&e),
                        "could not store the customers' normalised numbers (texts still go out; the fan-out normalises them)"
                    ),
                }
            } else {
                passed = Some(None);
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(LOOK_EVERY) => {}
            }
        }
    });
}

async fn pass(store: &Store, all: bool) -> Result<(), StoreError> {
    let mut after = 0;
    while let Some(last) = store.normalise_sms_numbers(all, after, CHUNK).await? {
        after = last;
    }
    Ok(())
}
