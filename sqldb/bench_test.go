package sqldb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqldb"
)

// The benchmarks run on SQLite in a temp dir, the default store; they are
// the baseline for later performance work.

func benchStore(b *testing.B) *sqldb.DB {
	b.Helper()
	return openStore(b, "sqlite:"+b.TempDir()+"/bench.db")
}

func BenchmarkUserByUsername(b *testing.B) {
	db := benchStore(b)
	for i := range 1000 {
		if err := db.CreateUser(b.Context(), &gatehouse.User{Username: fmt.Sprintf("user%d", i), PasswordHash: "h"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.UserByUsername(b.Context(), fmt.Sprintf("USER%d", i%1000)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkCreateSession(b *testing.B) {
	db := benchStore(b)
	u := &gatehouse.User{Username: "alice", PasswordHash: "h"}
	if err := db.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	expires := time.Now().Add(time.Hour)
	b.ResetTimer()
	for b.Loop() {
		s := &gatehouse.Session{UserID: u.ID, ExpiresAt: expires, UserAgent: "bench", IP: "192.0.2.1"}
		if _, err := db.CreateSession(b.Context(), s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRotateRefresh(b *testing.B) {
	db := benchStore(b)
	u := &gatehouse.User{Username: "alice", PasswordHash: "h"}
	if err := db.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	s := &gatehouse.Session{UserID: u.ID, ExpiresAt: t0.Add(time.Hour)}
	raw, err := db.CreateSession(b.Context(), s)
	if err != nil {
		b.Fatal(err)
	}
	h := parseRefresh(b, raw)
	b.ResetTimer()
	for b.Loop() {
		res, _, next, _, err := db.RotateRefresh(b.Context(), h, t0, t0.Add(time.Hour), t0)
		if err != nil || res != gatehouse.RefreshRotated {
			b.Fatalf("RotateRefresh = %v, %v", res, err)
		}
		h, _ = gatehouse.ParseRefreshToken(next)
	}
}
