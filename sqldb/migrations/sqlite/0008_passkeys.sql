-- Passkeys (WebAuthn credentials) and the WebAuthn ceremonies in progress.
-- A ceremony is kept here, not in memory, so that any instance can finish
-- what another began; it is keyed by the SHA-256 of its challenge.

CREATE TABLE passkeys (
	id                 TEXT    NOT NULL PRIMARY KEY,
	user_id            TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	credential_id      BLOB    NOT NULL UNIQUE,
	public_key         BLOB    NOT NULL,
	sign_count         INTEGER NOT NULL,
	transports         TEXT    NOT NULL DEFAULT '',
	aaguid             BLOB    NOT NULL,
	flags              INTEGER NOT NULL,
	attestation_format TEXT    NOT NULL DEFAULT '',
	name               TEXT    NOT NULL,
	created_at         INTEGER NOT NULL,
	last_used_at       INTEGER
) STRICT;

CREATE INDEX passkeys_user_id ON passkeys (user_id);

CREATE TABLE webauthn_ceremonies (
	challenge_hash BLOB    NOT NULL PRIMARY KEY,
	user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind           TEXT    NOT NULL,
	binding        TEXT    NOT NULL,
	data           BLOB    NOT NULL,
	expires_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX webauthn_ceremonies_expires_at ON webauthn_ceremonies (expires_at);
CREATE INDEX webauthn_ceremonies_user_id ON webauthn_ceremonies (user_id);
