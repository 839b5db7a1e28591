package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/gatehouse/gatehouse"
)

// GenerateEd25519 returns a new Ed25519 signing key from crypto/rand, current
// from now (NotBefore = CreatedAt = now, RetireAt zero). Its ID, the kid, is
// 128 random bits in base64url: opaque, and unrelated to the key. To publish
// a key ahead of its use in rotation, set a later NotBefore before storing it.
func GenerateEd25519(now time.Time) (*gatehouse.SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	return &gatehouse.SigningKey{
		ID:        base64.RawURLEncoding.EncodeToString(id[:]),
		Algorithm: EdDSA,
		Private:   []byte(priv),
		CreatedAt: now,
		NotBefore: now,
	}, nil
}
