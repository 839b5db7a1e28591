-- The refresh token moves onto its session (docs/PERFORMANCE.md, "Refresh:
-- one row"): a rotation is one conditional UPDATE of the session row by
-- primary key instead of a transaction over four rows in two tables.
--   refresh_hash  SHA-256 of the current token's session id, generation and
--                 secret (gatehouse.RefreshToken.Hash); NULL for sessions
--                 made before this migration, whose old tokens are refused.
--   refresh_gen   the current token's generation, 0 for the first.
--   refresh_key   32 random bytes per session: the HMAC key of the tokens'
--                 tags, which tell a replayed old token from a forged one.
-- No index on refresh_hash: every query finds the session by id first.
-- Outstanding tokens of the old format cannot be carried over (the table
-- holds only their hashes); their users log in again.
-- MySQL commits DDL on its own, so this may run again: DROP … IF EXISTS
-- first, then one ALTER, atomic in InnoDB, last (MySQL has no ADD COLUMN IF
-- NOT EXISTS; only a crash between the ALTER and the migration's record
-- would leave it to be recorded by hand).

DROP TABLE IF EXISTS refresh_tokens;

ALTER TABLE sessions
	ADD COLUMN refresh_hash BINARY(32) NULL,
	ADD COLUMN refresh_gen  BIGINT     NOT NULL DEFAULT 0,
	ADD COLUMN refresh_key  BINARY(32) NULL;
