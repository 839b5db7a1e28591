-- Throttle records (gatehouse.Throttle): attempts per key, shared by every
-- instance on this database. The key is a hash, never a username as typed.

CREATE TABLE throttles (
	throttle_key VARCHAR(128) NOT NULL PRIMARY KEY,
	window_count INTEGER      NOT NULL,
	streak       INTEGER      NOT NULL,
	window_end   BIGINT       NOT NULL,
	forget_at    BIGINT       NOT NULL
);

CREATE INDEX throttles_forget_at ON throttles (forget_at);
