-- Customers imported from CSV: the upload is read into these tables a batch at a time (never
-- held in memory whole), previewed a page at a time, and applied in one transaction.

-- Matching an import's rows (and any look-up by address) by email, ignoring case; with the id,
-- so the oldest customer of an address is found in the index too.
CREATE INDEX customers_by_email ON customers (lower(email), id);

-- One upload. state: reading, ready, failed (error says why), applied.
CREATE TABLE customer_imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id INTEGER NOT NULL REFERENCES operators (id),
    file_name   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    rows_read   INTEGER NOT NULL,
    error       TEXT
);

-- One data row of the file (line: where it starts in the file). action: pending while read,
-- then create, update, unchanged or refused (reason says why); customer_id: the customer
-- matched by email (or created).
CREATE TABLE customer_import_rows (
    import_id   INTEGER NOT NULL REFERENCES customer_imports (id) ON DELETE CASCADE,
    line        INTEGER NOT NULL,
    name        TEXT,
    email       TEXT,
    email_key   TEXT,
    cell_phone  TEXT,
    services    TEXT,
    action      TEXT    NOT NULL,
    reason      TEXT,
    customer_id INTEGER,
    PRIMARY KEY (import_id, line)
);
CREATE INDEX customer_import_rows_by_email ON customer_import_rows (import_id, email_key, line);

-- The services a row names, by id.
CREATE TABLE customer_import_services (
    import_id  INTEGER NOT NULL REFERENCES customer_imports (id) ON DELETE CASCADE,
    line       INTEGER NOT NULL,
    service_id INTEGER NOT NULL,
    PRIMARY KEY (import_id, line, service_id)
);
