-- The answers to POSTs that carried an Idempotency-Key, kept 24 hours so a retry gets the same
-- answer. A row is claimed (status NULL) before the request's work and completed after it.
-- scope is the SHA-256 of the API key the request used; the key itself is never stored.
CREATE TABLE idempotency_keys (
    scope          TEXT NOT NULL,
    idem_key       TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    status         INTEGER,
    content_type   TEXT,
    location       TEXT,
    etag           TEXT,
    body           TEXT,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
