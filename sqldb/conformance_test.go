package sqldb_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqldb"
)

// testStore is the store conformance suite: every gatehouse.Store method,
// its error codes and its behaviour under concurrency, run the same on each
// dialect. fresh returns the url of a new, empty database of the dialect,
// removed when the test ends; each test gets its own, so they run in
// parallel.
func testStore(t *testing.T, fresh func(t *testing.T) string) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, db *sqldb.DB)
	}{
		{"Ping", testPing},
		{"CreateUser", testCreateUser},
		{"UsernameTakenIgnoringCase", testUsernameTaken},
		{"UserNotFound", testUserNotFound},
		{"ListUsers", testListUsers},
		{"SetPasswordHash", testSetPasswordHash},
		{"DeleteUser", testDeleteUser},
		{"CreateSession", testCreateSession},
		{"ListSessions", testListSessions},
		{"IsRevoked", testIsRevoked},
		{"RotateRefresh", testRotateRefresh},
		{"RotateRefreshReplay", testRotateRefreshReplay},
		{"RotateRefreshUnknown", testRotateRefreshUnknown},
		{"RotateRefreshConcurrent", testRotateRefreshConcurrent},
		{"RevokeOne", testRevokeOne},
		{"RevokeOthers", testRevokeOthers},
		{"RevokeAll", testRevokeAll},
		{"Revocations", testRevocations},
		{"DeleteExpired", testDeleteExpired},
		{"SigningKeys", testSigningKeys},
		{"AddSigningKeyAfter", testAddSigningKeyAfter},
		{"AddSigningKeyAfterConcurrent", testAddSigningKeyAfterConcurrent},
		{"RevokeRefresh", testRevokeRefresh},
		{"WatchRevocations", testWatchRevocations},
		{"Throttle", testThrottle},
		{"ThrottleBadKeys", testThrottleBadKeys},
		{"ThrottleConcurrent", testThrottleConcurrent},
		{"DeleteExpiredThrottles", testDeleteExpiredThrottles},
		{"CreateUserConcurrentSameName", testCreateUserConcurrentSameName},
		{"CreateUserConcurrentDistinct", testCreateUserConcurrentDistinct},
		{"MixedConcurrentWrites", testMixedConcurrentWrites},
		{"DeadlineIsUnavailable", testDeadlineIsUnavailable},
		{"InternalErrorIsWrapped", testInternalErrorIsWrapped},
		{"Audit", testAudit},
		{"AuditHostileText", testAuditHostileText},
		{"LockUser", testLockUser},
		{"LockRacesLogin", testLockRacesLogin},
		{"CountActiveSessions", testCountActiveSessions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, openStore(t, fresh(t)))
		})
	}
	t.Run("MigrateIdempotent", func(t *testing.T) {
		t.Parallel()
		testMigrateIdempotent(t, fresh(t))
	})
	t.Run("MigrateConcurrent", func(t *testing.T) {
		t.Parallel()
		testMigrateConcurrent(t, fresh(t))
	})
	t.Run("MigrateRefreshOntoSessions", func(t *testing.T) {
		t.Parallel()
		testMigrateRefreshOntoSessions(t, fresh(t))
	})
}

// now is the tests' present: the precision the store keeps, UTC.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func newHash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// wantCode fails the test unless err carries code ("" for nil).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (error: %v)", got, code, err)
	}
}

func createUser(t *testing.T, db *sqldb.DB, username string) *gatehouse.User {
	t.Helper()
	u := &gatehouse.User{Username: username, PasswordHash: "$2a$04$hash-of-" + username}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

// createSession creates a session of userID created at created and
// expiring at expires, and returns it with its refresh token.
func createSession(t *testing.T, db *sqldb.DB, userID string, created, expires time.Time) (*gatehouse.Session, *gatehouse.RefreshToken) {
	t.Helper()
	s := &gatehouse.Session{UserID: userID, CreatedAt: created, ExpiresAt: expires,
		UserAgent: "test/1.0", IP: "192.0.2.1"}
	raw, err := db.CreateSession(t.Context(), s)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return s, parseRefresh(t, raw)
}

// parseRefresh parses a refresh token the store returned.
func parseRefresh(t testing.TB, raw string) *gatehouse.RefreshToken {
	t.Helper()
	tok, ok := gatehouse.ParseRefreshToken(raw)
	if !ok {
		t.Fatalf("the store returned %q, not a refresh token", raw)
	}
	return tok
}

// rotate rotates tok at now, which must succeed, and returns the new token.
func rotate(t testing.TB, db *sqldb.DB, tok *gatehouse.RefreshToken, now time.Time) *gatehouse.RefreshToken {
	t.Helper()
	res, _, next, _, err := db.RotateRefresh(t.Context(), tok, now, now.Add(time.Hour), now)
	if err != nil || res != gatehouse.RefreshRotated {
		t.Fatalf("RotateRefresh = %v, %v; want RefreshRotated", res, err)
	}
	return parseRefresh(t, next)
}

// forgedRefresh is a well-formed refresh token of generation gen for the
// session, signed with a key that is not the session's.
func forgedRefresh(t testing.TB, sessionID string, gen uint64) *gatehouse.RefreshToken {
	t.Helper()
	tok, ok := gatehouse.NewRefreshToken(sessionID, gen)
	if !ok {
		t.Fatalf("NewRefreshToken(%q): not a UUID", sessionID)
	}
	return parseRefresh(t, tok.Sign(gatehouse.NewRefreshKey()))
}

func sameUser(t *testing.T, got, want *gatehouse.User) {
	t.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.PasswordHash != want.PasswordHash ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("user = %+v, want %+v", got, want)
	}
}

func testPing(t *testing.T, db *sqldb.DB) {
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	switch d := db.Dialect(); d {
	case "sqlite", "mysql", "postgres":
	default:
		t.Fatalf("Dialect() = %q", d)
	}
}

func testCreateUser(t *testing.T, db *sqldb.DB) {
	u := createUser(t, db, "Alice")
	if u.ID == "" || u.CreatedAt.IsZero() || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Fatalf("CreateUser did not fill in ID and times: %+v", u)
	}
	for _, lookup := range []func() (*gatehouse.User, error){
		func() (*gatehouse.User, error) { return db.UserByID(t.Context(), u.ID) },
		func() (*gatehouse.User, error) { return db.UserByUsername(t.Context(), "Alice") },
		func() (*gatehouse.User, error) { return db.UserByUsername(t.Context(), "alice") },
		func() (*gatehouse.User, error) { return db.UserByUsername(t.Context(), "ALICE") },
	} {
		got, err := lookup()
		if err != nil {
			t.Fatalf("lookup: %v", err)
		}
		sameUser(t, got, u)
	}
	given := &gatehouse.User{ID: "user-given-id", Username: "bob", PasswordHash: "h",
		CreatedAt: now().Add(-time.Hour), UpdatedAt: now()}
	if err := db.CreateUser(t.Context(), given); err != nil {
		t.Fatal(err)
	}
	got, err := db.UserByID(t.Context(), "user-given-id")
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, got, given)
}

func testUsernameTaken(t *testing.T, db *sqldb.DB) {
	createUser(t, db, "Alice")
	for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
		err := db.CreateUser(t.Context(), &gatehouse.User{Username: name, PasswordHash: "h"})
		wantCode(t, err, gatehouse.EUSERNAMETAKEN)
	}
	u, err := db.UserByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "Alice" {
		t.Fatalf("username = %q, want %q (as first registered)", u.Username, "Alice")
	}
	createUser(t, db, "Alice2")
	users, err := db.ListUsers(t.Context())
	if err != nil || len(users) != 2 {
		t.Fatalf("ListUsers = %d users, %v; want 2", len(users), err)
	}
}

func testUserNotFound(t *testing.T, db *sqldb.DB) {
	createUser(t, db, "someone")
	ctx := t.Context()
	for _, key := range []string{"nobody", "", "\xff\xfe", "a\x00b", "someone "} {
		_, err := db.UserByID(ctx, key)
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = db.UserByUsername(ctx, key)
		wantCode(t, err, gatehouse.ENOTFOUND)
		wantCode(t, db.SetPasswordHash(ctx, key, "h", now()), gatehouse.ENOTFOUND)
		_, err = db.DeleteUser(ctx, key, now(), now().Add(time.Hour))
		wantCode(t, err, gatehouse.ENOTFOUND)
	}
}

func testListUsers(t *testing.T, db *sqldb.DB) {
	users, err := db.ListUsers(t.Context())
	if err != nil || len(users) != 0 {
		t.Fatalf("ListUsers on an empty store = %v, %v", users, err)
	}
	base := now()
	var want []string
	for i, name := range []string{"carol", "bob", "alice"} { // inserted newest first
		u := &gatehouse.User{Username: name, PasswordHash: "h", CreatedAt: base.Add(-time.Duration(i) * time.Hour)}
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		want = append([]string{name}, want...)
	}
	users, err = db.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range users {
		got = append(got, u.Username)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ListUsers = %v, want %v (oldest first)", got, want)
	}
}

func testSetPasswordHash(t *testing.T, db *sqldb.DB) {
	u := createUser(t, db, "alice")
	later := now().Add(time.Minute)
	for range 2 { // the second time changes nothing and still finds the user
		if err := db.SetPasswordHash(t.Context(), u.ID, "$argon2id$new", later); err != nil {
			t.Fatalf("SetPasswordHash: %v", err)
		}
	}
	got, err := db.UserByID(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash != "$argon2id$new" || !got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("after SetPasswordHash: %+v", got)
	}
}

func testDeleteUser(t *testing.T, db *sqldb.DB) {
	t0 := now()
	u := createUser(t, db, "alice")
	other := createUser(t, db, "bob")
	a1, h1 := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	a2, _ := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	expired, _ := createSession(t, db, u.ID, t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	revoked, _ := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	if _, err := db.RevokeSessions(t.Context(), u.ID, revoked.ID, gatehouse.RevokeOne, t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	keep, _ := createSession(t, db, other.ID, t0.Add(-time.Hour), t0.Add(time.Hour))

	until := t0.Add(15 * time.Minute)
	revs, err := db.DeleteUser(t.Context(), u.ID, t0, until)
	if err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	wantRevocations(t, revs, until, t0, a1.ID, a2.ID)
	_, err = db.UserByID(t.Context(), u.ID)
	wantCode(t, err, gatehouse.ENOTFOUND)
	for _, s := range []*gatehouse.Session{a1, a2, expired, revoked} {
		_, err := db.SessionByID(t.Context(), s.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
		if r, err := db.IsRevoked(t.Context(), s.ID); err != nil || !r {
			t.Fatalf("IsRevoked(deleted session) = %v, %v; want true", r, err)
		}
	}
	if res, _, _, _, err := db.RotateRefresh(t.Context(), h1, t0, t0.Add(time.Hour), until); err != nil || res != gatehouse.RefreshUnknown {
		t.Fatalf("RotateRefresh(deleted user's token) = %v, %v; want RefreshUnknown", res, err)
	}
	feed, err := db.Revocations(t.Context(), revs[0].Seq-1, t0.Add(time.Hour), t0)
	if err != nil || len(feed) != 2 {
		t.Fatalf("Revocations after DeleteUser = %v, %v; want the 2", feed, err)
	}
	_, err = db.DeleteUser(t.Context(), u.ID, t0, until)
	wantCode(t, err, gatehouse.ENOTFOUND)
	if s, err := db.SessionByID(t.Context(), keep.ID); err != nil || !s.Active(t0) {
		t.Fatalf("another user's session: %+v, %v", s, err)
	}
}

// wantRevocations checks revs: one for each of ids (in any order), each
// with until and revokedAt, with increasing Seq.
func wantRevocations(t *testing.T, revs []gatehouse.Revocation, until, revokedAt time.Time, ids ...string) {
	t.Helper()
	if len(revs) != len(ids) {
		t.Fatalf("got %d revocations %+v, want %d", len(revs), revs, len(ids))
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for i, r := range revs {
		if !want[r.SessionID] || !r.Until.Equal(until) || !r.RevokedAt.Equal(revokedAt) || r.Seq <= 0 ||
			(i > 0 && r.Seq <= revs[i-1].Seq) {
			t.Fatalf("revocation %d = %+v; want sessions %v, until %v, revoked at %v, Seq increasing",
				i, r, ids, until, revokedAt)
		}
		delete(want, r.SessionID)
	}
}

func testSigningKeys(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	keys, err := db.SigningKeys(ctx)
	if err != nil || len(keys) != 0 {
		t.Fatalf("SigningKeys on an empty store = %v, %v", keys, err)
	}
	k2 := &gatehouse.SigningKey{ID: "k2", Algorithm: "EdDSA", Private: []byte{2, 0, 255},
		CreatedAt: t0.Add(-time.Hour), NotBefore: t0.Add(-time.Hour), RetireAt: t0.Add(time.Hour)}
	k1 := &gatehouse.SigningKey{ID: "k1", Algorithm: "EdDSA", Private: make([]byte, 64),
		CreatedAt: t0.Add(-2 * time.Hour), NotBefore: t0.Add(-time.Hour)}
	k3 := &gatehouse.SigningKey{ID: "k3", Algorithm: "EdDSA", Private: []byte{3}}
	for _, k := range []*gatehouse.SigningKey{k2, k1, k3} {
		if err := db.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey: %v", err)
		}
	}
	if k3.CreatedAt.IsZero() || !k3.NotBefore.Equal(k3.CreatedAt) {
		t.Fatalf("AddSigningKey did not fill in the times: %+v", k3)
	}
	wantKeys(t, db, k1, k2, k3)
	k1.RetireAt = t0
	wantCode(t, db.RetireSigningKey(ctx, "k1", t0), "")
	k2.RetireAt = time.Time{}
	wantCode(t, db.RetireSigningKey(ctx, "k2", time.Time{}), "")
	wantKeys(t, db, k1, k2, k3)
	wantCode(t, db.RetireSigningKey(ctx, "k1", t0), "") // the same again still finds it
	wantCode(t, db.RetireSigningKey(ctx, "nope", t0), gatehouse.ENOTFOUND)
	wantCode(t, db.DeleteSigningKey(ctx, "k1"), "")
	wantCode(t, db.DeleteSigningKey(ctx, "k1"), gatehouse.ENOTFOUND)
	wantKeys(t, db, k2, k3)
}

func wantKeys(t *testing.T, db *sqldb.DB, want ...*gatehouse.SigningKey) {
	t.Helper()
	got, err := db.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("SigningKeys = %d keys, want %d", len(got), len(want))
	}
	for i, k := range got {
		w := want[i]
		if k.ID != w.ID || k.Algorithm != w.Algorithm || string(k.Private) != string(w.Private) ||
			!k.CreatedAt.Equal(w.CreatedAt) || !k.NotBefore.Equal(w.NotBefore) || !k.RetireAt.Equal(w.RetireAt) {
			t.Fatalf("key %d = %+v, want %+v", i, k, w)
		}
	}
}

func testDeadlineIsUnavailable(t *testing.T, db *sqldb.DB) {
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := db.UserByID(ctx, "x")
	wantCode(t, err, gatehouse.EUNAVAILABLE)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v does not wrap the cause", err)
	}
	if msg := gatehouse.ErrorMessage(err); msg != "store unavailable" {
		t.Fatalf("client message = %q", msg)
	}
	wantCode(t, db.CreateUser(ctx, &gatehouse.User{Username: "x", PasswordHash: "h"}), gatehouse.EUNAVAILABLE)
}

func testInternalErrorIsWrapped(t *testing.T, db *sqldb.DB) {
	k := &gatehouse.SigningKey{ID: "dup", Algorithm: "EdDSA", Private: []byte{1}}
	if err := db.AddSigningKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	err := db.AddSigningKey(t.Context(), k)
	wantCode(t, err, gatehouse.EINTERNAL)
	if msg := gatehouse.ErrorMessage(err); msg != "internal error" {
		t.Fatalf("client message = %q", msg)
	}
	u := createUser(t, db, "alice")
	if _, err := db.CreateSession(t.Context(), &gatehouse.Session{ID: "not-a-uuid", UserID: u.ID, ExpiresAt: now()}); err == nil {
		t.Fatal("CreateSession with an id that is not a UUID: no error")
	}
}

func testMigrateIdempotent(t *testing.T, url string) {
	db := openDB(t, url)
	for i := range 3 {
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	if err := openDB(t, url).Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate from a second handle: %v", err)
	}
	wantMigrated(t, db)
}

func testMigrateConcurrent(t *testing.T, url string) {
	const n = 5
	dbs := make([]*sqldb.DB, n)
	for i := range dbs {
		dbs[i] = openDB(t, url) // separate pools, as separate processes would have
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, db := range dbs {
		wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}
	wantMigrated(t, dbs[0])
}

// wantMigrated checks that every migration is recorded once and that the
// schema works.
func wantMigrated(t *testing.T, db *sqldb.DB) {
	t.Helper()
	n, err := sqldb.QueryIntForTest(t.Context(), db, "SELECT COUNT(*) FROM schema_migrations")
	if want := sqldb.MigrationsForTest(db); err != nil || n != want {
		t.Fatalf("schema_migrations has %d rows, %v; want %d", n, err, want)
	}
	createUser(t, db, "after-migrate")
}
