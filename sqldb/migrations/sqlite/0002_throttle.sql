-- Throttle records (gatehouse.Throttle): attempts per key, shared by every
-- instance on this database. The key is a hash, never a username as typed.

CREATE TABLE throttles (
	throttle_key TEXT    NOT NULL PRIMARY KEY,
	window_count INTEGER NOT NULL,
	streak       INTEGER NOT NULL,
	window_end   INTEGER NOT NULL,
	forget_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX throttles_forget_at ON throttles (forget_at);
