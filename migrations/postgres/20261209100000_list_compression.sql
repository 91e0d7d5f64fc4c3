-- PostgreSQL: the recipient lists' arrays (`notification_lists`, `store/pg_lists.rs`) are
-- compressed with LZ4 where the server has it, instead of the default pglz.
--
-- A POST queueing a million recipients writes 4,000 lists, 53 MB of arrays; compressing them
-- with pglz took a fifth of the statement's time (`perf`: `pglz_compress` 20 % of the
-- backend's samples). With LZ4 the statement took 2.5 s where it took 3.45 s, and the lists
-- take 18 MB where they took 14 MB (BENCHMARKS.md, "The million's POST on PostgreSQL").
--
-- A server built without LZ4 (or before PostgreSQL 14, which has no per-column compression)
-- keeps pglz: the migration applies the same everywhere, and only changes how new values are
-- stored (values already written stay as they are, and both read the same).
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000
       AND EXISTS (SELECT 1 FROM pg_settings
                   WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        -- A string: an older server could not even parse the statement.
        EXECUTE 'ALTER TABLE notification_lists
            ALTER COLUMN customer_ids SET COMPRESSION lz4,
            ALTER COLUMN addresses SET COMPRESSION lz4,
            ALTER COLUMN names SET COMPRESSION lz4,
            ALTER COLUMN sent_at SET COMPRESSION lz4,
            ALTER COLUMN replies SET COMPRESSION lz4';
    END IF;
END
$$;
