package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
)

var testThrottling = auth.Throttling{
	LoginUser:    gatehouse.ThrottleRule{Limit: 3, Window: 15 * time.Minute, MaxWindow: time.Hour},
	LoginAddress: gatehouse.ThrottleRule{Limit: 5, Window: 15 * time.Minute},
	Register:     gatehouse.ThrottleRule{Limit: 2, Window: time.Hour},
}

// throttledService returns a Service with testThrottling over store, on
// the clock c.
func throttledService(t testing.TB, store gatehouse.Store, keys *token.KeySet, c *clock) *auth.Service {
	t.Helper()
	s, err := auth.New(auth.Config{
		Store: store, Tokens: newTokens(keys, c.Now), Now: c.Now,
		Hasher: &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4}, RefreshTTL: time.Hour,
		Throttling: testThrottling,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openURL(t testing.TB, url string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), url, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// wantThrottled fails unless err is ETOOMANYREQUESTS with a Retry-After
// of about want (to the second, rounded up).
func wantThrottled(t *testing.T, what string, err error, want time.Duration) {
	t.Helper()
	if gatehouse.ErrorCode(err) != gatehouse.ETOOMANYREQUESTS {
		t.Fatalf("%s: error = %v, want too_many_requests", what, err)
	}
	var ra interface{ RetryAfterSeconds() int }
	if !errors.As(err, &ra) {
		t.Fatalf("%s: %v has no Retry-After", what, err)
	}
	if got := ra.RetryAfterSeconds(); got < int(want.Seconds()) || got > int(want.Seconds())+1 {
		t.Fatalf("%s: Retry-After = %d s, want %v", what, got, want)
	}
}

func wantCredentials(t *testing.T, what string, err error) {
	t.Helper()
	if gatehouse.ErrorCode(err) != gatehouse.ECREDENTIALS {
		t.Fatalf("%s: error = %v, want invalid_credentials", what, err)
	}
}

// TestLoginThrottledPerUsername: past the limit, even the right password
// is refused, without hashing; the lock ends with its window; a success
// forgets the failures. Unknown usernames are counted the same way.
func TestLoginThrottledPerUsername(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Now()}
	s := throttledService(t, openStore(t, filepath.Join(t.TempDir(), "g.db")), edKeys(t), c)
	if _, err := s.Register(ctx, "alice", "alices password"); err != nil {
		t.Fatal(err)
	}
	for i, username := range []string{"alice", "nobody"} {
		from := auth.Client{IP: "192.0.2." + string(rune('1'+i))} // apart: the address limit is not under test
		for range 3 {
			_, err := s.Login(ctx, username, "wrong password", from)
			wantCredentials(t, username, err)
		}
		before := s.Pool().Done()
		_, err := s.Login(ctx, username, "alices password", auth.Client{IP: "192.0.2.100"})
		wantThrottled(t, username+" past the limit", err, 15*time.Minute)
		if s.Pool().Done() != before {
			t.Fatalf("%s: a throttled login ran a hash", username)
		}
		_, err = s.Login(ctx, "ALICE", "alices password", auth.Client{IP: "192.0.2.101"})
		if username == "alice" {
			wantThrottled(t, "the same username in capitals", err, 15*time.Minute)
		}
	}
	c.Add(15 * time.Minute)
	if _, err := s.Login(ctx, "alice", "alices password", auth.Client{}); err != nil {
		t.Fatalf("login after the lock: %v", err)
	}
	// The success forgot the streak: three more failures are allowed and
	// the lock that follows is the first one again, not a longer one.
	for range 3 {
		_, err := s.Login(ctx, "alice", "wrong password", auth.Client{})
		wantCredentials(t, "after a success", err)
	}
	_, err := s.Login(ctx, "alice", "alices password", auth.Client{})
	wantThrottled(t, "locked again", err, 15*time.Minute)
	if got := s.ThrottleCounts().LoginUser; got != 5 { // alice, ALICE twice, nobody, alice again
		t.Fatalf("ThrottleCounts().LoginUser = %d, want 5", got)
	}
}

// TestLoginThrottleHoldsAcrossInstances runs two services on one
// database of each store: failures on either count toward one limit.
func TestLoginThrottleHoldsAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		c := &clock{t: time.Now()}
		keys := edKeys(t)
		a := throttledService(t, openURL(t, url), keys, c)
		b := throttledService(t, openURL(t, url), keys, c)
		if _, err := a.Register(ctx, "bob", "bobs password"); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*auth.Service{a, b, a} {
			_, err := s.Login(ctx, "bob", "wrong password", auth.Client{})
			wantCredentials(t, "failure", err)
		}
		_, err := b.Login(ctx, "bob", "bobs password", auth.Client{})
		wantThrottled(t, "other instance past the limit", err, 15*time.Minute)
	})
}

// TestLoginThrottledPerAddress: failures from one address against any
// usernames lock the address (an IPv6 address by its /64); a success on
// an account of one's own does not clear the count.
func TestLoginThrottledPerAddress(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Now()}
	s := throttledService(t, openStore(t, filepath.Join(t.TempDir(), "g.db")), edKeys(t), c)
	for _, u := range []string{"mallory", "victim"} {
		if _, err := s.Register(ctx, u, u+" password"); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, ip, other string
	}{
		{"IPv4", "198.51.100.7", "198.51.100.8"},
		{"IPv6 by /64", "2001:db8:1:2::1", "2001:db8:1:3::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := tc.ip
			for i := range 5 {
				_, err := s.Login(ctx, "user"+string(rune('a'+i)), "some password", auth.Client{IP: ip})
				wantCredentials(t, "failure", err)
				if i == 2 {
					if _, err := s.Login(ctx, "mallory", "mallory password", auth.Client{IP: ip}); err != nil {
						t.Fatalf("own account: %v", err)
					}
				}
				if tc.name != "IPv4" {
					ip = "2001:db8:1:2::" + string(rune('a'+i)) // another address of the same /64
				}
			}
			_, err := s.Login(ctx, "victim", "victim password", auth.Client{IP: ip})
			wantThrottled(t, "address past the limit", err, 15*time.Minute)
			_, err = s.Login(ctx, "mallory", "mallory password", auth.Client{IP: ip})
			wantThrottled(t, "own account from a locked address", err, 15*time.Minute)
			if _, err := s.Login(ctx, "victim", "victim password", auth.Client{IP: tc.other}); err != nil {
				t.Fatalf("from another address: %v", err)
			}
		})
	}
}

func TestRegisterThrottledPerAddress(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Now()}
	s := throttledService(t, openStore(t, filepath.Join(t.TempDir(), "g.db")), edKeys(t), c)
	from := auth.Client{IP: "203.0.113.9"}
	if _, err := s.RegisterFrom(ctx, "first", "first password", from); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterFrom(ctx, "First", "first password", from); gatehouse.ErrorCode(err) != gatehouse.EUSERNAMETAKEN {
		t.Fatalf("taken name: %v", err)
	}
	if _, err := s.RegisterFrom(ctx, "x", "short", from); gatehouse.ErrorCode(err) != gatehouse.EINVALIDUSERNAME {
		t.Fatalf("invalid input is refused before the throttle: %v", err)
	}
	_, err := s.RegisterFrom(ctx, "third", "third password", from)
	wantThrottled(t, "third registration", err, time.Hour)
	if _, err := s.RegisterFrom(ctx, "third", "third password", auth.Client{IP: "203.0.113.10"}); err != nil {
		t.Fatalf("from another address: %v", err)
	}
	if _, err := s.Register(ctx, "operator", "operator password"); err != nil {
		t.Fatalf("Register (the operator's, not throttled): %v", err)
	}
	c.Add(time.Hour)
	if _, err := s.RegisterFrom(ctx, "fourth", "fourth password", from); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if got := s.ThrottleCounts().Register; got != 1 {
		t.Fatalf("ThrottleCounts().Register = %d, want 1", got)
	}
}

// TestChangePasswordThrottled: the current password cannot be guessed
// through /api/password faster than through the login.
func TestChangePasswordThrottled(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Now()}
	s := throttledService(t, openStore(t, filepath.Join(t.TempDir(), "g.db")), edKeys(t), c)
	if _, err := s.Register(ctx, "frank", "franks password"); err != nil {
		t.Fatal(err)
	}
	pair, err := s.Login(ctx, "frank", "franks password", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		err := s.ChangePassword(ctx, p, "guess password", "new password 1")
		wantCredentials(t, "wrong current password", err)
	}
	err = s.ChangePassword(ctx, p, "franks password", "new password 1")
	wantThrottled(t, "change past the limit", err, 15*time.Minute)
	_, err = s.Login(ctx, "frank", "franks password", auth.Client{})
	wantThrottled(t, "login after the guesses", err, 15*time.Minute)
}

func TestThrottleOffByDefault(t *testing.T) {
	ctx := context.Background()
	s := newService(t, openStore(t, filepath.Join(t.TempDir(), "g.db")), edKeys(t), 4, nil)
	for range 20 {
		_, err := s.Login(ctx, "nobody", "wrong password", auth.Client{IP: "192.0.2.1"})
		wantCredentials(t, "zero Throttling", err)
	}
}
