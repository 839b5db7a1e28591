-- Passkeys (WebAuthn credentials) and the WebAuthn ceremonies in progress.
-- A ceremony is kept here, not in memory, so that any instance can finish
-- what another began; it is keyed by the SHA-256 of its challenge.

CREATE TABLE passkeys (
	id                 VARCHAR(64)  NOT NULL PRIMARY KEY,
	user_id            VARCHAR(64)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	credential_id      BYTEA        NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1023),
	public_key         BYTEA        NOT NULL,
	sign_count         BIGINT       NOT NULL,
	transports         VARCHAR(255) NOT NULL DEFAULT '',
	aaguid             BYTEA        NOT NULL,
	flags              INTEGER      NOT NULL,
	attestation_format VARCHAR(32)  NOT NULL DEFAULT '',
	name               VARCHAR(64)  NOT NULL,
	created_at         BIGINT       NOT NULL,
	last_used_at       BIGINT
);

CREATE INDEX passkeys_user_id ON passkeys (user_id);

CREATE TABLE webauthn_ceremonies (
	challenge_hash BYTEA        NOT NULL PRIMARY KEY CHECK (length(challenge_hash) = 32),
	user_id        VARCHAR(64)  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind           VARCHAR(16)  NOT NULL,
	binding        VARCHAR(128) NOT NULL,
	data           BYTEA        NOT NULL,
	expires_at     BIGINT       NOT NULL
);

CREATE INDEX webauthn_ceremonies_expires_at ON webauthn_ceremonies (expires_at);
CREATE INDEX webauthn_ceremonies_user_id ON webauthn_ceremonies (user_id);
