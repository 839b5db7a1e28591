-- The initial schema. Times are INTEGER unix microseconds, UTC.
-- STRICT tables so that a wrong type is an error, not a silent conversion.

CREATE TABLE users (
	id            TEXT    NOT NULL PRIMARY KEY,
	username      TEXT    NOT NULL,
	username_key  TEXT    NOT NULL UNIQUE, -- lower-case username: uniqueness without regard to case
	password_hash TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id           TEXT    NOT NULL PRIMARY KEY,
	user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER,
	user_agent   TEXT    NOT NULL DEFAULT '',
	ip           TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at);

CREATE TABLE refresh_tokens (
	hash       BLOB    NOT NULL PRIMARY KEY, -- SHA-256 of the token; the token itself is never stored
	session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	rotated_at INTEGER
) STRICT;

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- AUTOINCREMENT: a seq is never reused, even after the newest rows are
-- deleted, so that a reader's cursor never skips a revocation.
CREATE TABLE revocations (
	seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	session_id TEXT    NOT NULL,
	revoked_at INTEGER NOT NULL,
	until      INTEGER NOT NULL
) STRICT;

CREATE INDEX revocations_revoked_at ON revocations (revoked_at);

CREATE TABLE signing_keys (
	id          TEXT    NOT NULL PRIMARY KEY,
	algorithm   TEXT    NOT NULL,
	private_key BLOB    NOT NULL,
	created_at  INTEGER NOT NULL,
	not_before  INTEGER NOT NULL,
	retire_at   INTEGER
) STRICT;
