-- Nothing to do on PostgreSQL: identity columns never reuse an id. (SQLite's migration of the
-- same version gives its customer ids the same rule.)
SELECT 1;
