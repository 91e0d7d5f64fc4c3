//! PostgreSQL's claims of due messages (see [`Store::claim_due`]).
//!
//! A claim writes its token and the end of its lease into `claimed_by` and `lease_until`, two
//! columns outside every index: a heap-only update, which adds no index entry (the migration
//! `heap_only_claims`). So the rows it holds stay in `notifications_due`, at the head of the
//! queue while a fan-out is sent, and a claim from the head walks past every one of them (with
//! four workers holding 1,000 rows, 5–9 ms per claim of 250, auto_explain). A claim therefore
//! starts after the last row this instance claimed in the queue's order, its frontier; it
//! starts from the head when that finds too few, and at least once a second, so that rows
//! before the frontier (a lease run out, a released message, a retry due earlier) are taken
//! as before. Either way the rows taken are due and held by no live lease: where the scan
//! starts decides only which of them come first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::{AnyPool, Row};

use super::outbox::claimed;
use super::StoreError;
use crate::domain::{Channel, Claimed, Timestamp};

/// How often a claim starts from the head of the queue even when its frontier finds enough.
const HEAD_EVERY: Duration = Duration::from_secs(1);

/// The head of the queue as a point of its order: before every row.
const HEAD: (i64, i64) = (-1, -1);

/// Where this instance's claims of each channel start (see the module's note).
#[derive(Debug, Default)]
pub(super) struct Frontiers {
    by_channel: Mutex<HashMap<Channel, Frontier>>,
}

#[derive(Debug, Clone, Copy)]
struct Frontier {
    /// The last row claimed, as (`next_attempt_at`, `id`).
    after: (i64, i64),
    /// When a claim last started from the head.
    head_at: Instant,
}

impl Frontiers {
    /// Where the next claim of `channel` starts: [`HEAD`] when it has not for a second.
    fn start(&self, channel: Channel) -> (i64, i64) {
        let mut by_channel = self.by_channel.lock().expect("not poisoned");
        match by_channel.get_mut(&channel) {
            Some(f) if f.head_at.elapsed() < HEAD_EVERY => f.after,
            Some(f) => {
                f.head_at = Instant::now();
                HEAD
            }
            None => {
                by_channel.insert(
                    channel,
                    Frontier {
                        after: HEAD,
                        head_at: Instant::now(),
                    },
                );
                HEAD
            }
        }
    }

    /// A claim of `channel` took rows up to `last` in the queue's order.
    fn advance(&self, channel: Channel, last: (i64, i64)) {
        let mut by_channel = self.by_channel.lock().expect("not poisoned");
        if let Some(f) = by_channel.get_mut(&channel) {
            f.after = f.after.max(last);
        }
    }
}

/// Claims up to `limit` due messages of `channel` under `claim` until `lease_until`.
pub(super) async fn claim(
    writer: &AnyPool,
    frontiers: &Frontiers,
    channel: Channel,
    claim: i64,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
) -> Result<Vec<Claimed>, StoreError> {
    let start = frontiers.start(channel);
    let mut taken = pick(writer, channel, claim, now, lease_until, limit, start).await?;
    if taken.len() < limit && start != HEAD {
        // Too few after the frontier: the rest from the head (what the first scan took is
        // held now, and skipped).
        let more = pick(
            writer,
            channel,
            claim,
            now,
            lease_until,
            limit - taken.len(),
            HEAD,
        )
        .await?;
        taken.extend(more);
    }
    if let Some(last) = taken.iter().map(|(_, at)| *at).max() {
        frontiers.advance(channel, last);
    }
    let mut claimed: Vec<Claimed> = taken.into_iter().map(|(c, _)| c).collect();
    if claimed.is_empty() && channel == Channel::Email {
        // No single message due: a list of an event's recipients (see `pg_lists`), whose
        // recipients come in the order of their ids.
        return super::pg_lists::claim(writer, claim, now, lease_until).await;
    }
    claimed.sort_by_key(|c| c.id);
    claimed.dedup_by_key(|c| c.id);
    Ok(claimed)
}

/// One claim's statement: the rows after `after`, with their places in the queue's order.
async fn pick(
    writer: &AnyPool,
    channel: Channel,
    claim: i64,
    now: Timestamp,
    lease_until: Timestamp,
    limit: usize,
    after: (i64, i64),
) -> Result<Vec<(Claimed, (i64, i64))>, StoreError> {
    // The rows are picked and locked once, by `herald_due_notifications`, whose plan is the
    // ordered scan of `notifications_due` (see the migration); matched by the primary key as
    // one array (`update_picked`): as `WHERE id IN (SELECT … LIMIT … FOR UPDATE SKIP LOCKED)`,
    // the claims of a queue of a million rows ran for minutes without one committing.
    const SQL: &str = "WITH picked AS MATERIALIZED \
          (SELECT herald_due_notifications($3, $4, $5, $6, $7) AS id) \
        UPDATE notifications SET claimed_by = $1, lease_until = $2 \
        WHERE notifications.id = ANY(ARRAY(SELECT id FROM picked)) \
        RETURNING notifications.id, event_id, ticket_id, customer_id, channel, address, \
          webhook_id, name, state, attempts, queued_at, subscription_id, claimed_by, \
          next_attempt_at";
    let rows = sqlx::query(SQL)
        .bind(claim)
        .bind(lease_until.ticks())
        .bind(channel.as_str())
        .bind(now.ticks())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(after.0)
        .bind(after.1)
        .fetch_all(writer)
        .await?;
    rows.iter()
        .map(|row| {
            let place = (
                row.try_get::<i64, _>("next_attempt_at")?,
                row.try_get("id")?,
            );
            Ok((claimed(row)?, place))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_starts_at_the_frontier_and_from_the_head_once_a_second() {
        let f = Frontiers::default();
        assert_eq!(
            f.start(Channel::Email),
            HEAD,
            "the first claim starts at the head"
        );
        f.advance(Channel::Email, (5, 250));
        assert_eq!(f.start(Channel::Email), (5, 250));
        f.advance(Channel::Email, (5, 100));
        assert_eq!(
            f.start(Channel::Email),
            (5, 250),
            "the frontier never moves back"
        );
        assert_eq!(f.start(Channel::Sms), HEAD, "each channel has its own");
        f.by_channel
            .lock()
            .unwrap()
            .get_mut(&Channel::Email)
            .unwrap()
            .head_at = Instant::now() - HEAD_EVERY;
        assert_eq!(
            f.start(Channel::Email),
            HEAD,
            "a second later, from the head"
        );
        assert_eq!(
            f.start(Channel::Email),
            (5, 250),
            "and then at the frontier again"
        );
    }
}
