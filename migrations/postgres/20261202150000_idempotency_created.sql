-- A claim's own token (a takeover of an abandoned claim gives it a new one), and the entity
-- its request created, written in the create's own transaction: a retry finds the entity even
-- when the instance died before it kept the answer.
ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT;
ALTER TABLE idempotency_keys ADD COLUMN created_id BIGINT;
