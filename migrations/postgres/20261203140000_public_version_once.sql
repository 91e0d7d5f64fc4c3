-- The status page's change counter bumped once per transaction, not once per statement: a
-- ticket's creation writes `tickets` and `ticket_services` (two statement triggers), and the
-- second UPDATE of the same stripe was a second row version for nothing. The transaction's
-- id, kept in a setting local to the transaction (rolled back with a savepoint, like the
-- UPDATE itself), says whether its stripe was bumped already. A reader still sees the bump
-- only once the change committed.
CREATE OR REPLACE FUNCTION public_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('herald.public_version_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE public_version SET version = version + 1 WHERE id = 1 + txid_current() % 64;
        PERFORM set_config('herald.public_version_bumped', txid_current()::text, true);
    END IF;
    RETURN NULL;
END $$;
