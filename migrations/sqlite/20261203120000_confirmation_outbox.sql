-- The self-subscription's confirmation email goes through the outbox like every other message.
--
-- A subscription request gets an id of its own, and its links live apart (subscription_links,
-- only their SHA-256): the delivery worker issues the link as it sends (a retry sends a new one,
-- every link issued works until the request is used or expires), so no plain token is stored.
--
-- The outbox takes messages that belong to no ticket: event_id and ticket_id may be NULL, and
-- subscription_id names the request a confirmation email is for. SQLite cannot drop a NOT NULL,
-- so the table is rebuilt (every column and index it had, in the same order). Foreign keys
-- cannot be switched off inside the migration's transaction, so dropping the old table deletes
-- the rows of sms_parts (ON DELETE CASCADE): they are kept aside and put back, referring to the
-- new table by name. A migration that adds a column or an index to notifications must be dated
-- after this one, or this rebuild drops it.

CREATE TABLE subscription_requests_new (
    id           INTEGER PRIMARY KEY,
    token_sha256 TEXT,
    email      TEXT    NOT NULL,
    services   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
INSERT INTO subscription_requests_new (id, token_sha256, email, services, created_at,
        expires_at, used_at)
    SELECT rowid, token_sha256, email, services, created_at, expires_at, used_at
    FROM subscription_requests;
DROP TABLE subscription_requests;
ALTER TABLE subscription_requests_new RENAME TO subscription_requests;
CREATE TABLE subscription_links (
    token_sha256 TEXT    PRIMARY KEY,
    request_id   INTEGER NOT NULL REFERENCES subscription_requests (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL
);
INSERT INTO subscription_links (token_sha256, request_id, created_at)
    SELECT token_sha256, id, created_at FROM subscription_requests;
ALTER TABLE subscription_requests DROP COLUMN token_sha256;
CREATE INDEX subscription_requests_by_expiry ON subscription_requests (expires_at);
CREATE INDEX subscription_links_by_request ON subscription_links (request_id);

CREATE TEMP TABLE sms_parts_kept AS SELECT * FROM sms_parts;
CREATE TABLE notifications_new (
    id              INTEGER PRIMARY KEY,
    event_id        INTEGER REFERENCES notification_events (event_id),
    ticket_id       INTEGER REFERENCES tickets (id),
    customer_id     INTEGER,
    address         TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    queued_at       INTEGER NOT NULL,
    next_attempt_at INTEGER,
    claimed_by      INTEGER,
    last_attempt_at INTEGER,
    sent_at         INTEGER,
    reply           TEXT,
    channel         TEXT    NOT NULL DEFAULT 'email',
    webhook_id      INTEGER,
    subscription_id INTEGER
);
INSERT INTO notifications_new (id, event_id, ticket_id, customer_id, address, name, state,
        attempts, queued_at, next_attempt_at, claimed_by, last_attempt_at, sent_at, reply,
        channel, webhook_id)
    SELECT id, event_id, ticket_id, customer_id, address, name, state, attempts, queued_at,
        next_attempt_at, claimed_by, last_attempt_at, sent_at, reply, channel, webhook_id
    FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_claimed ON notifications (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX notifications_by_ticket ON notifications (ticket_id, id);
CREATE INDEX notifications_due ON notifications (channel, next_attempt_at, id)
    WHERE state IN ('queued', 'retrying');
CREATE INDEX notifications_by_webhook ON notifications (webhook_id) WHERE webhook_id IS NOT NULL;
CREATE INDEX notifications_by_subscription ON notifications (subscription_id)
    WHERE subscription_id IS NOT NULL;
INSERT INTO sms_parts SELECT * FROM sms_parts_kept;
DROP TABLE sms_parts_kept;
