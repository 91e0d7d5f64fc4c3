-- Each customer's CellPhone normalised to E.164, so that the SMS fan-out is one INSERT … SELECT
-- (store/sms.rs). `sms_number_from` is the CellPhone it was normalised from and
-- `sms_number_country` the default country it depended on ('' when it was written with its
-- country code, '-' when none was set): the stored number holds only while both still match;
-- otherwise the fan-out normalises that customer's number itself. `sms_number` is NULL when the
-- number cannot be normalised.
ALTER TABLE customers ADD COLUMN sms_number TEXT;
ALTER TABLE customers ADD COLUMN sms_number_from TEXT;
ALTER TABLE customers ADD COLUMN sms_number_country TEXT;
-- The customers whose CellPhone changed since it was normalised (or never was).
CREATE INDEX customers_sms_stale ON customers (id)
  WHERE cell_phone <> '' AND sms_number_from IS NOT cell_phone;
