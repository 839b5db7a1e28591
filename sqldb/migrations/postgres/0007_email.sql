-- Email addresses, single-use link tokens and the mail outbox (issue 10).
-- email is the verified address, email_key its lower-case form: NULL
-- unless verified, so the unique index makes a verified address belong
-- to one user at most (NULLs are distinct) while any number of accounts
-- may wait to verify the same one. pending_email awaits verification.

ALTER TABLE users ADD COLUMN email VARCHAR(254);
ALTER TABLE users ADD COLUMN email_key VARCHAR(254);
ALTER TABLE users ADD COLUMN pending_email VARCHAR(254);
CREATE UNIQUE INDEX users_email_key ON users (email_key);

-- Tokens are kept only as SHA-256 hashes; using one deletes it.
CREATE TABLE email_tokens (
	hash       BYTEA        NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
	purpose    VARCHAR(16)  NOT NULL,
	user_id    VARCHAR(64)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	email      VARCHAR(254) NOT NULL DEFAULT '',
	created_at BIGINT       NOT NULL,
	expires_at BIGINT       NOT NULL
);

CREATE INDEX email_tokens_user_id ON email_tokens (user_id);
CREATE INDEX email_tokens_expires_at ON email_tokens (expires_at);

-- The outbox: a sender claims a row by moving claimed_until past now, so
-- that instances sharing the database never send one message twice. The
-- body is blanked once the message is sent or given up.
CREATE TABLE mail_outbox (
	id              BIGINT       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	recipient       VARCHAR(254) NOT NULL,
	subject         VARCHAR(255) NOT NULL,
	body_text       TEXT         NOT NULL,
	body_html       TEXT         NOT NULL,
	created_at      BIGINT       NOT NULL,
	attempts        INTEGER      NOT NULL DEFAULT 0,
	next_attempt_at BIGINT       NOT NULL,
	claimed_until   BIGINT       NOT NULL DEFAULT 0,
	sent_at         BIGINT,
	failed_at       BIGINT,
	last_error      VARCHAR(512) NOT NULL DEFAULT ''
);

CREATE INDEX mail_outbox_next_attempt_at ON mail_outbox (next_attempt_at);
CREATE INDEX mail_outbox_created_at ON mail_outbox (created_at);
