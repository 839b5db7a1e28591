-- Email addresses, single-use link tokens and the mail outbox (issue 10).
-- email is the verified address, email_key its lower-case form: NULL
-- unless verified, so the unique index makes a verified address belong
-- to one user at most (NULLs never clash) while any number of accounts
-- may wait to verify the same one. pending_email awaits verification.

ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_key TEXT;
ALTER TABLE users ADD COLUMN pending_email TEXT;
CREATE UNIQUE INDEX users_email_key ON users (email_key);

-- Tokens are kept only as SHA-256 hashes; using one deletes it.
CREATE TABLE email_tokens (
	hash       BLOB    NOT NULL PRIMARY KEY,
	purpose    TEXT    NOT NULL,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	email      TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX email_tokens_user_id ON email_tokens (user_id);
CREATE INDEX email_tokens_expires_at ON email_tokens (expires_at);

-- The outbox: a sender claims a row by moving claimed_until past now, so
-- that instances sharing the database never send one message twice. The
-- body is blanked once the message is sent or given up.
CREATE TABLE mail_outbox (
	id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	recipient       TEXT    NOT NULL,
	subject         TEXT    NOT NULL,
	body_text       TEXT    NOT NULL,
	body_html       TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	claimed_until   INTEGER NOT NULL DEFAULT 0,
	sent_at         INTEGER,
	failed_at       INTEGER,
	last_error      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX mail_outbox_next_attempt_at ON mail_outbox (next_attempt_at);
CREATE INDEX mail_outbox_created_at ON mail_outbox (created_at);
