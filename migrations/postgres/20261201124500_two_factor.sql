-- Two-factor sign-in (TOTP, RFC 6238).

-- One row per operator who started or finished enrolment. The secret must be readable to check
-- codes, so it is stored as it is (base32); confirmed is 0 until a first code proved the app has
-- it. last_step is the newest 30-second step whose code was accepted: no code is accepted twice.
CREATE TABLE operator_totp (
    operator_id BIGINT PRIMARY KEY REFERENCES operators (id),
    secret      TEXT    NOT NULL,
    confirmed   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    last_step   BIGINT NOT NULL
);

-- Recovery codes: only their SHA-256 (each is 50 random bits, shown once); a used one is deleted.
CREATE TABLE operator_recovery_codes (
    operator_id BIGINT NOT NULL REFERENCES operators (id),
    code_sha256 TEXT    NOT NULL,
    PRIMARY KEY (operator_id, code_sha256)
);

-- A sign-in between its password step and its code (or enrolment) step. The browser holds a
-- random token; only its SHA-256 is stored. password_ok is 0 for a wrong password on an account
-- with two-factor sign-in: the code step is shown all the same and fails, so it tells a guesser
-- nothing about the password.
CREATE TABLE login_challenges (
    token_sha256 TEXT    PRIMARY KEY,
    operator_id  BIGINT NOT NULL REFERENCES operators (id),
    email        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    password_ok  BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX login_challenges_by_expiry ON login_challenges (expires_at);
