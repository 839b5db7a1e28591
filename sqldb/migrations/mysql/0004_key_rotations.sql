-- One row per signing key made by rotation, keyed by the key it succeeds
-- ('' for the very first key). The primary key lets exactly one key succeed
-- another, so that instances rotating at the same moment agree on one key.
-- IF NOT EXISTS: MySQL commits DDL on its own, so this may run again.

CREATE TABLE IF NOT EXISTS key_rotations (
	predecessor VARBINARY(64) NOT NULL PRIMARY KEY,
	key_id      VARBINARY(64) NOT NULL,
	created_at  BIGINT        NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
