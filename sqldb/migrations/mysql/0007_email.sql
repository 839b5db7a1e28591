-- Email addresses, single-use link tokens and the mail outbox (issue 10).
-- email is the verified address, email_key its lower-case form: NULL
-- unless verified, so the unique key makes a verified address belong to
-- one user at most (InnoDB lets NULLs repeat in a unique key) while any
-- number of accounts may wait to verify the same one. pending_email awaits
-- verification. MySQL commits each DDL statement on its own: the CREATEs
-- may run again after a failure half-way, and the one ALTER comes last
-- (see 0003 for a crash between it and the migration's record).

-- Tokens are kept only as SHA-256 hashes; using one deletes it.
CREATE TABLE IF NOT EXISTS email_tokens (
	hash       BINARY(32)    NOT NULL PRIMARY KEY,
	purpose    VARCHAR(16)   NOT NULL,
	user_id    VARBINARY(64) NOT NULL,
	email      VARCHAR(254)  NOT NULL DEFAULT '',
	created_at BIGINT        NOT NULL,
	expires_at BIGINT        NOT NULL,
	KEY email_tokens_user_id (user_id),
	KEY email_tokens_expires_at (expires_at),
	CONSTRAINT email_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The outbox: a sender claims a row by moving claimed_until past now, so
-- that instances sharing the database never send one message twice. The
-- body is blanked once the message is sent or given up.
CREATE TABLE IF NOT EXISTS mail_outbox (
	id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
	recipient       VARCHAR(254) NOT NULL,
	subject         VARCHAR(255) NOT NULL,
	body_text       MEDIUMTEXT   NOT NULL,
	body_html       MEDIUMTEXT   NOT NULL,
	created_at      BIGINT       NOT NULL,
	attempts        INT          NOT NULL DEFAULT 0,
	next_attempt_at BIGINT       NOT NULL,
	claimed_until   BIGINT       NOT NULL DEFAULT 0,
	sent_at         BIGINT       NULL,
	failed_at       BIGINT       NULL,
	last_error      VARCHAR(512) NOT NULL DEFAULT '',
	KEY mail_outbox_next_attempt_at (next_attempt_at),
	KEY mail_outbox_created_at (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE users
	ADD COLUMN email VARCHAR(254) NULL,
	ADD COLUMN email_key VARBINARY(254) NULL,
	ADD COLUMN pending_email VARCHAR(254) NULL,
	ADD UNIQUE KEY users_email_key (email_key);
