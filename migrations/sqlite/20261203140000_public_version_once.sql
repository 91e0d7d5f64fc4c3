-- Nothing on SQLite: the change counter's triggers bump one row in a database-wide write
-- transaction already (the PostgreSQL migration of this version bumps once per transaction).
SELECT 1;
