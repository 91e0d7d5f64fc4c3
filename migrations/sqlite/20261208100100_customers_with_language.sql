-- The customers who chose a language for their messages: few, usually. The delivery asks for
-- the languages of every batch's recipients (`Store::customer_languages`); with
-- the customers' own index it looked up and read every recipient's row to find none
-- (PostgreSQL, 250 recipients of a million customers: 1.0 ms a batch, 2.5 µs a message of a
-- fan-out), with this one it reads the few (0.07 ms).
CREATE INDEX customers_with_language ON customers (id) WHERE language IS NOT NULL;
