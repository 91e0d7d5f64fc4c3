-- secret_replaced: the webhook's secret was replaced after its creation (a PUT with a Secret, or
-- the GUI's new secret), so a replay of the create (Idempotency-Key) no longer shows a secret.
ALTER TABLE webhooks ADD COLUMN secret_replaced BIGINT NOT NULL DEFAULT 0;
