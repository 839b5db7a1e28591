package auth_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	events []gatehouse.AuditEvent
	lags   []time.Duration
}

func (r *recorder) Event(_ context.Context, e gatehouse.AuditEvent) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) RevocationLag(d time.Duration) {
	r.mu.Lock()
	r.lags = append(r.lags, d)
	r.mu.Unlock()
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ts []string
	for _, e := range r.events {
		ts = append(ts, e.Type+":"+e.Reason)
	}
	return ts
}

func observedService(t *testing.T, store *sqldb.DB, keys *token.KeySet, obs auth.Observer) *auth.Service {
	t.Helper()
	s, err := auth.New(auth.Config{
		Store:      store,
		Tokens:     token.New(keys, token.Options{Issuer: "http://test", Audience: "gatehouse", TTL: 15 * time.Minute}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: time.Hour,
		Observer:   obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// TestEventsOfEveryFlow runs each flow and checks what the Observer was
// told and what the audit trail kept, with the reasons that the client
// never sees.
func TestEventsOfEveryFlow(t *testing.T) {
	ctx := auth.WithClient(context.Background(), auth.Client{IP: "192.0.2.9", UserAgent: "ctx-agent"})
	store := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	rec := &recorder{}
	s := observedService(t, store, edKeys(t), rec)
	c := auth.Client{IP: "192.0.2.1", UserAgent: "test-agent"}

	u, err := s.Register(ctx, "alice", "alices password")
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := s.Login(ctx, "alice", "wrong password", c)
	_, err2 := s.Login(ctx, "nobody", "alices password", c)
	_, err3 := s.Login(ctx, "my secret password", "x", c) // a password typed as the name
	for _, err := range []error{err1, err2, err3} {
		if gatehouse.ErrorCode(err) != gatehouse.ECREDENTIALS || gatehouse.ErrorMessage(err) != gatehouse.ErrorMessage(err1) {
			t.Fatalf("failed login = %v, want the one invalid_credentials", err)
		}
	}
	pair, err := s.Login(ctx, "alice", "alices password", c)
	if err != nil {
		t.Fatal(err)
	}
	next, err := s.Refresh(ctx, pair.RefreshToken, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Refresh(ctx, pair.RefreshToken, c); err == nil {
		t.Fatal("replay accepted")
	}
	second, _ := s.Login(ctx, "alice", "alices password", c)
	p, err := s.Authenticate(ctx, second.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	third, _ := s.Login(ctx, "alice", "alices password", c)
	if err := s.RevokeSession(ctx, p, third.Session.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, p, "alices password", "alices new password"); err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx, p, auth.ScopeGlobal); err != nil {
		t.Fatal(err)
	}
	_ = next

	want := []string{
		"registered:", "login_failed:wrong_password", "login_failed:unknown_user", "login_failed:unknown_user",
		"login:", "token_refreshed:", "refresh_replayed:", "token_refreshed:invalid_refresh_token",
		"login:", "login:", "session_revoked:user", "password_changed:", "logout:global",
	}
	if got := rec.types(); !slices.Equal(got, want) {
		t.Fatalf("observed\n%q\nwant\n%q", got, want)
	}

	events, err := s.AuditEvents(ctx, p, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, e := range slices.Backward(events) {
		kept = append(kept, e.Type+":"+e.Reason)
		if e.UserID != u.ID || e.Username != "alice" {
			t.Errorf("event %s of %q/%q, want alice's", e.Type, e.UserID, e.Username)
		}
		if e.Type == gatehouse.AuditLogin && (e.IP != c.IP || e.UserAgent != c.UserAgent || e.SessionID == "") {
			t.Errorf("login event %+v lacks the client or session", e)
		}
		if e.Type == gatehouse.AuditRegistered && (e.IP != "192.0.2.9" || e.UserAgent != "ctx-agent") {
			t.Errorf("registration event %+v lacks the client from the context", e)
		}
	}
	wantKept := []string{"registered:", "login_failed:wrong_password", "login:", "refresh_replayed:",
		"login:", "login:", "session_revoked:user", "password_changed:", "logout:global"}
	if !slices.Equal(kept, wantKept) {
		t.Fatalf("alice's audit trail\n%q\nwant\n%q", kept, wantKept)
	}
	all, _ := store.AuditEvents(ctx, gatehouse.AuditFilter{Types: []string{gatehouse.AuditLoginFailed}})
	for _, e := range all {
		if e.Username == "my secret password" {
			t.Error("a name that is not a valid username (perhaps a password) was kept in the trail")
		}
	}
}

// TestLockUser: a locked user's right password is refused like a wrong
// one, their sessions die at once, and unlocking lets them in again.
func TestLockUser(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	rec := &recorder{}
	s := observedService(t, store, edKeys(t), rec)
	u, _ := s.Register(ctx, "bob", "bobs password")
	pair, err := s.Login(ctx, "bob", "bobs password", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.LockUser(ctx, u.ID)
	if err != nil || n != 1 {
		t.Fatalf("LockUser = %d, %v; want 1 session revoked", n, err)
	}
	if _, err := s.Authenticate(ctx, pair.AccessToken); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
		t.Errorf("locked user's token: %v, want invalid_token at once", err)
	}
	if _, err := s.Refresh(ctx, pair.RefreshToken, auth.Client{}); gatehouse.ErrorCode(err) != gatehouse.EINVALIDREFRESH {
		t.Errorf("locked user's refresh: %v", err)
	}
	_, errLocked := s.Login(ctx, "bob", "bobs password", auth.Client{})
	_, errWrong := s.Login(ctx, "bob", "not bobs password", auth.Client{})
	if gatehouse.ErrorCode(errLocked) != gatehouse.ECREDENTIALS || gatehouse.ErrorMessage(errLocked) != gatehouse.ErrorMessage(errWrong) {
		t.Fatalf("locked login = %v; wrong password = %v; want the same answer", errLocked, errWrong)
	}
	if err := s.UnlockUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "bob", "bobs password", auth.Client{}); err != nil {
		t.Fatalf("login after unlock: %v", err)
	}
	got := rec.types()
	for _, w := range []string{"user_locked:admin", "login_failed:locked", "user_unlocked:admin"} {
		if !slices.Contains(got, w) {
			t.Errorf("events %q lack %q", got, w)
		}
	}
	if _, err := s.LockUser(ctx, "nobody"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("LockUser(nobody) = %v", err)
	}
}

// TestAuditCloseLosesNothing records a burst far larger than one batch and
// closes at once: every event must be in the store afterwards.
func TestAuditCloseLosesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	store := openStore(t, path)
	s := observedService(t, store, edKeys(t), nil)
	const n = 1000
	for i := range n {
		s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditLogout, UserID: "u", Reason: string(rune('a' + i%26))})
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditLogout, UserID: "u", Reason: "after close"})
	got, err := store.AuditEvents(ctx, gatehouse.AuditFilter{UserID: "u", Limit: 2 * n})
	if err != nil || len(got) != n+1 {
		t.Fatalf("%d events stored, %v; want %d", len(got), err, n+1)
	}
	if s.AuditDropped() != 0 {
		t.Errorf("AuditDropped = %d", s.AuditDropped())
	}
}

// TestThrottledEventsAreQuieted: a flood of throttled attempts from one
// client is counted in full but kept once a minute.
func TestThrottledEventsAreQuieted(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "g.db"))
	rec := &recorder{}
	s := observedService(t, store, edKeys(t), rec)
	at := time.Now()
	for i := range 90 {
		s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditThrottled, Username: "eve", IP: "192.0.2.66", Reason: "login", Time: at.Add(time.Duration(i) * time.Second)})
	}
	s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditThrottled, Username: "eve", IP: "192.0.2.67", Reason: "login", Time: at})
	s.Close(ctx)
	got, _ := store.AuditEvents(ctx, gatehouse.AuditFilter{Types: []string{gatehouse.AuditThrottled}})
	if len(got) != 2+1 || len(rec.types()) != 91 {
		t.Fatalf("kept %d throttled events (want 3: two minutes of one client, one of another), observed %d (want 91)", len(got), len(rec.types()))
	}
}

// TestRevocationLagObserved: a revocation made by another instance is
// observed with its lag when a sync brings it in; the first sync (the past)
// and this instance's own revocations are not.
func TestRevocationLagObserved(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	keys := edKeys(t)
	rec := &recorder{}
	a := observedService(t, openStore(t, path), keys, nil)
	b := observedService(t, openStore(t, path), keys, rec)
	a.Register(ctx, "carol", "carols password")
	old, _ := a.Login(ctx, "carol", "carols password", auth.Client{})
	po, _ := a.Authenticate(ctx, old.AccessToken)
	a.Logout(ctx, po, auth.ScopeLocal)
	if err := b.SyncRevocations(ctx); err != nil { // the first: loads the past
		t.Fatal(err)
	}
	pair, _ := a.Login(ctx, "carol", "carols password", auth.Client{})
	p, _ := a.Authenticate(ctx, pair.AccessToken)
	a.Logout(ctx, p, auth.ScopeLocal)
	time.Sleep(5 * time.Millisecond)
	if err := b.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	own, _ := b.Login(ctx, "carol", "carols password", auth.Client{})
	pb, _ := b.Authenticate(ctx, own.AccessToken)
	b.Logout(ctx, pb, auth.ScopeLocal)
	b.SyncRevocations(ctx)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.lags) != 1 || rec.lags[0] < 5*time.Millisecond {
		t.Fatalf("lags = %v, want one of at least 5ms", rec.lags)
	}
}

func TestPoolWaiting(t *testing.T) {
	p := auth.NewPool(1, 1, time.Second)
	release := make(chan struct{})
	started := make(chan struct{})
	go p.Do(context.Background(), func() { close(started); <-release })
	<-started
	done := make(chan struct{})
	go func() { p.Do(context.Background(), func() {}); close(done) }()
	deadline := time.Now().Add(time.Second)
	for p.Waiting() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.Waiting() != 1 || p.InUse() != 1 || p.Size() != 1 {
		t.Fatalf("waiting %d, in use %d, size %d; want 1, 1, 1", p.Waiting(), p.InUse(), p.Size())
	}
	close(release)
	<-done
	if p.Waiting() != 0 {
		t.Fatalf("waiting %d after the queue emptied", p.Waiting())
	}
}
