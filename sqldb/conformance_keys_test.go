package sqldb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqldb"
)

func testAddSigningKeyAfter(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	first := &gatehouse.SigningKey{ID: "k1", Algorithm: "EdDSA", Private: []byte{1}, CreatedAt: t0.Add(-time.Hour), NotBefore: t0.Add(-time.Hour)}
	if added, err := db.AddSigningKeyAfter(ctx, first, "", t0); err != nil || !added {
		t.Fatalf("first key: AddSigningKeyAfter = %v, %v; want added", added, err)
	}
	again := &gatehouse.SigningKey{ID: "k1b", Algorithm: "EdDSA", Private: []byte{9}}
	if added, err := db.AddSigningKeyAfter(ctx, again, "", t0); err != nil || added {
		t.Fatalf("a second first key: AddSigningKeyAfter = %v, %v; want not added", added, err)
	}
	next := &gatehouse.SigningKey{ID: "k2", Algorithm: "EdDSA", Private: []byte{2}, NotBefore: t0.Add(time.Hour)}
	if added, err := db.AddSigningKeyAfter(ctx, next, "k1", t0.Add(time.Hour)); err != nil || !added {
		t.Fatalf("successor: AddSigningKeyAfter = %v, %v; want added", added, err)
	}
	if next.CreatedAt.IsZero() {
		t.Fatal("AddSigningKeyAfter did not fill in CreatedAt")
	}
	rival := &gatehouse.SigningKey{ID: "k2b", Algorithm: "EdDSA", Private: []byte{3}}
	if added, err := db.AddSigningKeyAfter(ctx, rival, "k1", t0); err != nil || added {
		t.Fatalf("rival successor: AddSigningKeyAfter = %v, %v; want not added", added, err)
	}
	first.RetireAt = t0.Add(time.Hour)
	wantKeys(t, db, first, next) // the rival changed nothing, not even k1's RetireAt

	// A later retire time never postpones an earlier one.
	wantCode(t, db.RetireSigningKey(ctx, "k2", t0.Add(2*time.Hour)), "")
	k3 := &gatehouse.SigningKey{ID: "k3", Algorithm: "EdDSA", Private: []byte{4}, CreatedAt: t0, NotBefore: t0.Add(3 * time.Hour)}
	if added, err := db.AddSigningKeyAfter(ctx, k3, "k2", t0.Add(3*time.Hour)); err != nil || !added {
		t.Fatalf("third key: %v, %v", added, err)
	}
	next.RetireAt = t0.Add(2 * time.Hour)
	wantKeys(t, db, first, k3, next) // oldest first: k3 was created at t0, before k2
	if _, err := db.AddSigningKeyAfter(ctx, k3, "\xff", t0); err == nil {
		t.Fatal("AddSigningKeyAfter with an invalid predecessor id: no error")
	}
}

// testAddSigningKeyAfterConcurrent races many instances to succeed one key:
// exactly one key must be added.
func testAddSigningKeyAfterConcurrent(t *testing.T, db *sqldb.DB) {
	const n = 20
	t0 := now()
	if added, err := db.AddSigningKeyAfter(t.Context(), &gatehouse.SigningKey{ID: "k0", Algorithm: "EdDSA", Private: []byte{0}}, "", time.Time{}); err != nil || !added {
		t.Fatalf("first key: %v, %v", added, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range n {
		wg.Go(func() {
			k := &gatehouse.SigningKey{ID: fmt.Sprintf("next-%d", i), Algorithm: "EdDSA", Private: []byte{byte(i)}}
			added, err := db.AddSigningKeyAfter(t.Context(), k, "k0", t0)
			if err != nil {
				t.Errorf("AddSigningKeyAfter: %v", err)
			}
			if added {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	keys, err := db.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if wins != 1 || len(keys) != 2 {
		t.Fatalf("%d calls added a successor, %d keys in the store; want 1 and 2", wins, len(keys))
	}
	if !keys[0].RetireAt.Equal(t0) {
		t.Errorf("predecessor RetireAt = %v, want %v", keys[0].RetireAt, t0)
	}
}

func testRevokeRefresh(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	until := t0.Add(15 * time.Minute)
	u := createUser(t, db, "alice")
	s, h0 := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	h1 := rotate(t, db, h0, t0)
	other, h2 := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))

	// A forged token naming the session revokes nothing.
	for _, gen := range []uint64{0, 1} {
		if revs, err := db.RevokeRefresh(ctx, forgedRefresh(t, other.ID, gen), t0, until); err != nil || len(revs) != 0 {
			t.Errorf("RevokeRefresh(forged, generation %d) = %v, %v; want nothing", gen, revs, err)
		}
	}
	// The rotated token revokes its session too: it names the same grant.
	revs, err := db.RevokeRefresh(ctx, h0, t0, until)
	if err != nil {
		t.Fatalf("RevokeRefresh(rotated): %v", err)
	}
	wantRevocations(t, revs, until, t0, s.ID)
	for name, h := range map[string]*gatehouse.RefreshToken{"current of a revoked session": h1, "unknown session": forgedRefresh(t, gatehouse.NewID(t0), 0)} {
		if revs, err := db.RevokeRefresh(ctx, h, t0, until); err != nil || len(revs) != 0 {
			t.Errorf("RevokeRefresh(%s) = %v, %v; want nothing", name, revs, err)
		}
	}
	if r, err := db.IsRevoked(ctx, other.ID); err != nil || r {
		t.Fatalf("the other session: revoked %v, %v; want alive", r, err)
	}
	revs, err = db.RevokeRefresh(ctx, h2, t0, until)
	if err != nil {
		t.Fatal(err)
	}
	wantRevocations(t, revs, until, t0, other.ID)
}

// testWatchRevocations: on PostgreSQL a committed revocation signals the
// listener, also after its connection was killed; elsewhere there is no
// channel.
func testWatchRevocations(t *testing.T, db *sqldb.DB) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch := db.WatchRevocations(ctx)
	if db.Dialect() != "postgres" {
		if ch != nil {
			t.Fatalf("%s: WatchRevocations = %v, want nil", db.Dialect(), ch)
		}
		return
	}
	wantSignal := func(what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("no signal %s", what)
		}
	}
	wantSignal("once listening")
	t0 := now()
	u := createUser(t, db, "alice")
	s, _ := createSession(t, db, u.ID, t0, t0.Add(time.Hour))
	if _, err := db.RevokeSessions(ctx, u.ID, s.ID, gatehouse.RevokeOne, t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantSignal("after a revocation")

	err := sqldb.ExecForTest(ctx, db, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Fatal(err)
	}
	wantSignal("after the listener reconnected")
	s2, _ := createSession(t, db, u.ID, t0, t0.Add(time.Hour))
	if _, err := db.RevokeSessions(ctx, u.ID, s2.ID, gatehouse.RevokeOne, t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantSignal("after a revocation on the new connection")
}
