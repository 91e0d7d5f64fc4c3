-- Which segment of its text each part is (1-based, of `segments`), so a retry after a temporary
-- refusal of a later segment submits only the segments the SMSC has not accepted. Rows written
-- before this migration have none (their texts are finished).
ALTER TABLE sms_parts ADD COLUMN segment INTEGER;
ALTER TABLE sms_parts ADD COLUMN segments INTEGER;
