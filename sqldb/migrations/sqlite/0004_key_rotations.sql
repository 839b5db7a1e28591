-- One row per signing key made by rotation, keyed by the key it succeeds
-- ('' for the very first key). The primary key lets exactly one key succeed
-- another, so that instances rotating at the same moment agree on one key.

CREATE TABLE key_rotations (
	predecessor TEXT    NOT NULL PRIMARY KEY,
	key_id      TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;
