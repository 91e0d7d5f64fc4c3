//! Failed sign-in counters, per subject (`account:…`, `address:…`), in the database so every
//! instance sees them. The policy (how many attempts, how long to wait) is the caller's; the
//! store makes checking and counting one step, so attempts sent at once cannot all pass the
//! check before any of them is counted.

use std::time::Duration;

use super::{Store, StoreError};
use crate::domain::Timestamp;

impl Store {
    /// Counts a sign-in attempt under every subject, unless one of them must still wait: then
    /// nothing is counted and the longest remaining wait is returned. `wait_after(subject,
    /// failures)` is how long after the last counted attempt the next one is allowed; counts whose
    /// last attempt is older than `forget_before` start again from nothing.
    ///
    /// The check and the count are one transaction that holds the subjects' rows from the first
    /// read: the upsert takes PostgreSQL's row lock (so instances on one database queue behind
    /// each other), and SQLite's write transaction is exclusive anyway. Subjects are locked in
    /// sorted order, so two attempts cannot wait for each other.
    pub async fn count_login_attempt(
        &self,
        subjects: &[&str],
        now: Timestamp,
        forget_before: Timestamp,
        wait_after: impl Fn(&str, i64) -> Duration,
    ) -> Result<Option<Duration>, StoreError> {
        let mut subjects = subjects.to_vec();
        subjects.sort_unstable();
        subjects.dedup();
        let mut tx = self.write_tx().await?;
        let mut counts = Vec::with_capacity(subjects.len());
        let mut longest = Duration::ZERO;
        for subject in &subjects {
            let (failures, last_at): (i64, i64) = sqlx::query_as(
                "INSERT INTO login_failures (subject, failures, last_at) VALUES ($1, 0, $2) \
                 ON CONFLICT (subject) DO UPDATE SET failures = login_failures.failures \
                 RETURNING failures, last_at",
            )
            .bind(*subject)
            .bind(now.ticks())
            .fetch_one(&mut *tx)
            .await?;
            let last_at = Timestamp::from_ticks(last_at);
            let failures = if last_at < forget_before { 0 } else { failures };
            let wait = wait_after(subject, failures);
            // No wait is no wait: an attempt that queued behind a later one's lock sees a
            // `last_at` after its own `now`.
            if !wait.is_zero() {
                longest = longest.max(last_at.plus(wait).since(now));
            }
            counts.push(failures + 1);
        }
        if !longest.is_zero() {
            tx.rollback().await?;
            return Ok(Some(longest));
        }
        for (subject, failures) in subjects.iter().zip(counts) {
            sqlx::query("UPDATE login_failures SET failures = $1, last_at = $2 WHERE subject = $3")
                .bind(failures)
                .bind(now.ticks())
                .bind(*subject)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM login_failures WHERE last_at < $1")
            .bind(forget_before.ticks())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// Takes back an attempt counted by [`Store::count_login_attempt`] that succeeded: the
    /// `cleared` subject (the account) forgets all its failures, each `refunded` one (the
    /// address) forgets this one attempt.
    pub async fn forgive_login_attempt(
        &self,
        cleared: &str,
        refunded: &[&str],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM login_failures WHERE subject = $1")
            .bind(cleared)
            .execute(&mut *tx)
            .await?;
        for subject in refunded {
            sqlx::query(
                "UPDATE login_failures SET failures = failures - 1 \
                 WHERE subject = $1 AND failures > 0",
            )
            .bind(*subject)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
