-- Nothing on SQLite: its email stays one outbox row per recipient, where its fan-out figures
-- were met. (PostgreSQL's migration of this version queues an event's email as recipient
-- lists, one row per batch of recipients, `store/pg_lists.rs`; `copy-to-postgres` copies
-- SQLite's rows as rows.)
SELECT 1;
