-- PostgreSQL stripes the status page's change counter over 64 rows (its concurrent writers
-- would otherwise queue on one). SQLite has one writer at a time: its one row stays.
SELECT 1;
