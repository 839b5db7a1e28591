-- Second factors: a TOTP secret per user, recovery codes (SHA-256 hashes
-- only) and the login challenges between a login's password step and its
-- second step (hashes only). sessions.amr keeps how the login
-- authenticated ("pwd", "pwd otp"), so that refreshed tokens carry it.

ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';

CREATE TABLE mfa_totp (
	user_id      TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret       BLOB    NOT NULL,
	created_at   INTEGER NOT NULL,
	confirmed_at INTEGER,
	last_step    INTEGER NOT NULL
) STRICT;

CREATE TABLE mfa_recovery_codes (
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash       BLOB    NOT NULL, -- SHA-256 of the code
	created_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, hash)
) STRICT;

CREATE TABLE login_challenges (
	hash       BLOB    NOT NULL PRIMARY KEY, -- SHA-256 of the challenge
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	attempts   INTEGER NOT NULL,
	user_agent TEXT    NOT NULL DEFAULT '',
	ip         TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX login_challenges_expires_at ON login_challenges (expires_at);
CREATE INDEX login_challenges_user_id ON login_challenges (user_id);
