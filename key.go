package gatehouse

import (
	"context"
	"time"
)

// SigningKey is a token signing key kept in the store so that every instance
// and every restart signs and verifies with the same keys.
type SigningKey struct {
	ID        string // the kid
	Algorithm string // "EdDSA"
	Private   []byte // the algorithm's private key encoding (Ed25519: 64-byte seed+public)
	CreatedAt time.Time
	NotBefore time.Time // not used to sign before this time (published first)
	RetireAt  time.Time // zero: current; else no longer signs after this time
}

// KeyStore keeps signing keys.
type KeyStore interface {
	// SigningKeys returns every key, oldest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	// AddSigningKey inserts k.
	AddSigningKey(ctx context.Context, k *SigningKey) error
	// AddSigningKeyAfter inserts k as the one successor of the key prev
	// ("" for the very first key) and, unless retire is zero, sets prev's
	// RetireAt to retire, in one transaction. Only one key can ever succeed
	// a given key: when one already does, nothing changes and added is
	// false. That is how instances rotating at the same moment agree on
	// one new key.
	AddSigningKeyAfter(ctx context.Context, k *SigningKey, prev string, retire time.Time) (added bool, err error)
	// RetireSigningKey sets the key's RetireAt. ENOTFOUND when there is no such key.
	RetireSigningKey(ctx context.Context, id string, at time.Time) error
	// DeleteSigningKey removes a key. ENOTFOUND when there is no such key.
	DeleteSigningKey(ctx context.Context, id string) error
}

// Store is everything gatehouse keeps. The sqldb package implements it for
// SQLite, MySQL/MariaDB and PostgreSQL.
type Store interface {
	UserStore
	SessionStore
	KeyStore
	AuditStore
	ThrottleStore
	EmailStore
	PasskeyStore
	MFAStore
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}
