-- One row that /readyz rewrites after a write failed for want of space, to learn whether
-- writes work again. Its name starts with '_' so that copy-to-postgres leaves it out.
CREATE TABLE _write_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    written_at INTEGER NOT NULL
);
