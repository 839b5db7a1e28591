-- Second factors: a TOTP secret per user, recovery codes (SHA-256 hashes
-- only) and the login challenges between a login's password step and its
-- second step (hashes only). sessions.amr keeps how the login
-- authenticated ("pwd", "pwd otp"), so that refreshed tokens carry it.
-- IF NOT EXISTS: MySQL commits DDL on its own, so this may run again.

ALTER TABLE sessions ADD COLUMN amr VARCHAR(64) NOT NULL DEFAULT '';

CREATE TABLE IF NOT EXISTS mfa_totp (
	user_id      VARBINARY(64)  NOT NULL PRIMARY KEY,
	secret       VARBINARY(64)  NOT NULL,
	created_at   BIGINT         NOT NULL,
	confirmed_at BIGINT         NULL,
	last_step    BIGINT         NOT NULL,
	CONSTRAINT mfa_totp_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS mfa_recovery_codes (
	user_id    VARBINARY(64) NOT NULL,
	hash       BINARY(32)    NOT NULL, -- SHA-256 of the code
	created_at BIGINT        NOT NULL,
	PRIMARY KEY (user_id, hash),
	CONSTRAINT mfa_recovery_codes_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS login_challenges (
	hash       BINARY(32)    NOT NULL PRIMARY KEY, -- SHA-256 of the challenge
	user_id    VARBINARY(64) NOT NULL,
	created_at BIGINT        NOT NULL,
	expires_at BIGINT        NOT NULL,
	attempts   INT           NOT NULL,
	user_agent VARCHAR(512)  NOT NULL DEFAULT '',
	ip         VARCHAR(64)   NOT NULL DEFAULT '',
	KEY login_challenges_expires_at (expires_at),
	KEY login_challenges_user_id (user_id),
	CONSTRAINT login_challenges_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
