package sqldb_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqldb"
)

func sameSession(t *testing.T, got, want *gatehouse.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.UserAgent != want.UserAgent || got.IP != want.IP ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.LastUsedAt.Equal(want.LastUsedAt) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || !got.RevokedAt.Equal(want.RevokedAt) {
		t.Fatalf("session = %+v, want %+v", got, want)
	}
}

func sessionIDs(sessions []*gatehouse.Session) []string {
	var ids []string
	for _, s := range sessions {
		ids = append(ids, s.ID)
	}
	return ids
}

func testCreateSession(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	s := &gatehouse.Session{UserID: u.ID, ExpiresAt: t0.Add(time.Hour),
		UserAgent: strings.Repeat("é", 300), IP: "2001:db8::1"}
	if _, err := db.CreateSession(ctx, s); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if s.ID == "" || s.CreatedAt.IsZero() || !s.LastUsedAt.Equal(s.CreatedAt) {
		t.Fatalf("CreateSession did not fill in ID and times: %+v", s)
	}
	if len(s.UserAgent) != 512 || !utf8.ValidString(s.UserAgent) {
		t.Fatalf("user agent is %d bytes (valid UTF-8: %v), want 512", len(s.UserAgent), utf8.ValidString(s.UserAgent))
	}
	got, err := db.SessionByID(ctx, s.ID)
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	sameSession(t, got, s)

	odd := &gatehouse.Session{UserID: u.ID, ExpiresAt: t0.Add(time.Hour), UserAgent: "a\x00b\xffc"}
	if _, err := db.CreateSession(ctx, odd); err != nil {
		t.Fatalf("CreateSession with NUL and invalid UTF-8: %v", err)
	}
	if got, err := db.SessionByID(ctx, odd.ID); err != nil || got.UserAgent != "ab\uFFFDc" {
		t.Fatalf("stored user agent = %q, %v", got.UserAgent, err)
	}

	_, err = db.CreateSession(ctx, &gatehouse.Session{UserID: "no-such-user", ExpiresAt: t0.Add(time.Hour)})
	wantCode(t, err, gatehouse.ENOTFOUND)
	for _, id := range []string{"nope", "\xff", "a\x00", s.ID + " "} {
		_, err = db.SessionByID(ctx, id)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}
}

func testListSessions(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	a := createUser(t, db, "alice")
	b := createUser(t, db, "bob")
	s1, _ := createSession(t, db, a.ID, t0.Add(-3*time.Hour), t0.Add(time.Hour))
	s3, _ := createSession(t, db, a.ID, t0.Add(-1*time.Hour), t0.Add(time.Hour))
	s2, _ := createSession(t, db, a.ID, t0.Add(-2*time.Hour), t0.Add(time.Hour))
	createSession(t, db, a.ID, t0.Add(-3*time.Hour), t0) // expires at t0: ended
	revoked, _ := createSession(t, db, a.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	if _, err := db.RevokeSessions(ctx, a.ID, revoked.ID, gatehouse.RevokeOne, t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	createSession(t, db, b.ID, t0.Add(-time.Hour), t0.Add(time.Hour))

	got, err := db.ListSessions(ctx, a.ID, t0)
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	if ids, want := sessionIDs(got), []string{s3.ID, s2.ID, s1.ID}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("ListSessions = %v, want %v (active, newest first)", ids, want)
	}
	sameSession(t, got[0], s3)
	if got, err := db.ListSessions(ctx, "nobody", t0); err != nil || len(got) != 0 {
		t.Fatalf("ListSessions(unknown user) = %v, %v", got, err)
	}
}

func testIsRevoked(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	live, _ := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	expired, _ := createSession(t, db, u.ID, t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	gone, _ := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	if _, err := db.RevokeSessions(ctx, u.ID, gone.ID, gatehouse.RevokeOne, t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{{live.ID, false}, {expired.ID, false}, {gone.ID, true}, {"unknown", true}, {"\xff", true}} {
		if got, err := db.IsRevoked(ctx, tc.id); err != nil || got != tc.want {
			t.Errorf("IsRevoked(%q) = %v, %v; want %v", tc.id, got, err, tc.want)
		}
	}
}

func testRotateRefresh(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	s, h0 := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	if h0.SessionID != s.ID || h0.Gen != 0 {
		t.Fatalf("first token: session %s, generation %d; want %s, 0", h0.SessionID, h0.Gen, s.ID)
	}
	exp1, exp2 := t0.Add(30*24*time.Hour), t0.Add(31*24*time.Hour)
	res, got, raw1, revs, err := db.RotateRefresh(ctx, h0, t0, exp1, t0.Add(time.Minute))
	if err != nil || res != gatehouse.RefreshRotated || len(revs) != 0 {
		t.Fatalf("RotateRefresh = %v, %v, %v; want RefreshRotated", res, revs, err)
	}
	h1 := parseRefresh(t, raw1)
	if h1.SessionID != s.ID || h1.Gen != 1 {
		t.Fatalf("rotated token: session %s, generation %d; want %s, 1", h1.SessionID, h1.Gen, s.ID)
	}
	want := *s
	want.LastUsedAt, want.ExpiresAt = t0, exp1
	sameSession(t, got, &want)
	stored, err := db.SessionByID(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, stored, &want)
	t1 := t0.Add(time.Minute)
	res, got, raw2, _, err := db.RotateRefresh(ctx, h1, t1, exp2, t1)
	if err != nil || res != gatehouse.RefreshRotated || !got.ExpiresAt.Equal(exp2) || !got.LastUsedAt.Equal(t1) {
		t.Fatalf("second rotation = %v, %+v, %v", res, got, err)
	}
	if h2 := parseRefresh(t, raw2); h2.Gen != 2 || raw2 == raw1 {
		t.Fatalf("second rotation gave generation %d (%q after %q)", h2.Gen, raw2, raw1)
	}
}

// testRotateRefreshReplay: a genuine token of an earlier generation revokes
// its session, however many generations ago it was rotated.
func testRotateRefreshReplay(t *testing.T, db *sqldb.DB) {
	for _, back := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d generations back", back), func(t *testing.T) {
			ctx, t0 := t.Context(), now()
			u := createUser(t, db, fmt.Sprintf("alice%d", back))
			s, h0 := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
			cur := h0
			for range back {
				cur = rotate(t, db, cur, t0)
			}
			t1, until := t0.Add(time.Second), t0.Add(15*time.Minute)
			res, got, next, revs, err := db.RotateRefresh(ctx, h0, t1, t1.Add(time.Hour), until)
			if err != nil || res != gatehouse.RefreshReplayed || got != nil || next != "" {
				t.Fatalf("replay = %v, %v, %q, %v; want RefreshReplayed", res, got, next, err)
			}
			wantRevocations(t, revs, until, t1, s.ID)
			if stored, err := db.SessionByID(ctx, s.ID); err != nil || !stored.RevokedAt.Equal(t1) {
				t.Fatalf("session after replay: %+v, %v; want revoked at %v", stored, err, t1)
			}
			if r, err := db.IsRevoked(ctx, s.ID); err != nil || !r {
				t.Fatalf("IsRevoked after replay = %v, %v", r, err)
			}
			for name, h := range map[string]*gatehouse.RefreshToken{"the current token": cur, "the replayed token again": h0} {
				res, _, _, revs, err := db.RotateRefresh(ctx, h, t1, t1.Add(time.Hour), until)
				if err != nil || res != gatehouse.RefreshUnknown || len(revs) != 0 {
					t.Fatalf("%s after replay = %v, %v, %v; want RefreshUnknown", name, res, revs, err)
				}
			}
			feed, err := db.Revocations(ctx, revs[0].Seq-1, t1, t1)
			if err != nil || len(feed) != 1 || feed[0] != revs[0] {
				t.Fatalf("Revocations = %+v, %v; want only %+v", feed, err, revs[0])
			}
		})
	}
}

// testRotateRefreshUnknown: tokens that do not rotate and change nothing.
// A forged token naming a real session (its id is in every access token's
// sid claim) must not revoke it, whatever generation it claims.
func testRotateRefreshUnknown(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	live, hLive := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	hLive1 := rotate(t, db, hLive, t0)
	_, hExp := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	revoked, hRev := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	if _, err := db.RevokeSessions(ctx, u.ID, revoked.ID, gatehouse.RevokeOne, t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	legacy, _ := createSession(t, db, u.ID, t0.Add(-time.Hour), t0.Add(time.Hour))
	hLegacy := forgedRefresh(t, legacy.ID, 0)
	// A session from before migration 0005 has no refresh columns.
	if err := sqldb.ExecForTest(ctx, db, `UPDATE sessions SET refresh_hash = NULL, refresh_key = NULL WHERE id = '`+legacy.ID+`'`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tok  *gatehouse.RefreshToken
		now  time.Time
	}{
		{"no such session", forgedRefresh(t, gatehouse.NewID(t0), 0), t0},
		{"forged, older generation", forgedRefresh(t, live.ID, 0), t0},
		{"forged, current generation", forgedRefresh(t, live.ID, 1), t0},
		{"forged, later generation", forgedRefresh(t, live.ID, 7), t0},
		{"expired", hExp, t0.Add(time.Hour)},
		{"session revoked", hRev, t0},
		{"session from before the migration", hLegacy, t0},
	} {
		res, s, next, revs, err := db.RotateRefresh(ctx, tc.tok, tc.now, tc.now.Add(time.Hour), tc.now)
		if err != nil || res != gatehouse.RefreshUnknown || s != nil || next != "" || revs != nil {
			t.Errorf("%s: RotateRefresh = %v, %v, %q, %v, %v; want RefreshUnknown", tc.name, res, s, next, revs, err)
		}
	}
	if r, err := db.IsRevoked(ctx, live.ID); err != nil || r {
		t.Fatalf("forged tokens revoked the session: %v, %v", r, err)
	}
	// RefreshUnknown changed nothing: the live session's current token, and
	// the token that had expired only at the later time, still rotate now.
	rotate(t, db, hLive1, t0)
	rotate(t, db, hExp, t0)
}

// testMigrateRefreshOntoSessions upgrades a store with a session and its
// refresh token as migration 0004 left them: the session lives on, its old
// token (which only its hash could have matched) is gone with the
// refresh_tokens table, and no token presented for it rotates or revokes
// it; new sessions rotate as usual.
func testMigrateRefreshOntoSessions(t *testing.T, url string) {
	ctx, t0 := t.Context(), now()
	db := openDB(t, url)
	if err := sqldb.MigrateToForTest(ctx, db, 4); err != nil {
		t.Fatalf("migrate to 0004: %v", err)
	}
	uid, sid := gatehouse.NewID(t0), gatehouse.NewID(t0)
	hash := "X'" + strings.Repeat("ab", 32) + "'"
	if db.Dialect() == "postgres" {
		hash = `'\x` + strings.Repeat("ab", 32) + `'::bytea`
	}
	created, expires := t0.Add(-time.Hour).UnixMicro(), t0.Add(time.Hour).UnixMicro()
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO users (id, username, username_key, password_hash, created_at, updated_at) VALUES ('%s', 'Bob', 'bob', 'h', %d, %d)`, uid, created, created),
		fmt.Sprintf(`INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip) VALUES ('%s', '%s', %d, %d, %d, '', '')`, sid, uid, created, created, expires),
		fmt.Sprintf(`INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (%s, '%s', %d, %d)`, hash, sid, created, expires),
	} {
		if err := sqldb.ExecForTest(ctx, db, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate from 0004: %v", err)
	}
	wantMigrated(t, db)
	if _, err := sqldb.QueryIntForTest(ctx, db, `SELECT COUNT(*) FROM refresh_tokens`); err == nil {
		t.Fatal("refresh_tokens is still there")
	}
	for _, gen := range []uint64{0, 1} {
		tok := forgedRefresh(t, sid, gen)
		if res, _, _, _, err := db.RotateRefresh(ctx, tok, t0, t0.Add(time.Hour), t0); err != nil || res != gatehouse.RefreshUnknown {
			t.Fatalf("RotateRefresh(a token for the old session) = %v, %v; want RefreshUnknown", res, err)
		}
		if revs, err := db.RevokeRefresh(ctx, tok, t0, t0); err != nil || len(revs) != 0 {
			t.Fatalf("RevokeRefresh(a token for the old session) = %v, %v; want nothing", revs, err)
		}
	}
	if s, err := db.SessionByID(ctx, sid); err != nil || !s.Active(t0) || s.UserID != uid {
		t.Fatalf("the old session after the migration: %+v, %v; want it active", s, err)
	}
	u := createUser(t, db, "alice")
	_, tok := createSession(t, db, u.ID, t0, t0.Add(time.Hour))
	rotate(t, db, rotate(t, db, tok, t0), t0)
}
