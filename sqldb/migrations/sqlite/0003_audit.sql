-- The audit trail, and the lock on users (issue 8).
-- Audit rows have no foreign key: the trail outlives a deleted user.

CREATE TABLE audit_events (
	id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	at         INTEGER NOT NULL,
	type       TEXT    NOT NULL,
	user_id    TEXT    NOT NULL DEFAULT '',
	username   TEXT    NOT NULL DEFAULT '',
	session_id TEXT    NOT NULL DEFAULT '',
	ip         TEXT    NOT NULL DEFAULT '',
	user_agent TEXT    NOT NULL DEFAULT '',
	reason     TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, id);

ALTER TABLE users ADD COLUMN locked_at INTEGER;
