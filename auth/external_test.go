package auth_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// twoInstances returns two services on one SQLite file with the clock c,
// and registers user on the first.
func twoInstances(t *testing.T, c *clock, user string) (a, b *auth.Service) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shared.db")
	a = keyService(t, openStore(t, path), c, policy)
	b = keyService(t, openStore(t, path), c, policy)
	if _, err := a.Register(t.Context(), user, user+" password"); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func wantActive(t *testing.T, s *auth.Service, raw string, want bool) {
	t.Helper()
	c, err := s.Introspect(t.Context(), raw)
	if err != nil {
		t.Fatalf("Introspect: %v", err)
	}
	if got := c != nil; got != want {
		t.Fatalf("Introspect active = %v, want %v", got, want)
	}
}

// TestIntrospectIsExact: introspection on another instance refuses a
// revoked token before that instance has synced.
func TestIntrospectIsExact(t *testing.T) {
	c := &clock{t: time.Now()}
	a, b := twoInstances(t, c, "carol")
	p := login(t, a, "carol")
	wantActive(t, b, p.AccessToken, true)
	for _, bad := range []string{"", "garbage", p.RefreshToken, p.AccessToken + "x"} {
		wantActive(t, b, bad, false)
	}
	pr, _ := a.Authenticate(t.Context(), p.AccessToken)
	if err := a.Logout(t.Context(), pr, auth.ScopeLocal); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(t.Context(), p.AccessToken); err != nil {
		t.Fatalf("b before its sync should still take the token from memory (%v): the test proves nothing", err)
	}
	wantActive(t, b, p.AccessToken, false)
	c.Add(16 * time.Minute)
	wantActive(t, a, login(t, a, "carol").AccessToken, true)
	wantActive(t, a, p.AccessToken, false) // expired
}

// TestRevokeToken revokes sessions by refresh token (current or rotated)
// and by access token, as RFC 7009 asks.
func TestRevokeToken(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Now()}
	a, b := twoInstances(t, c, "dave")

	byRefresh := login(t, a, "dave")
	if err := b.RevokeToken(ctx, byRefresh.RefreshToken); err != nil {
		t.Fatalf("RevokeToken(refresh): %v", err)
	}
	if _, err := b.Authenticate(ctx, byRefresh.AccessToken); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
		t.Errorf("access token of a session revoked by its refresh token, same instance: %v", err)
	}
	if _, err := a.Refresh(ctx, byRefresh.RefreshToken, auth.Client{}); gatehouse.ErrorCode(err) != gatehouse.EINVALIDREFRESH {
		t.Errorf("refresh after revocation: %v", err)
	}

	rotated := login(t, a, "dave")
	next, err := a.Refresh(ctx, rotated.RefreshToken, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.RevokeToken(ctx, rotated.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, next.AccessToken); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
		t.Errorf("revoking a rotated refresh token left its session alive: %v", err)
	}

	byAccess := login(t, a, "dave")
	if err := b.RevokeToken(ctx, byAccess.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(ctx, byAccess.RefreshToken, auth.Client{}); gatehouse.ErrorCode(err) != gatehouse.EINVALIDREFRESH {
		t.Errorf("refresh of a session revoked by its access token: %v", err)
	}
	if err := a.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, byAccess.AccessToken); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
		t.Errorf("other instance after sync: %v", err)
	}

	for name, raw := range map[string]string{
		"again": byAccess.AccessToken, "garbage": "garbage", "old-format refresh": "ghr_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "unknown refresh": unknownRefresh(),
		"short refresh": "ghr_x", "empty": "",
	} {
		if err := b.RevokeToken(ctx, raw); err != nil {
			t.Errorf("RevokeToken(%s) = %v, want nil: nothing to revoke is no error", name, err)
		}
	}
}

func TestRevocationFeed(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Now()}
	a, _ := twoInstances(t, c, "erin")
	var sids []string
	for range 3 {
		p := login(t, a, "erin")
		sids = append(sids, p.Session.ID)
		if err := a.RevokeToken(ctx, p.RefreshToken); err != nil {
			t.Fatal(err)
		}
	}
	revs, next, err := a.RevocationFeed(ctx, 0)
	if err != nil || len(revs) != 3 {
		t.Fatalf("RevocationFeed(0) = %d, %v; want 3", len(revs), err)
	}
	for i, r := range revs {
		if r.SessionID != sids[i] || r.Seq > next {
			t.Errorf("entry %d = %+v, want session %s with seq <= next %d", i, r, sids[i], next)
		}
	}
	// Recent entries come again (a late commit could hide among them) ...
	if again, n2, _ := a.RevocationFeed(ctx, next); len(again) != 3 || n2 != next {
		t.Errorf("RevocationFeed(next) at once = %d entries, next %d; want the 3 again, %d", len(again), n2, next)
	}
	// ... but not once the late-commit window has passed.
	c.Add(11 * time.Second)
	if later, n3, _ := a.RevocationFeed(ctx, next); len(later) != 0 || n3 != next {
		t.Errorf("RevocationFeed(next) later = %d entries, next %d; want none, %d", len(later), n3, next)
	}
	if all, _, _ := a.RevocationFeed(ctx, -5); len(all) != 3 {
		t.Errorf("RevocationFeed(-5) = %d entries, want all 3", len(all))
	}
}

func TestRevokedStatsCountsLearned(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Now()}
	a, b := twoInstances(t, c, "fred")
	if err := b.SyncRevocations(ctx); err != nil { // the first sync: backlog, no lag
		t.Fatal(err)
	}
	var lags []time.Duration
	b.Revoked().ObserveLag(func(d time.Duration) { lags = append(lags, d) })
	p := login(t, a, "fred")
	if err := a.RevokeToken(ctx, p.AccessToken); err != nil {
		t.Fatal(err)
	}
	c.Add(150 * time.Millisecond)
	if err := b.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	st := b.Revoked().Stats()
	if st.Learned != 1 || st.Syncs != 2 || st.Sessions != 1 || st.LagMax < 150*time.Millisecond || len(lags) != 1 {
		t.Errorf("stats = %+v, lags %v; want 1 learned with lag >= 150ms after 2 syncs", st, lags)
	}
	if got := a.Revoked().Stats(); got.Learned != 0 {
		t.Errorf("the revoking instance learned %d of its own revocations, want 0", got.Learned)
	}
}
