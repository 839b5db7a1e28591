package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
)

// seedPrefix names seeded users: seed-0000000, seed-0000001, …
const seedPrefix = "seed-"

func cmdSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("seed", stderr)
	dbURL := fs.String("db", getenv("DATABASE_URL"), "store URL to fill (default $DATABASE_URL); migrated first")
	users := fs.Int("users", 1000, "users to add, named "+seedPrefix+"NNNNNNN")
	sessions := fs.Int("sessions", 1000, "sessions to add, one per user in turn")
	cost := fs.Int("cost", defaultCost, "bcrypt cost of the one password hash every seeded user shares")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("seed: -db (or DATABASE_URL) is required")
	}
	if *users < 1 || *sessions < 0 {
		return errors.New("seed: -users must be positive and -sessions not negative")
	}
	db, err := sqldb.Open(ctx, seedURL(*dbURL), sqldb.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	h, err := (&auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: *cost}).Hash(benchPassword)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := seed(ctx, db, *users, *sessions, h, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users and %d sessions in %v; every password is %q\n", *users, *sessions, time.Since(start).Round(time.Second/10), benchPassword)
	return nil
}

// seedURL tunes an SQLite store's connections for the seeding: a page
// cache of up to 256 MiB, as the session and refresh-token indexes take
// inserts at random places (with the default 2 MiB every insert read pages
// back from the file: 100,000 sessions went at 2,600 a second and
// falling), and statement journals in memory instead of a temp file.
func seedURL(url string) string {
	if !strings.HasPrefix(url, "sqlite:") {
		return url
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "_pragma=cache_size(-262144)&_pragma=temp_store(MEMORY)"
}

// seed adds users named seedPrefix+N and sessions for them in turn, in
// batched transactions, and returns the users' ids. It refuses a store
// seeded before, whose first user it would collide with.
func seed(ctx context.Context, db *sqldb.DB, users, sessions int, hash string, progress io.Writer) ([]string, error) {
	if _, err := db.UserByUsername(ctx, fmt.Sprintf("%s%07d", seedPrefix, 0)); err == nil {
		return nil, fmt.Errorf("seed: the store already has %s0000000: seed an empty store", seedPrefix)
	}
	// Users registered one a millisecond up to now, so that their ids are
	// in time order as real ones are, and index like them.
	now := time.Now().UTC()
	first := now.Add(-time.Duration(users) * time.Millisecond)
	ids := make([]string, 0, users)
	start, shown := time.Now(), time.Now()
	for i := 0; i < users; i += seedChunk {
		batch := newUsers(seedPrefix, i, min(seedChunk, users-i), hash, first.Add(time.Duration(i)*time.Millisecond))
		if err := db.SeedUsers(ctx, batch); err != nil {
			return nil, err
		}
		for _, u := range batch {
			ids = append(ids, u.ID)
		}
		if time.Since(shown) > 5*time.Second {
			fmt.Fprintf(progress, "  users: %d of %d, %.0f a second\n", len(ids), users, float64(len(ids))/time.Since(start).Seconds())
			shown = time.Now()
		}
	}
	start = time.Now()
	for i := 0; i < sessions; i += seedChunk {
		n := min(seedChunk, sessions-i)
		batch := make([]*gatehouse.Session, n)
		for j := range batch {
			batch[j] = &gatehouse.Session{ID: gatehouse.NewID(now), UserID: ids[(i+j)%len(ids)], CreatedAt: now, LastUsedAt: now,
				ExpiresAt: now.Add(720 * time.Hour), UserAgent: "gatehouse-bench seed", IP: "127.0.0.1"}
		}
		if _, err := db.SeedSessions(ctx, batch); err != nil {
			return nil, err
		}
		if time.Since(shown) > 5*time.Second {
			fmt.Fprintf(progress, "  sessions: %d of %d, %.0f a second\n", i+n, sessions, float64(i+n)/time.Since(start).Seconds())
			shown = time.Now()
		}
	}
	return ids, nil
}
