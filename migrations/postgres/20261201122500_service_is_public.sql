-- Services gain the extension property IsPublic (1 = shown on the public status page and feeds).
ALTER TABLE services ADD COLUMN is_public BIGINT NOT NULL DEFAULT 1;
