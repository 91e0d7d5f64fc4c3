-- The columns and table of PostgreSQL's migration of this version, unused on SQLite: there a
-- claim is a heap-only update (its lease in lease_until, outside every index) and renewals
-- are rows of notification_leases; SQLite keeps the lease in next_attempt_at, written by the
-- outbox's one connection. Both schemas stay the same, so `herald copy` moves either way.
ALTER TABLE notifications ADD COLUMN lease_until INTEGER;
CREATE TABLE notification_leases (
    claim INTEGER PRIMARY KEY,
    until INTEGER NOT NULL
);
