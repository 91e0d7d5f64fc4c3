-- One outbox for every channel: each message names its channel (email, sms, webhook) and its
-- address there (the email address, the number, or the webhook's URL). Existing rows are
-- emails; their address is the column that held it.
ALTER TABLE notifications RENAME COLUMN email TO address;
ALTER TABLE notifications ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
-- The webhook a webhook message goes to (NULL for the other channels).
ALTER TABLE notifications ADD COLUMN webhook_id INTEGER;
-- Each channel's workers claim their own queue, in the order it is due.
DROP INDEX notifications_due;
CREATE INDEX notifications_due ON notifications (channel, next_attempt_at, id)
    WHERE state IN ('queued', 'retrying');
