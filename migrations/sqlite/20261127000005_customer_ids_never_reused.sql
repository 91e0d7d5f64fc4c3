-- Customers are deleted for real (not soft-deleted), and SQLite's plain INTEGER PRIMARY KEY hands
-- the id of a deleted newest row to the next insert. PostgreSQL's identity columns never reuse an
-- id, and neither did the original product: a client holding Customers/3 must not find someone
-- else there later. AUTOINCREMENT gives SQLite the same rule; it needs the table rebuilt.
-- Migrations run in a transaction, where foreign keys cannot be switched off, so dropping the old
-- table cascades to customer_services: its rows are kept aside and put back.
CREATE TEMPORARY TABLE customer_services_kept AS SELECT customer_id, service_id FROM customer_services;
CREATE TABLE customers_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    email      TEXT,
    cell_phone TEXT
);
INSERT INTO customers_new (id, name, email, cell_phone) SELECT id, name, email, cell_phone FROM customers;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
INSERT INTO customer_services (customer_id, service_id) SELECT customer_id, service_id FROM customer_services_kept;
DROP TABLE customer_services_kept;
