-- PostgreSQL: a claim is a heap-only (HOT) update. It writes the claim's token (claimed_by) and
-- the end of its lease (lease_until), two columns outside every index, so it adds no index entry:
-- with the lease in next_attempt_at and the token in notifications_claimed, each claim wrote the
-- row's new version into the primary key, notifications_due, notifications_claimed and
-- notifications_by_ticket (7 WAL records per message). A row is due when next_attempt_at has
-- come and no lease holds it (lease_until NULL or past); renewals find their rows by id.
-- Rows claimed before this migration keep their lease in next_attempt_at, as they were.
-- Free space on every page for a claim's new version (new pages only; the outcome's version
-- then finds the space of the version before the claim, pruned).
ALTER TABLE notifications ADD COLUMN lease_until BIGINT;
DROP INDEX notifications_claimed;
ALTER TABLE notifications SET (fillfactor = 50);
