package auth_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openStore(t testing.TB, path string) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite:"+path, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// newService returns a Service over store with bcrypt at cost.
func newService(t testing.TB, store gatehouse.Store, keys *token.KeySet, cost int, now func() time.Time) *auth.Service {
	t.Helper()
	s, err := auth.New(auth.Config{
		Store:      store,
		Tokens:     newTokens(keys, now),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: cost},
		RefreshTTL: 24 * time.Hour,
		Now:        now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func newTokens(keys *token.KeySet, now func() time.Time) *token.Tokens {
	return token.New(keys, token.Options{Issuer: "http://test", Audience: "gatehouse", TTL: 15 * time.Minute, Now: now})
}

func edKeys(t testing.TB) *token.KeySet {
	t.Helper()
	k, err := token.GenerateEd25519(time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewEdDSA([]*gatehouse.SigningKey{k}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestRevocationReachesOtherInstance runs two services on one store: a
// logout on one is refused by the other after a sync, with no restart.
func TestRevocationReachesOtherInstance(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	keys := edKeys(t)
	a := newService(t, openStore(t, path), keys, 4, nil)
	b := newService(t, openStore(t, path), keys, 4, nil)
	if _, err := a.Register(ctx, "alice", "alices password"); err != nil {
		t.Fatal(err)
	}
	p, err := a.Login(ctx, "alice", "alices password", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.Authenticate(ctx, p.AccessToken)
	if err != nil {
		t.Fatalf("instance b refused a good token: %v", err)
	}
	if err := a.Logout(ctx, pb, auth.ScopeLocal); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, p.AccessToken); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
		t.Errorf("revoking instance: Authenticate = %v, want invalid_token at once", err)
	}
	if err := b.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, p.AccessToken); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
		t.Errorf("other instance after sync: Authenticate = %v, want invalid_token", err)
	}
}

func TestStrictModeAsksTheStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	keys := edKeys(t)
	a := newService(t, openStore(t, path), keys, 4, nil)
	strict, err := auth.New(auth.Config{
		Store:      openStore(t, path),
		Tokens:     token.New(keys, token.Options{Issuer: "http://test", Audience: "gatehouse", TTL: 15 * time.Minute}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: time.Hour,
		Strict:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { strict.Close(context.Background()) })
	a.Register(ctx, "bob", "bobs password")
	p, _ := a.Login(ctx, "bob", "bobs password", auth.Client{})
	pr, err := strict.Authenticate(ctx, p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(ctx, pr, auth.ScopeLocal); err != nil {
		t.Fatal(err)
	}
	// No sync: the strict instance must see it in the store.
	if _, err := strict.Authenticate(ctx, p.AccessToken); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
		t.Errorf("strict instance: Authenticate = %v, want invalid_token without a sync", err)
	}
}

func TestAccessTokenExpires(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Now()}
	s := newService(t, openStore(t, filepath.Join(t.TempDir(), "g.db")), edKeys(t), 4, c.Now)
	s.Register(ctx, "carol", "carols password")
	p, err := s.Login(ctx, "carol", "carols password", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(14 * time.Minute)
	if _, err := s.Authenticate(ctx, p.AccessToken); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	c.Add(2 * time.Minute)
	if _, err := s.Authenticate(ctx, p.AccessToken); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
		t.Errorf("after expiry: %v, want invalid_token", err)
	}
	// The refresh token outlives it.
	if _, err := s.Refresh(ctx, p.RefreshToken, auth.Client{}); err != nil {
		t.Errorf("refresh after access expiry: %v", err)
	}
	c.Add(25 * time.Hour)
	if _, err := s.Login(ctx, "carol", "carols password", auth.Client{}); err != nil {
		t.Fatal(err)
	}
}

// TestTokensAreNotInterchangeable: a refresh token is no access token and
// an access token is no refresh token; neither use harms the session.
func TestTokensAreNotInterchangeable(t *testing.T) {
	ctx := context.Background()
	s := newService(t, openStore(t, filepath.Join(t.TempDir(), "g.db")), edKeys(t), 4, nil)
	if _, err := s.Register(ctx, "gina", "ginas password"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Login(ctx, "gina", "ginas password", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, p.RefreshToken); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
		t.Errorf("refresh token as access token: %v, want invalid_token", err)
	}
	if _, err := s.Refresh(ctx, p.AccessToken, auth.Client{}); gatehouse.ErrorCode(err) != gatehouse.EINVALIDREFRESH {
		t.Errorf("access token as refresh token: %v, want invalid_refresh_token", err)
	}
	// Both still work for what they are.
	if _, err := s.Authenticate(ctx, p.AccessToken); err != nil {
		t.Errorf("access token after the misuse: %v", err)
	}
	if _, err := s.Refresh(ctx, p.RefreshToken, auth.Client{}); err != nil {
		t.Errorf("refresh token after the misuse: %v", err)
	}
}
