-- The SMSC's message id of every part of a text Herald submitted, so a delivery receipt finds
-- its message.
CREATE TABLE sms_parts (
    message_id TEXT PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE
);
CREATE INDEX sms_parts_notification ON sms_parts (notification_id);
