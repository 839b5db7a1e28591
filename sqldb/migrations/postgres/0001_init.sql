-- The initial schema. Times are BIGINT unix microseconds, UTC.

CREATE TABLE users (
	id            VARCHAR(64)  NOT NULL PRIMARY KEY,
	username      VARCHAR(64)  NOT NULL,
	username_key  VARCHAR(64)  NOT NULL UNIQUE, -- lower-case username: uniqueness without regard to case
	password_hash VARCHAR(255) NOT NULL,
	created_at    BIGINT       NOT NULL,
	updated_at    BIGINT       NOT NULL
);

CREATE TABLE sessions (
	id           VARCHAR(64)  NOT NULL PRIMARY KEY,
	user_id      VARCHAR(64)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   BIGINT       NOT NULL,
	last_used_at BIGINT       NOT NULL,
	expires_at   BIGINT       NOT NULL,
	revoked_at   BIGINT,
	user_agent   VARCHAR(512) NOT NULL DEFAULT '',
	ip           VARCHAR(64)  NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at);

CREATE TABLE refresh_tokens (
	hash       BYTEA       NOT NULL PRIMARY KEY CHECK (length(hash) = 32), -- SHA-256 of the token
	session_id VARCHAR(64) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	created_at BIGINT      NOT NULL,
	expires_at BIGINT      NOT NULL,
	rotated_at BIGINT
);

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE revocations (
	seq        BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	session_id VARCHAR(64) NOT NULL,
	revoked_at BIGINT      NOT NULL,
	until      BIGINT      NOT NULL
);

CREATE INDEX revocations_revoked_at ON revocations (revoked_at);

CREATE TABLE signing_keys (
	id          VARCHAR(64) NOT NULL PRIMARY KEY,
	algorithm   VARCHAR(32) NOT NULL,
	private_key BYTEA       NOT NULL,
	created_at  BIGINT      NOT NULL,
	not_before  BIGINT      NOT NULL,
	retire_at   BIGINT
);
