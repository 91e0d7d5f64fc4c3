-- The notification outbox, SQLite flavour. Rows are written in the transaction of the ticket
-- change that causes them, and delivered by the workers of `herald serve`.

-- What the messages of one event say: the ticket as it was at the event (JSON), so a message
-- delivered late still describes its own event.
CREATE TABLE notification_events (
    event_id  INTEGER PRIMARY KEY REFERENCES ticket_events (id),
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    content   TEXT    NOT NULL
);

-- One row per recipient (distinct address, ignoring case) per event.
-- state: queued | retrying | sent | failed | cancelled.
-- While queued or retrying, next_attempt_at is when the row is due; a worker claims a row by
-- writing its instance id to claimed_by and pushing next_attempt_at to the end of its lease, so
-- the claim of a crashed worker expires by itself.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    event_id        INTEGER NOT NULL REFERENCES notification_events (event_id),
    ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
    customer_id     INTEGER,
    email           TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    queued_at       INTEGER NOT NULL,
    next_attempt_at INTEGER,
    claimed_by      INTEGER,
    last_attempt_at INTEGER,
    sent_at         INTEGER,
    reply           TEXT
);
-- The queue: only rows still to deliver, in the order they are due. (No index on state alone:
-- SQLite's planner would prefer it to this one and sort the whole queue on every claim.)
CREATE INDEX notifications_due ON notifications (next_attempt_at, id)
    WHERE state IN ('queued', 'retrying');
CREATE INDEX notifications_claimed ON notifications (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX notifications_by_ticket ON notifications (ticket_id, id);
