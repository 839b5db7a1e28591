package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// pageKey derives the key of the pages' CSRF tokens (web/csrf.go) from
// secret material that every instance on the same store already shares:
// the HS256 secret, or else the oldest signing key in the store. So a form
// loaded from one instance is accepted by another, and after a restart,
// with no new setting to keep in step. HMAC under a fixed label makes it
// a separate key: a CSRF token says nothing about the signing key.
//
// Deleting the oldest signing key changes the CSRF key at the next start;
// forms open at that moment are refused once and work after a reload.
func pageKey(ctx context.Context, cfg *config, store gatehouse.KeyStore) ([]byte, error) {
	secret := []byte(cfg.JWTSecret)
	if len(secret) == 0 {
		keys, err := store.SigningKeys(ctx)
		if err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
		if len(keys) == 0 {
			return nil, errors.New("no signing key to derive the CSRF key from")
		}
		secret = keys[0].Private
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("gatehouse/page-csrf-key/v1"))
	return m.Sum(nil), nil
}
