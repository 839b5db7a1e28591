-- The initial schema. Times are BIGINT unix microseconds, UTC.
-- MySQL commits each DDL statement on its own, so every statement here may be
-- run again after a failure half-way: IF NOT EXISTS, indexes declared inline.
-- Keys (ids, username_key) are VARBINARY: compared byte for byte, so that
-- neither a collation's case folding nor its PAD SPACE ('bob' = 'bob ' in
-- MariaDB's utf8mb4_bin) can make two different keys equal; case is folded
-- by gatehouse into username_key. Text shown to people is utf8mb4.

CREATE TABLE IF NOT EXISTS users (
	id            VARBINARY(64) NOT NULL PRIMARY KEY,
	username      VARCHAR(64)   NOT NULL,
	username_key  VARBINARY(64) NOT NULL, -- lower-case username: uniqueness without regard to case
	password_hash VARCHAR(255)  NOT NULL,
	created_at    BIGINT        NOT NULL,
	updated_at    BIGINT        NOT NULL,
	UNIQUE KEY users_username_key (username_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS sessions (
	id           VARBINARY(64) NOT NULL PRIMARY KEY,
	user_id      VARBINARY(64) NOT NULL,
	created_at   BIGINT        NOT NULL,
	last_used_at BIGINT        NOT NULL,
	expires_at   BIGINT        NOT NULL,
	revoked_at   BIGINT        NULL,
	user_agent   VARCHAR(512)  NOT NULL DEFAULT '',
	ip           VARCHAR(64)   NOT NULL DEFAULT '',
	KEY sessions_user_id (user_id),
	KEY sessions_expires_at (expires_at),
	KEY sessions_revoked_at (revoked_at),
	CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS refresh_tokens (
	hash       BINARY(32)    NOT NULL PRIMARY KEY, -- SHA-256 of the token
	session_id VARBINARY(64) NOT NULL,
	created_at BIGINT        NOT NULL,
	expires_at BIGINT        NOT NULL,
	rotated_at BIGINT        NULL,
	KEY refresh_tokens_session_id (session_id),
	KEY refresh_tokens_expires_at (expires_at),
	CONSTRAINT refresh_tokens_session_fk FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- InnoDB keeps the AUTO_INCREMENT counter across restarts (MariaDB 10.2.4+,
-- MySQL 8.0+), so a seq is never reused and a reader's cursor never skips.
CREATE TABLE IF NOT EXISTS revocations (
	seq        BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
	session_id VARBINARY(64) NOT NULL,
	revoked_at BIGINT        NOT NULL,
	until      BIGINT        NOT NULL,
	KEY revocations_revoked_at (revoked_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS signing_keys (
	id          VARBINARY(64) NOT NULL PRIMARY KEY,
	algorithm   VARCHAR(32)   NOT NULL,
	private_key BLOB          NOT NULL,
	created_at  BIGINT        NOT NULL,
	not_before  BIGINT        NOT NULL,
	retire_at   BIGINT        NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
