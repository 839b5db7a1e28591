-- The audit trail, and the lock on users (issue 8).
-- Audit rows have no foreign key: the trail outlives a deleted user.
-- MySQL commits each DDL statement on its own: the CREATE may run again
-- after a failure half-way, and the ALTER comes last, so that a failure
-- before it leaves nothing to undo. (MySQL 8 has no ADD COLUMN IF NOT
-- EXISTS; a crash between the ALTER and the migration's record needs the
-- record inserted by hand.)

CREATE TABLE IF NOT EXISTS audit_events (
	id         BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
	at         BIGINT        NOT NULL,
	type       VARCHAR(32)   NOT NULL,
	user_id    VARBINARY(64) NOT NULL DEFAULT '',
	username   VARCHAR(64)   NOT NULL DEFAULT '',
	session_id VARBINARY(64) NOT NULL DEFAULT '',
	ip         VARCHAR(64)   NOT NULL DEFAULT '',
	user_agent VARCHAR(512)  NOT NULL DEFAULT '',
	reason     VARCHAR(64)   NOT NULL DEFAULT '',
	KEY audit_events_at (at),
	KEY audit_events_user (user_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE users ADD COLUMN locked_at BIGINT NULL;
