-- The audit trail, and the lock on users (issue 8).
-- Audit rows have no foreign key: the trail outlives a deleted user.

CREATE TABLE audit_events (
	id         BIGINT       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at         BIGINT       NOT NULL,
	type       VARCHAR(32)  NOT NULL,
	user_id    VARCHAR(64)  NOT NULL DEFAULT '',
	username   VARCHAR(64)  NOT NULL DEFAULT '',
	session_id VARCHAR(64)  NOT NULL DEFAULT '',
	ip         VARCHAR(64)  NOT NULL DEFAULT '',
	user_agent VARCHAR(512) NOT NULL DEFAULT '',
	reason     VARCHAR(64)  NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, id);

ALTER TABLE users ADD COLUMN locked_at BIGINT;
