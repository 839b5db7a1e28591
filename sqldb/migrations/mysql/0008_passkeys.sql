-- Passkeys (WebAuthn credentials) and the WebAuthn ceremonies in progress.
-- A ceremony is kept here, not in memory, so that any instance can finish
-- what another began; it is keyed by the SHA-256 of its challenge.
-- IF NOT EXISTS: MySQL commits DDL on its own, so this may run again.

CREATE TABLE IF NOT EXISTS passkeys (
	id                 VARBINARY(64)   NOT NULL PRIMARY KEY,
	user_id            VARBINARY(64)   NOT NULL,
	credential_id      VARBINARY(1023) NOT NULL,
	public_key         BLOB            NOT NULL,
	sign_count         BIGINT          NOT NULL,
	transports         VARCHAR(255)    NOT NULL DEFAULT '',
	aaguid             VARBINARY(16)   NOT NULL,
	flags              INT             NOT NULL,
	attestation_format VARCHAR(32)     NOT NULL DEFAULT '',
	name               VARCHAR(64)     NOT NULL,
	created_at         BIGINT          NOT NULL,
	last_used_at       BIGINT          NULL,
	UNIQUE KEY passkeys_credential_id (credential_id),
	KEY passkeys_user_id (user_id),
	CONSTRAINT passkeys_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS webauthn_ceremonies (
	challenge_hash BINARY(32)     NOT NULL PRIMARY KEY,
	user_id        VARBINARY(64)  NOT NULL,
	kind           VARCHAR(16)    NOT NULL,
	binding        VARBINARY(128) NOT NULL,
	data           BLOB           NOT NULL,
	expires_at     BIGINT         NOT NULL,
	KEY webauthn_ceremonies_expires_at (expires_at),
	KEY webauthn_ceremonies_user_id (user_id),
	CONSTRAINT webauthn_ceremonies_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
