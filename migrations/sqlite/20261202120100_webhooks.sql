-- Webhooks: each event POSTed to a URL (see src/notify/webhook). services: the ones it covers;
-- none: every service. deactivated_at/deactivated_reason: why Herald turned it off (a 410, or
-- failing for the whole retry window); cleared when it is turned on again.
CREATE TABLE webhooks (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    url                TEXT    NOT NULL,
    format             TEXT    NOT NULL,
    secret             TEXT    NOT NULL,
    is_active          INTEGER NOT NULL,
    deactivated_at     INTEGER,
    deactivated_reason TEXT
);
CREATE TABLE webhook_services (
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    service_id INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, service_id)
);
-- A webhook's messages, to cancel them when it is deleted or turned off.
CREATE INDEX notifications_by_webhook ON notifications (webhook_id) WHERE webhook_id IS NOT NULL;
