package auth_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/token"
)

// BenchmarkAuthenticate is the authenticated path below HTTP: verify the
// token, look its session up in the revocation set (and, strict, in the
// store). Its baseline, from the same run, is token verification alone:
// what Authenticate adds is the difference.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	keys := edKeys(b)
	store := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	u := &gatehouse.User{Username: "alice", PasswordHash: "h"}
	if err := store.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	sess := &gatehouse.Session{UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
	if _, err := store.CreateSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	service := func(cacheSize int, strict bool) *auth.Service {
		s, err := auth.New(auth.Config{
			Store:      store,
			Tokens:     token.New(keys, token.Options{Issuer: "http://test", Audience: "gatehouse", CacheSize: cacheSize}),
			Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
			RefreshTTL: time.Hour,
			Strict:     strict,
		})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name      string
		cacheSize int
		strict    bool
	}{
		{"cache-hit", 0, false},
		{"cache-miss", -1, false},
		{"strict-cache-hit", 0, true},
	} {
		s := service(tc.cacheSize, tc.strict)
		raw, _, err := s.Tokens().Issue(u.ID, sess.ID, u.Username)
		if err != nil {
			b.Fatal(err)
		}
		// A thousand other sessions revoked, so the lookup is not in an empty set.
		now := time.Now()
		for range 1000 {
			s.Revoked().Add(now, gatehouse.Revocation{SessionID: gatehouse.NewID(now), Until: now.Add(time.Hour)})
		}
		b.Run(tc.name+"/baseline-verify-only", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Tokens().Verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Authenticate(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
