-- A customer's language (BCP 47 tag, canonical case; NULL: the default_language setting).
ALTER TABLE customers ADD COLUMN language TEXT;
