-- The personal link tokens are written by the delivery workers, one row per message, joined with
-- customers in the same statement (a customer deleted before it is skipped). PostgreSQL checked
-- the foreign key to customers row by row with a trigger that also locked the customer's row
-- (a WAL record per message): a quarter of the statement's time in a fan-out. Deleting a customer
-- deletes its tokens itself (store/customers.rs), as the cascade did. A token written by a
-- statement that raced a customer's deletion leads nowhere: customer ids are never reused, and
-- the link finds no customer (the page for a link that is no longer valid).
ALTER TABLE customer_tokens DROP CONSTRAINT customer_tokens_customer_id_fkey;
