-- PostgreSQL: a claim is a heap-only (HOT) update, and a renewal touches no message at all.
--
-- Before, a claim wrote its token into claimed_by (indexed by notifications_claimed) and the end
-- of its lease into next_attempt_at (in notifications_due): the row's new version went into the
-- primary key, notifications_due, notifications_claimed and notifications_by_ticket, 7 WAL
-- records per message, the most expensive statement of a fan-out (pg_stat_statements). Now:
--   - the claim writes claimed_by and lease_until, two columns outside every index, on a page
--     with room for the new version (fillfactor): no index entry, 2 WAL records (lock, update);
--   - a renewal writes one row per claim into notification_leases (the rows keep their
--     lease_until), so renewals no longer lock messages at all;
--   - a row is due when next_attempt_at has come and it is held by no live lease: neither its
--     own lease_until nor its claim's renewal in notification_leases is still to come.
-- The pick is the function below, whose plan does not depend on the table's statistics: held
-- rows now stay in notifications_due, and with the statistics of before a fan-out (4 rows
-- where 189,050 were queued) the planner switched to a bitmap scan of the whole queue and a
-- sort for every claim of 250 (the fourth pass, branch pgfan-hot). The index's order it is.
-- Rows claimed before this migration keep their lease in next_attempt_at, as they were.
ALTER TABLE notifications ADD COLUMN lease_until BIGINT;
DROP INDEX notifications_claimed;
-- Room on every new page for a claim's version of its rows (the INSERT of 100,000 rows took as
-- long at fillfactor 50 as at 100: 0.51 / 0.51 / 0.51 s against 0.51 / 0.51 / 0.48 s).
ALTER TABLE notifications SET (fillfactor = 50);

-- The renewals of claims: a claim is held until `until` (ticks) if renewed, else until its
-- rows' lease_until. Rows of leases run out are deleted by the next renewal.
CREATE TABLE notification_leases (
    claim BIGINT PRIMARY KEY,
    until BIGINT NOT NULL
);

-- Up to p_limit due messages of p_channel at p_now, in the order they are due, after the point
-- (p_after_at, p_after_id) of that order, locked (others claiming at the same moment skip them).
-- Held rows stay in notifications_due, at its head while a fan-out is sent: a claim that
-- walked past them all took 5–9 ms (auto_explain, 4 workers holding 1,000 rows), so a claim
-- starts after the rows its instance claimed last, and from the head (-1, -1) only now and
-- then (`store/pg_claims.rs`). Always the ordered scan of notifications_due, whatever the
-- statistics say: the settings below hold for this function's own statement only. No JIT: a
-- disabled plan is costed at 10^10, and the JIT compiled for that, 150–200 ms per claim.
CREATE FUNCTION herald_due_notifications(
    p_channel TEXT, p_now BIGINT, p_limit BIGINT, p_after_at BIGINT, p_after_id BIGINT)
RETURNS SETOF BIGINT
LANGUAGE sql VOLATILE
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
SET jit = off
AS $$
    SELECT id FROM notifications
    WHERE channel = p_channel AND state IN ('queued', 'retrying') AND next_attempt_at <= p_now
      AND (next_attempt_at, id) > (p_after_at, p_after_id)
      AND (lease_until IS NULL OR lease_until <= p_now)
      AND (claimed_by IS NULL OR claimed_by NOT IN (
          SELECT claim FROM notification_leases WHERE until > p_now))
    ORDER BY next_attempt_at, id
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
$$;
