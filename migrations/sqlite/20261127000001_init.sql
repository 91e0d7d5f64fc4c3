-- Herald schema, SQLite flavour. Times are microseconds since the Unix epoch (UTC); flags are 0/1.
CREATE TABLE services (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT,
    deleted_at  INTEGER
);
CREATE UNIQUE INDEX services_live_name ON services (lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT,
    cell_phone TEXT
);

CREATE TABLE customer_services (
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    service_id  INTEGER NOT NULL REFERENCES services (id),
    PRIMARY KEY (customer_id, service_id)
);
CREATE INDEX customer_services_by_service ON customer_services (service_id, customer_id);

CREATE TABLE operators (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    cell_phone    TEXT,
    is_admin      INTEGER NOT NULL,
    password_hash TEXT,
    deleted_at    INTEGER
);
CREATE UNIQUE INDEX operators_live_email ON operators (lower(email)) WHERE deleted_at IS NULL;

CREATE TABLE tickets (
    id                       INTEGER PRIMARY KEY,
    description              TEXT    NOT NULL,
    start_time               INTEGER,
    end_time                 INTEGER,
    expected_resolution_time INTEGER,
    next_update_time         INTEGER,
    closed_time              INTEGER,
    reopened_time            INTEGER,
    created_time             INTEGER NOT NULL,
    operator_id              INTEGER REFERENCES operators (id),
    is_closed                INTEGER NOT NULL,
    deleted_at               INTEGER
);
CREATE INDEX tickets_live_by_state ON tickets (is_closed, id) WHERE deleted_at IS NULL;

CREATE TABLE ticket_services (
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    service_id INTEGER NOT NULL REFERENCES services (id),
    PRIMARY KEY (ticket_id, service_id)
);
CREATE INDEX ticket_services_by_service ON ticket_services (service_id, ticket_id);

-- Every lifecycle event of a ticket, written in the transaction of the change itself.
CREATE TABLE ticket_events (
    id                INTEGER PRIMARY KEY,
    ticket_id         INTEGER NOT NULL REFERENCES tickets (id),
    kind              TEXT    NOT NULL,
    at                INTEGER NOT NULL,
    actor_operator_id INTEGER REFERENCES operators (id),
    actor             TEXT    NOT NULL,
    notify            INTEGER NOT NULL,
    changes           TEXT    NOT NULL
);
CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, id);

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
