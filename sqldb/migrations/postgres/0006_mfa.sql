-- Second factors: a TOTP secret per user, recovery codes (SHA-256 hashes
-- only) and the login challenges between a login's password step and its
-- second step (hashes only). sessions.amr keeps how the login
-- authenticated ("pwd", "pwd otp"), so that refreshed tokens carry it.

ALTER TABLE sessions ADD COLUMN amr VARCHAR(64) NOT NULL DEFAULT '';

CREATE TABLE mfa_totp (
	user_id      VARCHAR(64) NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret       BYTEA       NOT NULL,
	created_at   BIGINT      NOT NULL,
	confirmed_at BIGINT,
	last_step    BIGINT      NOT NULL
);

CREATE TABLE mfa_recovery_codes (
	user_id    VARCHAR(64) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash       BYTEA       NOT NULL CHECK (length(hash) = 32), -- SHA-256 of the code
	created_at BIGINT      NOT NULL,
	PRIMARY KEY (user_id, hash)
);

CREATE TABLE login_challenges (
	hash       BYTEA        NOT NULL PRIMARY KEY CHECK (length(hash) = 32), -- SHA-256 of the challenge
	user_id    VARCHAR(64)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at BIGINT       NOT NULL,
	expires_at BIGINT       NOT NULL,
	attempts   INTEGER      NOT NULL,
	user_agent VARCHAR(512) NOT NULL DEFAULT '',
	ip         VARCHAR(64)  NOT NULL DEFAULT ''
);

CREATE INDEX login_challenges_expires_at ON login_challenges (expires_at);
CREATE INDEX login_challenges_user_id ON login_challenges (user_id);
