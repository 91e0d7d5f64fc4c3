//! PostgreSQL's recipient lists: the email messages of a ticket event, queued as one row per
//! batch of recipients (`notification_lists`, see its migrations `recipient_lists` and
//! `list_outcomes`).
//!
//! - [`enqueue`] writes an event's lists in the change's transaction: the same recipients as
//!   one row each would be (one per address ignoring case, opt-outs left out), a batch of
//!   them per list.
//! - [`claim`] takes one due list under a claim, as a batch of [`Claimed`] messages: its
//!   recipients still to send.
//! - [`record_outcomes`] writes the outcomes of a list's claimed recipients while the list is
//!   still held under that claim: a sent one at its place in the list's `sent_at` and
//!   `replies`, any other (retrying, failed; released unsent: an ordinary queued row) as its
//!   row of `notifications`, with the id the API showed for it all along (2^40 + list id ×
//!   1024 + place, [`ID_SQL`]). It counts the list down; a list without a recipient still to
//!   send is done.
//! - The readers of the outbox add the recipients without a row: [`recipients`] for a
//!   ticket's listing (queued, cancelled with their list, or sent), [`counts`] for the counts
//!   by state.
//!
//! A list is claimed like a message (`claimed_by`, `lease_until`, renewals in
//! `notification_leases`), so a crashed instance's list is taken again when its lease runs
//! out, and only its recipients without an outcome are sent again.

use futures::stream::BoxStream;
use futures::TryStreamExt;
use sqlx::{AnyConnection, AnyPool};

use super::outbox::claimed;
use super::sqlite_outbox::OutcomeRow;
use super::StoreError;
use crate::domain::{Claimed, Outcome, Timestamp};

/// The first id of the messages of lists (identity ids stay below it).
pub(super) const BASE: i64 = 1 << 40;
/// Places per list in the ids: a list holds at most this many recipients.
pub(super) const SLOTS: i64 = 1024;

/// The id of the recipient at `place` (from 0) of list `list` (as [`ID_SQL`] writes it).
#[cfg(test)]
fn message_id(list: i64, place: i64) -> i64 {
    BASE + list * SLOTS + place
}

/// Is `id` the id of a list's recipient?
pub(super) fn is_listed(id: i64) -> bool {
    id >= BASE
}

/// Recipients per list until the email workers say their batch size (the delivery's default).
pub(super) const DEFAULT_BATCH: usize = 250;

/// A batch size as recipients per list (1..=[`SLOTS`]).
pub(super) fn per_list(batch: usize) -> i64 {
    i64::try_from(batch).unwrap_or(SLOTS).clamp(1, SLOTS)
}

/// [`NO_ROW`] with its id.
fn no_row() -> String {
    NO_ROW.replace("{ID}", ID_SQL)
}

/// The SQL of a list's recipient id, `l` the list, `x.pos` the place from 1.
const ID_SQL: &str = "(1099511627776 + l.id * 1024 + x.pos - 1)";

/// The lists' recipients, unnested with their places (from 1) and, when sent, when and what
/// the server replied (`sent_at`, `reply`: null before).
const UNNEST: &str = "CROSS JOIN LATERAL \
     unnest(l.customer_ids, l.addresses, l.names, l.sent_at, l.replies) WITH ORDINALITY \
     AS x(customer_id, address, name, sent_at, reply, pos)";

/// A recipient of list `l` at place `x.pos` without a row (retried, failed or released, it is
/// handled as a row).
const NO_ROW: &str = "NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id = {ID})";

/// Queues the recipients chosen by `recipients` (SQL yielding `id`, `email`, `name`, one per
/// recipient, parameters from `$5`) as lists of `per_list`, and returns how many.
pub(super) async fn enqueue(
    tx: &mut AnyConnection,
    event_id: i64,
    ticket_id: i64,
    at: Timestamp,
    per_list: i64,
    recipients: &str,
    param: Option<String>,
) -> Result<u64, StoreError> {
    // The lists in the order the recipients come: their rows are numbered as they come and
    // grouped by that number, so every array of one list holds its recipients in one order.
    let sql = format!(
        "WITH r AS ({recipients}), \
         b AS (SELECT r.id, r.email, r.name, (ROW_NUMBER() OVER () - 1) / $4 AS list FROM r), \
         ins AS (INSERT INTO notification_lists (event_id, ticket_id, state, queued_at, \
             next_attempt_at, remaining, customer_ids, addresses, names) \
           SELECT $1, $2, 'queued', $3, $3, COUNT(*), array_agg(b.id), array_agg(b.email), \
             array_agg(b.name) \
           FROM b GROUP BY b.list RETURNING remaining) \
         SELECT COALESCE(SUM(remaining), 0)::BIGINT FROM ins"
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql)
        .bind(event_id)
        .bind(ticket_id)
        .bind(at.ticks())
        .bind(per_list);
    if let Some(param) = param {
        q = q.bind(param);
    }
    let queued = q.fetch_one(&mut *tx).await?;
    Ok(u64::try_from(queued).unwrap_or(0))
}

/// Claims one due list under `claim` until `lease_until`: its recipients still to send, as a
/// batch (empty when no list is due).
pub(super) async fn claim(
    writer: &AnyPool,
    claim: i64,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Vec<Claimed>, StoreError> {
    // Due and held by no live lease, as a message (see `herald_due_notifications`); the list
    // is locked, so two claims at once never take the same one.
    let sql = format!(
        "WITH l AS (UPDATE notification_lists SET claimed_by = $1, lease_until = $2 \
           WHERE id = (SELECT id FROM notification_lists \
             WHERE state = 'queued' AND next_attempt_at <= $3 \
               AND (lease_until IS NULL OR lease_until <= $3) \
               AND (claimed_by IS NULL OR claimed_by NOT IN ( \
                 SELECT claim FROM notification_leases WHERE until > $3)) \
             ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
           RETURNING id, event_id, ticket_id, queued_at, customer_ids, addresses, names, sent_at, \
             replies) \
         SELECT {ID_SQL} AS id, l.event_id, l.ticket_id, x.customer_id, 'email' AS channel, \
           x.address, NULL::BIGINT AS webhook_id, x.name, 'queued' AS state, \
           0::BIGINT AS attempts, l.queued_at, NULL::BIGINT AS subscription_id, \
           $1::BIGINT AS claimed_by \
         FROM l {UNNEST} WHERE x.sent_at IS NULL AND {no_row} ORDER BY x.pos",
        no_row = no_row()
    );
    let rows = sqlx::query(&sql)
        .bind(claim)
        .bind(lease_until.ticks())
        .bind(now.ticks())
        .fetch_all(writer)
        .await?;
    rows.iter().map(claimed).collect()
}

/// Writes the outcomes of claimed recipients of lists, while their list is still held under
/// the claim they were taken with: a sent one into its list (`sent_at` and `replies` at its
/// place), any other as its row; counts their lists down, and returns the ids it wrote. The
/// others are rows already (a recipient retried, or released before) and were claimed as
/// rows. A list cancelled meanwhile (its ticket deleted) makes every outcome but a sent one
/// cancelled.
pub(super) async fn record_outcomes(
    writer: &AnyPool,
    at: Timestamp,
    outcomes: &[&(Claimed, Outcome)],
) -> Result<std::collections::HashSet<i64>, StoreError> {
    let rows: Vec<OutcomeRow> = outcomes
        .iter()
        .map(|(message, outcome)| OutcomeRow::of(message, outcome, at))
        .collect();
    let outcomes = serde_json::to_string(&rows).expect("outcomes always serialize");
    // - `v`: the outcomes, as one JSON parameter: one statement text, prepared once, where a
    //   `VALUES` list of 7 parameters per outcome was planned again for every write (2.7 ms
    //   for 250).
    // - `u`: the lists' recipients, unnested once and materialised: inlined, the planner
    //   unnested every list again for each outcome (EXPLAIN ANALYZE, 250 outcomes of one
    //   list: 16.7 ms, materialised 3.1 ms).
    // - `m`: each recipient with its outcome, if it has one, not sent yet, under the claim
    //   that holds its list (one join of all: joined again to the recipients to rebuild the
    //   arrays, the outcomes were matched by a nested loop, 8 ms for 250). That a recipient
    //   has no row was made sure when it was claimed: only this claim's outcomes make rows of
    //   its recipients, once each, and a later claim's `upd` fails this one's.
    // - `s`: each list's arrays of sent recipients again, with the new ones at their places,
    //   and how many of its recipients are settled now.
    // - `upd`: the list, if it is still held by the claim when its row is locked (a claim
    //   taken meanwhile, after this one's lease ran out, holds its recipients now), found by
    //   its primary key as one array (joined with `s`, the planner scanned every list: 5 ms
    //   a write with a million queued);
    // - `ins`: the rows of the outcomes other than sent, of the lists updated.
    let sql = format!(
        "WITH v AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($1::jsonb) \
           AS v(id BIGINT, state TEXT, attempted BIGINT, text TEXT, next BIGINT, claim BIGINT)), \
         u AS MATERIALIZED (SELECT {ID_SQL} AS id, l.id AS list, x.pos, l.event_id, l.ticket_id, \
             l.state AS list_state, l.queued_at, l.claimed_by, x.customer_id, x.address, x.name, \
             x.sent_at, x.reply \
           FROM notification_lists l {UNNEST} \
           WHERE l.id = ANY(ARRAY(SELECT DISTINCT (v.id - {BASE}) / {SLOTS} FROM v))), \
         m AS MATERIALIZED (SELECT u.*, v.state AS outcome, v.attempted, v.text, v.next \
           FROM u LEFT JOIN v ON v.id = u.id AND v.claim = u.claimed_by \
             AND u.sent_at IS NULL), \
         s AS (SELECT m.list, m.claimed_by, \
             array_agg(CASE WHEN m.outcome = 'sent' THEN $2 ELSE m.sent_at END ORDER BY m.pos) \
               AS sent_at, \
             array_agg(CASE WHEN m.outcome = 'sent' THEN m.text ELSE m.reply END ORDER BY m.pos) \
               AS replies, \
             COUNT(*) FILTER (WHERE m.outcome = 'sent') AS sent, COUNT(m.outcome) AS settled \
           FROM m GROUP BY m.list, m.claimed_by HAVING COUNT(m.outcome) > 0), \
         upd AS (UPDATE notification_lists l SET \
             sent_at = CASE WHEN s.sent > 0 THEN s.sent_at ELSE l.sent_at END, \
             replies = CASE WHEN s.sent > 0 THEN s.replies ELSE l.replies END, \
             sent = l.sent + s.sent, \
             remaining = l.remaining - s.settled, \
             state = CASE WHEN l.remaining - s.settled <= 0 THEN 'done' ELSE l.state END \
           FROM s WHERE l.id = ANY(ARRAY(SELECT list FROM s)) \
             AND l.id = s.list AND l.claimed_by = s.claimed_by RETURNING l.id), \
         ins AS (INSERT INTO notifications (id, event_id, ticket_id, customer_id, channel, \
             address, name, state, attempts, queued_at, next_attempt_at, last_attempt_at, \
             sent_at, reply) \
           SELECT m.id, m.event_id, m.ticket_id, m.customer_id, 'email', m.address, m.name, \
             CASE WHEN m.list_state = 'cancelled' AND m.outcome <> 'delivered' \
               THEN 'cancelled' ELSE m.outcome END, \
             m.attempted, m.queued_at, \
             CASE WHEN m.list_state = 'cancelled' OR m.outcome NOT IN ('queued', 'retrying') \
               THEN NULL ELSE m.next END, \
             CASE WHEN m.attempted = 1 THEN $2 END, \
             CASE WHEN m.outcome = 'delivered' THEN $2 END, \
             CASE WHEN m.attempted = 1 THEN m.text END \
           FROM m JOIN upd ON upd.id = m.list WHERE m.outcome <> 'sent' \
           ON CONFLICT (id) DO NOTHING RETURNING id) \
         SELECT id FROM ins \
         UNION ALL SELECT m.id FROM m JOIN upd ON upd.id = m.list WHERE m.outcome = 'sent'"
    );
    let written = sqlx::query_scalar::<_, i64>(&sql)
        .bind(outcomes)
        .bind(at.ticks())
        .fetch_all(writer)
        .await?;
    Ok(written.into_iter().collect())
}

/// The columns of [`super::outbox`]'s notification rows, for a list's recipient without a row:
/// sent (`x.sent_at`), or queued (or cancelled with its list) and held while its list is.
const LISTED_COLUMNS: &str = "l.event_id, e.kind, l.ticket_id, x.customer_id, \
     'email' AS channel, x.address, x.name, \
     CASE WHEN x.sent_at IS NOT NULL THEN 'sent' \
       WHEN l.state = 'cancelled' THEN 'cancelled' ELSE 'queued' END AS state, \
     CASE WHEN x.sent_at IS NOT NULL THEN 1 ELSE 0 END::BIGINT AS attempts, l.queued_at, \
     x.sent_at AS last_attempt_at, \
     CASE WHEN x.sent_at IS NULL AND l.state = 'queued' THEN l.next_attempt_at END \
       AS next_attempt_at, \
     x.sent_at, x.reply, \
     CASE WHEN x.sent_at IS NULL AND l.state = 'queued' THEN l.claimed_by END AS claimed_by";

/// Lists read by one statement of [`recipients`]: a few hundred recipients each, sorted by
/// their places in memory, where one statement for all of a ticket's lists sorted a million
/// recipients (on disk) before the first came.
const LISTS_PER_READ: usize = 16;

/// A ticket's list recipients (queued, cancelled or sent, as their lists say), in the order
/// of their ids: those with a row too, which the reader leaves out when it meets the row.
/// Filtered here, a recipient whose row was written between the reader's read of the rows and
/// this one's would be in neither.
pub(super) fn recipients(
    pool: AnyPool,
    ticket_id: i64,
) -> BoxStream<'static, Result<sqlx::any::AnyRow, StoreError>> {
    Box::pin(async_stream::try_stream! {
        let lists: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM notification_lists WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(ticket_id)
        .fetch_all(&pool)
        .await?;
        let sql = format!(
            "SELECT {ID_SQL} AS id, {LISTED_COLUMNS} FROM notification_lists l \
             JOIN ticket_events e ON e.id = l.event_id {UNNEST} \
             WHERE l.id IN ({ids}) ORDER BY l.id, x.pos",
            ids = super::Backend::Postgres.ids_in(1),
        );
        for chunk in lists.chunks(LISTS_PER_READ) {
            let mut rows = sqlx::query(&sql).bind(super::ids_param(chunk)).fetch(&pool);
            while let Some(row) = rows.try_next().await? {
                yield row;
            }
        }
    })
}

/// The lists' recipients without a row, as rows of (`ticket_id`, `channel`, `state`, `n`) to
/// add to the same counts of `notifications`: those still to send (queued, or cancelled with
/// their list) and those sent. `{where}` is replaced by a condition on `ticket_id` (or
/// `TRUE`).
const COUNTS: &str = "SELECT ticket_id, 'email' AS channel, state, \
     SUM(remaining)::BIGINT AS n FROM notification_lists \
     WHERE state IN ('queued', 'cancelled') AND {where} GROUP BY ticket_id, state \
     UNION ALL SELECT ticket_id, 'email' AS channel, 'sent' AS state, SUM(sent)::BIGINT AS n \
     FROM notification_lists WHERE sent > 0 AND {where} GROUP BY ticket_id";

/// [`COUNTS`] with its condition.
pub(super) fn counts(condition: &str) -> String {
    COUNTS.replace("{where}", condition)
}

/// Cancels a ticket's queued lists (it is being deleted); how many recipients they held
/// still to send.
pub(super) async fn cancel_for_ticket(
    tx: &mut AnyConnection,
    ticket_id: i64,
) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "WITH c AS (UPDATE notification_lists SET state = 'cancelled' \
           WHERE ticket_id = $1 AND state = 'queued' RETURNING remaining) \
         SELECT COALESCE(SUM(remaining), 0)::BIGINT FROM c",
    )
    .bind(ticket_id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// When the oldest list still to deliver was queued.
pub(super) const OLDEST_QUEUED: &str =
    "SELECT min(queued_at) FROM notification_lists WHERE state = 'queued'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_ids_are_above_every_identity_id_and_the_sql_agrees() {
        assert_eq!(BASE, 1_099_511_627_776);
        assert!(ID_SQL.contains(&BASE.to_string()));
        assert!(ID_SQL.contains(&SLOTS.to_string()));
        assert_eq!(message_id(0, 0), BASE);
        assert_eq!(message_id(3, 1023) + 1, message_id(4, 0));
        assert!(is_listed(message_id(1, 5)) && !is_listed(BASE - 1));
        assert!(
            message_id(1 << 42, SLOTS - 1) < 1 << 53,
            "JSON keeps them exact"
        );
        assert_eq!(
            (per_list(0), per_list(250), per_list(5000)),
            (1, 250, SLOTS)
        );
    }
}
