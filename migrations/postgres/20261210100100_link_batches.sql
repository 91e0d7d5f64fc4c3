-- The personal links of a batch of messages, kept together (store/personal.rs): `entries` is
-- each message's customer id (8 bytes, big-endian) and its token's SHA-256 (32 bytes), in the
-- order of the entries' indexes, found by the token's place (`domain::LinkToken::place`). One
-- row per batch instead of one row and two index entries per message: a fan-out's links were
-- the largest write of its delivery (BENCHMARKS.md, thirteenth pass). The digests do not
-- compress: stored out of line as they are (`EXTERNAL`), so an entry is read by `substr`
-- without the whole value.
CREATE TABLE link_batches (
    id        BIGINT PRIMARY KEY,
    issued_at BIGINT NOT NULL,
    entries   BYTEA  NOT NULL
);
ALTER TABLE link_batches ALTER COLUMN entries SET STORAGE EXTERNAL;

-- An operator's "issue a new link": every link issued to the customer until `revoked_at` leads
-- nowhere (the tokens kept on their own are deleted as well).
CREATE TABLE link_revocations (
    customer_id BIGINT PRIMARY KEY,
    revoked_at  BIGINT NOT NULL
);
