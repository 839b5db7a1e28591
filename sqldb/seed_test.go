package sqldb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/storetest"
)

// TestSeed loads users and sessions in bulk, more than one statement's
// worth and not a multiple of it, and reads them back through the ordinary
// methods: what SeedUsers and SeedSessions write is what the store would.
func TestSeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := openStore(t, url)
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Microsecond)
		users := make([]*gatehouse.User, 601)
		for i := range users {
			users[i] = &gatehouse.User{ID: gatehouse.NewID(now), Username: fmt.Sprintf("Seed-%04d", i), PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
		}
		if err := db.SeedUsers(ctx, users); err != nil {
			t.Fatal(err)
		}
		sessions := make([]*gatehouse.Session, len(users))
		for i := range sessions {
			sessions[i] = &gatehouse.Session{ID: gatehouse.NewID(now), UserID: users[i].ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), UserAgent: "seed", IP: "192.0.2.1"}
		}
		tokens, err := db.SeedSessions(ctx, sessions)
		if err != nil {
			t.Fatal(err)
		}
		all, err := db.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(users) {
			t.Fatalf("ListUsers has %d users, want %d", len(all), len(users))
		}
		u, err := db.UserByUsername(ctx, "seed-0600") // the last row, found without regard to case
		if err != nil || u.ID != users[600].ID {
			t.Fatalf("UserByUsername = %v, %v; want %s", u, err, users[600].ID)
		}
		list, err := db.ListSessions(ctx, users[600].ID, now)
		if err != nil || len(list) != 1 || list[0].ID != sessions[600].ID || list[0].UserAgent != "seed" {
			t.Fatalf("ListSessions = %v, %v", list, err)
		}
		if len(tokens) != len(sessions) {
			t.Fatalf("SeedSessions returned %d tokens for %d sessions", len(tokens), len(sessions))
		}
		rotate(t, db, parseRefresh(t, tokens[600]), now)
		if err := db.SeedUsers(ctx, users[:1]); err == nil {
			t.Fatal("seeding a taken username succeeded")
		}
		if _, err := db.SeedSessions(ctx, sessions[:1]); err == nil {
			t.Fatal("seeding a session twice succeeded")
		}
	})
}
