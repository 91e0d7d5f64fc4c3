-- The audit log: every change made through the API, the GUI or the command line. Times are
-- ticks (100 ns since the Unix epoch); old_values and new_values are JSON objects of the changed
-- properties (never a secret). Pruned by age (audit_retention), hence the index on at.
CREATE TABLE audit_log (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                BIGINT NOT NULL,
    entity            TEXT   NOT NULL,
    entity_id         BIGINT,
    action            TEXT   NOT NULL,
    actor             TEXT   NOT NULL,
    actor_operator_id BIGINT,
    client_address    TEXT,
    old_values        TEXT,
    new_values        TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_actor ON audit_log (lower(actor), id);
