-- The personal links of a batch of messages, kept together (store/personal.rs): `entries` is
-- each message's customer id (8 bytes, big-endian) and its token's SHA-256 (32 bytes), in the
-- order of the entries' indexes, found by the token's place (`domain::LinkToken::place`). One
-- row per batch instead of one row and two index entries per message.
CREATE TABLE link_batches (
    id        INTEGER PRIMARY KEY,
    issued_at INTEGER NOT NULL,
    entries   BLOB    NOT NULL
);

-- An operator's "issue a new link": every link issued to the customer until `revoked_at` leads
-- nowhere (the tokens kept on their own are deleted as well).
CREATE TABLE link_revocations (
    customer_id INTEGER PRIMARY KEY,
    revoked_at  INTEGER NOT NULL
);
