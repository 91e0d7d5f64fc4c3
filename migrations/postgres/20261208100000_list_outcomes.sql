-- PostgreSQL: a list's recipients that were sent keep their outcome in the list itself
-- (`store/pg_lists.rs`), where each became a row of `notifications` before.
--
-- That row was the largest cost of a PostgreSQL fan-out left (BENCHMARKS.md, "Outcomes in
-- the list"): 14–16 µs and four WAL records per message, for the row and its index entries.
-- Now one flush of outcomes writes a list's sent recipients as two arrays of the list, once:
-- when each was sent and what the server replied, at its place. A recipient that is not sent
-- (retried, failed, or released unsent) still becomes a row, as before, and is handled as a
-- row from then on. So a recipient of a list has its row, or its place in `sent_at`, or is
-- still to send.
ALTER TABLE notification_lists ADD COLUMN sent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notification_lists ADD COLUMN sent_at BIGINT[];
ALTER TABLE notification_lists ADD COLUMN replies TEXT[];
-- Read whole by every claim: stored uncompressed (the replies, only read by a listing, may be
-- compressed).
ALTER TABLE notification_lists ALTER COLUMN sent_at SET STORAGE EXTERNAL;
-- A done list now still shows its sent recipients: a ticket's listing and counts read every
-- list of the ticket, in the order of their ids.
DROP INDEX notification_lists_by_ticket;
CREATE INDEX notification_lists_of_ticket ON notification_lists (ticket_id, id);
