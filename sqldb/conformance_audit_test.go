package sqldb_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqldb"
)

func auditEvent(typ, userID string, at time.Time) *gatehouse.AuditEvent {
	return &gatehouse.AuditEvent{Type: typ, Time: at, UserID: userID, Username: "name-" + userID,
		SessionID: "sess-" + userID, IP: "192.0.2.7", UserAgent: "test/1.0", Reason: "why"}
}

func testAudit(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	base := now().Add(-time.Hour)
	var events []*gatehouse.AuditEvent
	for i, typ := range []string{gatehouse.AuditRegistered, gatehouse.AuditLogin, gatehouse.AuditLoginFailed, gatehouse.AuditLogout} {
		for _, user := range []string{"u1", "u2"} {
			events = append(events, auditEvent(typ, user, base.Add(time.Duration(i)*time.Minute)))
		}
	}
	if err := db.AppendAudit(ctx, events[:3]); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAudit(ctx, events[3:]); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(events); i++ {
		if events[i].ID <= events[i-1].ID {
			t.Fatalf("IDs not increasing in insertion order: %d then %d", events[i-1].ID, events[i].ID)
		}
	}
	all, err := db.AuditEvents(ctx, gatehouse.AuditFilter{})
	if err != nil || len(all) != len(events) {
		t.Fatalf("AuditEvents() = %d events, %v; want %d", len(all), err, len(events))
	}
	if got, want := *all[0], *events[len(events)-1]; got != want {
		t.Fatalf("newest event = %+v, want %+v (as written)", got, want)
	}
	tests := []struct {
		name string
		f    gatehouse.AuditFilter
		want []int // indexes into events, newest first
	}{
		{"user", gatehouse.AuditFilter{UserID: "u1"}, []int{6, 4, 2, 0}},
		{"user and type", gatehouse.AuditFilter{UserID: "u2", Types: []string{gatehouse.AuditLogin, gatehouse.AuditLogout}}, []int{7, 3}},
		{"since", gatehouse.AuditFilter{Since: base.Add(2 * time.Minute)}, []int{7, 6, 5, 4}},
		{"limit", gatehouse.AuditFilter{Limit: 3}, []int{7, 6, 5}},
		{"before", gatehouse.AuditFilter{Before: events[2].ID}, []int{1, 0}},
		{"unknown user", gatehouse.AuditFilter{UserID: "nobody"}, nil},
		{"unlookupable user", gatehouse.AuditFilter{UserID: "a\x00b"}, nil},
	}
	for _, tt := range tests {
		got, err := db.AuditEvents(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var gotIDs, wantIDs []int64
		for _, e := range got {
			gotIDs = append(gotIDs, e.ID)
		}
		for _, i := range tt.want {
			wantIDs = append(wantIDs, events[i].ID)
		}
		if len(gotIDs) != len(wantIDs) || (len(gotIDs) > 0 && !equalIDs(gotIDs, wantIDs)) {
			t.Errorf("%s: ids %v, want %v", tt.name, gotIDs, wantIDs)
		}
	}
	n, err := db.DeleteAuditBefore(ctx, base.Add(2*time.Minute))
	if err != nil || n != 4 {
		t.Fatalf("DeleteAuditBefore = %d, %v; want 4", n, err)
	}
	if left, _ := db.AuditEvents(ctx, gatehouse.AuditFilter{}); len(left) != 4 {
		t.Fatalf("%d events left, want 4", len(left))
	}
}

func equalIDs(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// testAuditHostileText: what a client sends about itself (user agent,
// username tried) is stored cut and cleaned, never failing the insert.
func testAuditHostileText(t *testing.T, db *sqldb.DB) {
	e := &gatehouse.AuditEvent{Type: gatehouse.AuditLoginFailed, Username: "bad\x00name\xff",
		UserAgent: strings.Repeat("é", 1000), IP: "::1", Reason: "unknown_user"}
	if err := db.AppendAudit(t.Context(), []*gatehouse.AuditEvent{e}); err != nil {
		t.Fatal(err)
	}
	got, err := db.AuditEvents(t.Context(), gatehouse.AuditFilter{Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("AuditEvents = %v, %v", got, err)
	}
	if len(got[0].UserAgent) > 512 || strings.ContainsRune(got[0].Username, 0) || got[0].Time.IsZero() {
		t.Fatalf("stored %+v", got[0])
	}
}

func testLockUser(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	u := createUser(t, db, "alice")
	other := createUser(t, db, "bob")
	s1, _ := createSession(t, db, u.ID, now(), now().Add(time.Hour))
	s2, _ := createSession(t, db, u.ID, now(), now().Add(time.Hour))
	sb, _ := createSession(t, db, other.ID, now(), now().Add(time.Hour))
	at := now()
	revs, err := db.LockUser(ctx, u.ID, at, at.Add(time.Hour))
	if err != nil || len(revs) != 2 {
		t.Fatalf("LockUser = %v, %v; want 2 revocations", revs, err)
	}
	for _, s := range []*gatehouse.Session{s1, s2} {
		if r, _ := db.IsRevoked(ctx, s.ID); !r {
			t.Errorf("session %s of the locked user is not revoked", s.ID)
		}
	}
	if r, _ := db.IsRevoked(ctx, sb.ID); r {
		t.Error("another user's session was revoked")
	}
	got, err := db.UserByID(ctx, u.ID)
	if err != nil || !got.LockedAt.Equal(at) {
		t.Fatalf("LockedAt = %v, %v; want %v", got.LockedAt, err, at)
	}
	_, err = db.CreateSession(ctx, &gatehouse.Session{UserID: u.ID, ExpiresAt: now().Add(time.Hour)})
	wantCode(t, err, gatehouse.ECREDENTIALS)
	revs, err = db.LockUser(ctx, u.ID, at.Add(time.Minute), at.Add(time.Hour))
	if err != nil || len(revs) != 0 {
		t.Fatalf("second LockUser = %v, %v", revs, err)
	}
	if got, _ := db.UserByID(ctx, u.ID); !got.LockedAt.Equal(at) {
		t.Fatalf("second lock moved LockedAt to %v", got.LockedAt)
	}
	if err := db.UnlockUser(ctx, u.ID, now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.UserByID(ctx, u.ID); !got.LockedAt.IsZero() {
		t.Fatalf("LockedAt after unlock = %v", got.LockedAt)
	}
	createSession(t, db, u.ID, now(), now().Add(time.Hour))
	for _, id := range []string{"nobody", "a\x00b"} {
		_, err := db.LockUser(ctx, id, now(), now())
		wantCode(t, err, gatehouse.ENOTFOUND)
		wantCode(t, db.UnlockUser(ctx, id, now()), gatehouse.ENOTFOUND)
	}
}

// testLockRacesLogin locks a user while sessions are being created for it:
// afterwards no session of the user may be active. Each CreateSession
// either commits before the lock (and is revoked by it) or sees the lock.
func testLockRacesLogin(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	u := createUser(t, db, "alice")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			for range 5 {
				_, err := db.CreateSession(ctx, &gatehouse.Session{UserID: u.ID, ExpiresAt: now().Add(time.Hour)})
				if c := gatehouse.ErrorCode(err); c != "" && c != gatehouse.ECREDENTIALS {
					t.Errorf("CreateSession: %v", err)
				}
			}
		})
	}
	wg.Go(func() {
		<-start
		time.Sleep(2 * time.Millisecond)
		if _, err := db.LockUser(ctx, u.ID, now(), now().Add(time.Hour)); err != nil {
			t.Errorf("LockUser: %v", err)
		}
	})
	close(start)
	wg.Wait()
	active, err := db.ListSessions(ctx, u.ID, now())
	if err != nil || len(active) != 0 {
		t.Fatalf("after the lock: %d active sessions, %v; want none", len(active), err)
	}
}

func testCountActiveSessions(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	n, err := db.CountActiveSessions(ctx, now())
	if err != nil || n != 0 {
		t.Fatalf("CountActiveSessions on an empty store = %d, %v", n, err)
	}
	u := createUser(t, db, "alice")
	createSession(t, db, u.ID, now(), now().Add(time.Hour))
	createSession(t, db, u.ID, now(), now().Add(time.Hour))
	s, _ := createSession(t, db, u.ID, now(), now().Add(time.Hour))
	createSession(t, db, u.ID, now().Add(-2*time.Hour), now().Add(-time.Hour)) // expired
	if _, err := db.RevokeSessions(ctx, u.ID, s.ID, gatehouse.RevokeOne, now(), now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountActiveSessions(ctx, now()); err != nil || n != 2 {
		t.Fatalf("CountActiveSessions = %d, %v; want 2", n, err)
	}
}
