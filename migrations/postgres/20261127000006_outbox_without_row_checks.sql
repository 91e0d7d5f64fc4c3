-- The outbox's rows are written only by one INSERT … SELECT, in the transaction that has just
-- written their event (and with it their ticket), so their references cannot dangle. PostgreSQL
-- checked both foreign keys row by row with a trigger: for a ticket followed by 100,000 customers
-- those checks took longer than writing the rows, and the POST that queued them took seconds.
-- notification_events keeps its keys to ticket_events and tickets.
ALTER TABLE notifications
    DROP CONSTRAINT notifications_event_id_fkey,
    DROP CONSTRAINT notifications_ticket_id_fkey;
