-- Throttle records (gatehouse.Throttle): attempts per key, shared by every
-- instance on this database. The key is a hash, never a username as typed.
-- Safe to run again after a failure half-way (see 0001).

CREATE TABLE IF NOT EXISTS throttles (
	throttle_key VARBINARY(128) NOT NULL PRIMARY KEY,
	window_count INT            NOT NULL,
	streak       INT            NOT NULL,
	window_end   BIGINT         NOT NULL,
	forget_at    BIGINT         NOT NULL,
	KEY throttles_forget_at (forget_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
