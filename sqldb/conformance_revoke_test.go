package sqldb_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqldb"
)

func testRevokeOne(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	until := t0.Add(15 * time.Minute)
	u := createUser(t, db, "alice")
	other := createUser(t, db, "mallory")
	s, _ := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	expired, _ := createSession(t, db, u.ID, t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	theirs, _ := createSession(t, db, other.ID, t0.Add(-time.Hour), t0.Add(time.Hour))

	revs, err := db.RevokeSessions(ctx, u.ID, s.ID, gatehouse.RevokeOne, t0, until)
	if err != nil {
		t.Fatalf("RevokeSessions: %v", err)
	}
	wantRevocations(t, revs, until, t0, s.ID)
	for _, tc := range []struct{ name, user, session string }{
		{"already revoked", u.ID, s.ID},
		{"expired", u.ID, expired.ID},
		{"another user's", u.ID, theirs.ID},
		{"unknown", u.ID, "nope"},
		{"not an id", u.ID, "\xff"},
	} {
		revs, err := db.RevokeSessions(ctx, tc.user, tc.session, gatehouse.RevokeOne, t0, until)
		if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND || len(revs) != 0 {
			t.Errorf("%s: RevokeSessions = %v, %v; want ENOTFOUND", tc.name, revs, err)
		}
	}
	if got, err := db.SessionByID(ctx, theirs.ID); err != nil || !got.Active(t0) {
		t.Fatalf("the other user's session after the attempt: %+v, %v", got, err)
	}
	if _, err := db.RevokeSessions(ctx, u.ID, s.ID, gatehouse.RevokeScope(42), t0, until); err == nil {
		t.Fatal("RevokeSessions with an unknown scope: no error")
	}
}

// revokeSetup gives alice a current session, three other active ones and
// two that have ended, and bob one.
func revokeSetup(t *testing.T, db *sqldb.DB, t0 time.Time) (alice *gatehouse.User, current *gatehouse.Session, others []string, bobs *gatehouse.Session) {
	alice = createUser(t, db, "alice")
	current, _ = createSession(t, db, alice.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	for range 3 {
		s, _ := createSession(t, db, alice.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
		others = append(others, s.ID)
	}
	createSession(t, db, alice.ID, t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	ended, _ := createSession(t, db, alice.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	if _, err := db.RevokeSessions(t.Context(), alice.ID, ended.ID, gatehouse.RevokeOne, t0.Add(-time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	bob := createUser(t, db, "bob")
	bobs, _ = createSession(t, db, bob.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	return alice, current, others, bobs
}

func testRevokeOthers(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	alice, current, others, bobs := revokeSetup(t, db, t0)
	until := t0.Add(15 * time.Minute)
	revs, err := db.RevokeSessions(ctx, alice.ID, current.ID, gatehouse.RevokeOthers, t0, until)
	if err != nil {
		t.Fatalf("RevokeSessions: %v", err)
	}
	wantRevocations(t, revs, until, t0, others...)
	if got, err := db.ListSessions(ctx, alice.ID, t0); err != nil || len(got) != 1 || got[0].ID != current.ID {
		t.Fatalf("ListSessions after RevokeOthers = %v, %v; want only the current", sessionIDs(got), err)
	}
	if got, err := db.SessionByID(ctx, bobs.ID); err != nil || !got.Active(t0) {
		t.Fatalf("bob's session: %+v, %v", got, err)
	}
	revs, err = db.RevokeSessions(ctx, alice.ID, current.ID, gatehouse.RevokeOthers, t0, until)
	if err != nil || len(revs) != 0 {
		t.Fatalf("RevokeOthers again = %v, %v; want nothing", revs, err)
	}
}

func testRevokeAll(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	alice, current, others, bobs := revokeSetup(t, db, t0)
	until := t0.Add(15 * time.Minute)
	revs, err := db.RevokeSessions(ctx, alice.ID, current.ID, gatehouse.RevokeAll, t0, until)
	if err != nil {
		t.Fatalf("RevokeSessions: %v", err)
	}
	wantRevocations(t, revs, until, t0, append([]string{current.ID}, others...)...)
	if got, err := db.ListSessions(ctx, alice.ID, t0); err != nil || len(got) != 0 {
		t.Fatalf("ListSessions after RevokeAll = %v, %v; want none", sessionIDs(got), err)
	}
	if got, err := db.SessionByID(ctx, bobs.ID); err != nil || !got.Active(t0) {
		t.Fatalf("bob's session: %+v, %v", got, err)
	}
	// The session id does not matter to RevokeAll, not even an unknown one.
	if revs, err := db.RevokeSessions(ctx, alice.ID, "", gatehouse.RevokeAll, t0, until); err != nil || len(revs) != 0 {
		t.Fatalf("RevokeAll again = %v, %v; want nothing", revs, err)
	}
}

func testRevocations(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	revoke := func(at, until time.Time) gatehouse.Revocation {
		s, _ := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
		revs, err := db.RevokeSessions(ctx, u.ID, s.ID, gatehouse.RevokeOne, at, until)
		if err != nil {
			t.Fatal(err)
		}
		return revs[0]
	}
	r1 := revoke(t0.Add(-10*time.Minute), t0.Add(time.Hour))
	revoke(t0.Add(-9*time.Minute), t0.Add(-time.Minute)) // its tokens have all expired by t0
	r3 := revoke(t0.Add(-8*time.Minute), t0.Add(time.Hour))
	r4 := revoke(t0.Add(-20*time.Minute), t0.Add(time.Hour)) // a late commit: old revoked_at, newest seq
	never := t0.Add(time.Hour)
	for _, tc := range []struct {
		name  string
		after int64
		since time.Time
		want  []gatehouse.Revocation
	}{
		{"from the start", 0, never, []gatehouse.Revocation{r1, r3, r4}},
		{"after r1", r1.Seq, never, []gatehouse.Revocation{r3, r4}},
		{"after the last", r4.Seq, never, nil},
		{"window brings back smaller seqs", r4.Seq, t0.Add(-8 * time.Minute), []gatehouse.Revocation{r3}},
		{"window and cursor", r3.Seq, t0.Add(-10 * time.Minute), []gatehouse.Revocation{r1, r3, r4}},
		{"window alone", r4.Seq, t0.Add(-time.Hour), []gatehouse.Revocation{r1, r3, r4}},
	} {
		got, err := db.Revocations(ctx, tc.after, tc.since, t0)
		if err != nil {
			t.Fatalf("%s: Revocations: %v", tc.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: Revocations = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got, err := db.Revocations(ctx, 0, never, t0.Add(2*time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("Revocations once all have expired = %v, %v", got, err)
	}
}

func testDeleteExpired(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	expired, _ := createSession(t, db, u.ID, t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	_, h0 := createSession(t, db, u.ID, t0.Add(-2*time.Hour), t0.Add(time.Hour))
	h1 := rotate(t, db, h0, t0.Add(-time.Minute))
	revokedOld, _ := createSession(t, db, u.ID, t0.Add(-2*time.Hour), t0.Add(time.Hour))
	revokedNew, _ := createSession(t, db, u.ID, t0.Add(-2*time.Hour), t0.Add(time.Hour))
	for _, r := range []struct {
		s         *gatehouse.Session
		at, until time.Time
	}{
		{revokedOld, t0.Add(-30 * time.Minute), t0.Add(-15 * time.Minute)}, // revocation no longer needed
		{revokedNew, t0.Add(-time.Minute), t0.Add(time.Hour)},              // revocation still needed
	} {
		if _, err := db.RevokeSessions(ctx, u.ID, r.s.ID, gatehouse.RevokeOne, r.at, r.until); err != nil {
			t.Fatal(err)
		}
	}
	// expired: session; revokedOld: session + revocation; revokedNew:
	// session (refresh tokens live on their sessions).
	n, err := db.DeleteExpired(ctx, t0)
	if err != nil || n != 4 {
		t.Fatalf("DeleteExpired = %d, %v; want 4", n, err)
	}
	for _, s := range []*gatehouse.Session{expired, revokedOld, revokedNew} {
		_, err := db.SessionByID(ctx, s.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}
	feed, err := db.Revocations(ctx, 0, time.Time{}, t0)
	if err != nil || len(feed) != 1 || feed[0].SessionID != revokedNew.ID {
		t.Fatalf("Revocations after DeleteExpired = %+v, %v; want revokedNew's", feed, err)
	}
	// The live session keeps its current token and its rotated one, which
	// must still be recognised as a replay.
	rotate(t, db, h1, t0)
	if res, _, _, _, err := db.RotateRefresh(ctx, h0, t0, t0.Add(time.Hour), t0); err != nil || res != gatehouse.RefreshReplayed {
		t.Fatalf("RotateRefresh(rotated token) after DeleteExpired = %v, %v; want RefreshReplayed", res, err)
	}
	if n, err := db.DeleteExpired(ctx, t0); err != nil || n != 0 {
		t.Fatalf("DeleteExpired again = %d, %v; want 0", n, err)
	}
}

// testRotateRefreshConcurrent presents one token many times at once:
// exactly one call rotates it, and since the others present a token that
// has been rotated by then, exactly one of them revokes the session as a
// replay (the rest find it ended), so the new token dies with it.
func testRotateRefreshConcurrent(t *testing.T, db *sqldb.DB) {
	const n = 50
	t0 := now()
	u := createUser(t, db, "alice")
	s, h0 := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[gatehouse.RefreshResult]int{}
		revs   []gatehouse.Revocation
		next   string
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			res, _, tok, rv, err := db.RotateRefresh(t.Context(), h0, t0, t0.Add(time.Hour), t0.Add(time.Minute))
			if err != nil {
				t.Errorf("RotateRefresh: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			counts[res]++
			revs = append(revs, rv...)
			if tok != "" {
				next = tok
			}
		})
	}
	close(start)
	wg.Wait()
	t.Logf("rotated %d, replayed %d, unknown %d", counts[gatehouse.RefreshRotated],
		counts[gatehouse.RefreshReplayed], counts[gatehouse.RefreshUnknown])
	if counts[gatehouse.RefreshRotated] != 1 || counts[gatehouse.RefreshReplayed] != 1 || len(revs) != 1 {
		t.Fatalf("%d rotations, %d replays with %d revocations; want exactly one each",
			counts[gatehouse.RefreshRotated], counts[gatehouse.RefreshReplayed], len(revs))
	}
	feed, err := db.Revocations(t.Context(), 0, time.Time{}, t0)
	if err != nil || len(feed) != 1 || feed[0].SessionID != s.ID {
		t.Fatalf("revocations in the store = %+v, %v; want the session's one", feed, err)
	}
	if r, err := db.IsRevoked(t.Context(), s.ID); err != nil || !r {
		t.Fatalf("session not revoked after the replay: %v, %v", r, err)
	}
	if res, _, _, _, err := db.RotateRefresh(t.Context(), parseRefresh(t, next), t0, t0.Add(time.Hour), t0); err != nil || res != gatehouse.RefreshUnknown {
		t.Fatalf("the winner's new token after the replay = %v, %v; want RefreshUnknown", res, err)
	}
}

func testCreateUserConcurrentSameName(t *testing.T, db *sqldb.DB) {
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		name := []string{"carol", "Carol", "CAROL", "cArOl"}[i%4]
		wg.Go(func() { errs[i] = db.CreateUser(t.Context(), &gatehouse.User{Username: name, PasswordHash: "h"}) })
	}
	wg.Wait()
	codes := map[string]int{}
	for _, err := range errs {
		codes[gatehouse.ErrorCode(err)]++
		if c := gatehouse.ErrorCode(err); c != "" && c != gatehouse.EUSERNAMETAKEN {
			t.Errorf("CreateUser: %v", err)
		}
	}
	if codes[""] != 1 || codes[gatehouse.EUSERNAMETAKEN] != n-1 {
		t.Fatalf("results by code = %v; want 1 success and %d %s", codes, n-1, gatehouse.EUSERNAMETAKEN)
	}
}

func testCreateUserConcurrentDistinct(t *testing.T, db *sqldb.DB) {
	const n = 500
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u := &gatehouse.User{Username: fmt.Sprintf("user%03d", i), PasswordHash: "h"}
			if err := db.CreateUser(t.Context(), u); err != nil {
				t.Errorf("CreateUser(%s): %v", u.Username, err)
			}
		})
	}
	wg.Wait()
	users, err := db.ListUsers(t.Context())
	if err != nil || len(users) != n {
		t.Fatalf("ListUsers = %d users, %v; want %d", len(users), err, n)
	}
}

// testMixedConcurrentWrites runs rotations, revocations, new sessions and
// cleanup on one user's sessions at once: lock conflicts between them must
// be resolved inside the store (waits, retried deadlocks), never surface as
// errors.
func testMixedConcurrentWrites(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	var tokens []*gatehouse.RefreshToken
	var sessions []*gatehouse.Session
	for range 10 {
		s, h := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
		sessions, tokens = append(sessions, s), append(tokens, h)
	}
	var wg sync.WaitGroup
	check := func(what string, err error) {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	for i, h := range tokens {
		wg.Go(func() {
			for range 3 {
				res, _, next, _, err := db.RotateRefresh(ctx, h, t0, t0.Add(time.Hour), t0.Add(time.Minute))
				check("RotateRefresh", err)
				if res != gatehouse.RefreshRotated {
					return
				}
				h = parseRefresh(t, next)
			}
		})
		wg.Go(func() {
			s, _ := createSession(t, db, u.ID, t0, t0.Add(time.Hour))
			_, err := db.RevokeSessions(ctx, u.ID, s.ID, gatehouse.RevokeOne, t0, t0.Add(time.Minute))
			if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND { // a RevokeOthers may come first
				check("RevokeOne", err)
			}
		})
		if i%3 == 0 {
			wg.Go(func() {
				_, err := db.RevokeSessions(ctx, u.ID, sessions[i].ID, gatehouse.RevokeOthers, t0, t0.Add(time.Minute))
				check("RevokeOthers", err)
			})
			wg.Go(func() {
				_, err := db.DeleteExpired(ctx, t0)
				check("DeleteExpired", err)
			})
		}
	}
	wg.Wait()
	feed, err := db.Revocations(ctx, 0, time.Time{}, t0)
	check("Revocations", err)
	seen := map[string]bool{}
	for _, r := range feed {
		if seen[r.SessionID] {
			t.Fatalf("session %s revoked twice", r.SessionID)
		}
		seen[r.SessionID] = true
	}
}
