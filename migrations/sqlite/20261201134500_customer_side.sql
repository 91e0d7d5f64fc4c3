-- The customer's side: personal links, opt-outs held by address, self-subscription.

-- The links to a customer's personal page (and the one-click unsubscribe) carry a random token;
-- only its SHA-256 is stored. Each message gets a token of its own (the worker issues it as it
-- sends, the plain token exists only in that message), all valid until an operator issues the
-- customer a new link, which deletes them.
CREATE TABLE customer_tokens (
    token_sha256 TEXT    PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL
);
CREATE INDEX customer_tokens_by_customer ON customer_tokens (customer_id);

-- An opt-out belongs to an address, not to a customer's services: a PUT of the customer with all
-- its services does not undo it. channel: 'email' (address lower-cased); 'sms' later.
-- Lifted by an operator: lifted_at and lifted_by say when and who; the opt-out no longer counts.
CREATE TABLE opt_outs (
    channel      TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    opted_out_at INTEGER NOT NULL,
    lifted_at    INTEGER,
    lifted_by    TEXT,
    PRIMARY KEY (channel, address)
);

-- Self-subscription: a request waits for the click on the emailed link (only its SHA-256 kept).
CREATE TABLE subscription_requests (
    token_sha256 TEXT    PRIMARY KEY,
    email        TEXT    NOT NULL,
    services     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX subscription_requests_by_expiry ON subscription_requests (expires_at);

-- Requests counted per subject ('address:<email>' or 'client:<ip>') in a fixed window.
CREATE TABLE subscription_throttle (
    subject      TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    requests     INTEGER NOT NULL
);
