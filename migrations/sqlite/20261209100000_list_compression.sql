-- Nothing on SQLite: it has no recipient lists (PostgreSQL's migration of this version
-- compresses their arrays with LZ4).
SELECT 1;
