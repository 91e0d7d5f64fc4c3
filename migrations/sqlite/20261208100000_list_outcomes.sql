-- Nothing on SQLite: it has no recipient lists (PostgreSQL's migration of this version keeps
-- a list's sent recipients in the list, `store/pg_lists.rs`).
SELECT 1;
