-- Operator GUI: sessions (in the database, so every instance serves every session) and the
-- failed sign-in counters that slow down password guessing.

-- One row per signed-in browser. The cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE gui_sessions (
    token_sha256 TEXT    PRIMARY KEY,
    operator_id  INTEGER NOT NULL REFERENCES operators (id),
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    seen_at      INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX gui_sessions_by_operator ON gui_sessions (operator_id);
CREATE INDEX gui_sessions_by_expiry ON gui_sessions (expires_at);

-- Failed sign-ins per subject: 'account:<email>' or 'address:<ip>'.
CREATE TABLE login_failures (
    subject    TEXT    PRIMARY KEY,
    failures   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL
);
