package auth_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// TestRefreshForgedKeepsSession: the session id is no secret (every access
// token carries it as sid), so refresh tokens forged for it, of any
// generation, must neither refresh nor revoke the session, through
// /api/token/refresh or through token revocation.
func TestRefreshForgedKeepsSession(t *testing.T) {
	ctx := t.Context()
	s := newService(t, openStore(t, filepath.Join(t.TempDir(), "forged.db")), edKeys(t), 4, nil)
	pair := registerAndLogin(t, s, "alice")
	p, err := s.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	pair, err = s.Refresh(ctx, pair.RefreshToken, auth.Client{}) // now at generation 1
	if err != nil {
		t.Fatal(err)
	}
	for _, gen := range []uint64{0, 1, 2} {
		forged, ok := gatehouse.NewRefreshToken(p.SessionID, gen)
		if !ok {
			t.Fatalf("session id %q is not a UUID", p.SessionID)
		}
		raw := forged.Sign(gatehouse.NewRefreshKey())
		if _, err := s.Refresh(ctx, raw, auth.Client{}); gatehouse.ErrorCode(err) != gatehouse.EINVALIDREFRESH {
			t.Fatalf("Refresh(forged, generation %d) = %v; want %s", gen, err, gatehouse.EINVALIDREFRESH)
		}
		if err := s.RevokeToken(ctx, raw); err != nil {
			t.Fatalf("RevokeToken(forged, generation %d) = %v", gen, err)
		}
	}
	if _, err := s.Authenticate(ctx, pair.AccessToken); err != nil {
		t.Fatalf("the session died of forged tokens: %v", err)
	}
	if _, err := s.Refresh(ctx, pair.RefreshToken, auth.Client{}); err != nil {
		t.Fatalf("the current token after forged ones: %v", err)
	}
}

// TestRefreshMalformed: what is not of the token's form is refused, the
// tokens of before migration 0005 (ghr_ and 43 characters) included.
func TestRefreshMalformed(t *testing.T) {
	s := newService(t, openStore(t, filepath.Join(t.TempDir(), "malformed.db")), edKeys(t), 4, nil)
	for name, raw := range map[string]string{
		"empty":               "",
		"old format":          "ghr_" + strings.Repeat("A", 43),
		"no prefix":           strings.Repeat("A", gatehouse.RefreshTokenLen),
		"wrong prefix":        "ghx_" + strings.Repeat("A", gatehouse.RefreshTokenLen-4),
		"not base64url":       "ghr_" + strings.Repeat("+", gatehouse.RefreshTokenLen-4),
		"padded":              "ghr_" + strings.Repeat("A", gatehouse.RefreshTokenLen-6) + "==",
		"one character short": "ghr_" + strings.Repeat("A", gatehouse.RefreshTokenLen-5),
	} {
		if _, err := s.Refresh(t.Context(), raw, auth.Client{}); gatehouse.ErrorCode(err) != gatehouse.EINVALIDREFRESH {
			t.Errorf("Refresh(%s) = %v; want %s", name, err, gatehouse.EINVALIDREFRESH)
		}
	}
}

// BenchmarkRefresh is a whole refresh (rotation, access token, the user
// from the cache) on an SQLite file, one token chain.
func BenchmarkRefresh(b *testing.B) {
	ctx := b.Context()
	s := newService(b, openStore(b, filepath.Join(b.TempDir(), "bench.db")), edKeys(b), 4, nil)
	pair := registerAndLogin(b, s, "alice")
	var err error
	for b.Loop() {
		if pair, err = s.Refresh(ctx, pair.RefreshToken, auth.Client{}); err != nil {
			b.Fatal(err)
		}
	}
}

// registerAndLogin registers user (password user + " password") and logs in.
func registerAndLogin(t testing.TB, s *auth.Service, user string) *auth.TokenPair {
	t.Helper()
	if _, err := s.Register(t.Context(), user, user+" password"); err != nil {
		t.Fatal(err)
	}
	return login(t, s, user)
}

// unknownRefresh is a well-formed refresh token of a session that does not
// exist.
func unknownRefresh() string {
	rt, _ := gatehouse.NewRefreshToken(gatehouse.NewID(time.Now()), 0)
	return rt.Sign(gatehouse.NewRefreshKey())
}
