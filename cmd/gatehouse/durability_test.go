package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
)

// TestKillDuringRegistrations kills a real gatehouse process with SIGKILL
// in the middle of a burst of registrations, then checks the database:
// every registration that was answered 201 is there, and every user that
// is there is whole (logs in with its password through a new process).
func TestKillDuringRegistrations(t *testing.T) {
	bin := gatehouseBinary(t)
	storetest.Each(t, func(t *testing.T, db string) { testKillDuringRegistrations(t, bin, db) })
}

// killAfter is how many 201s the burst collects before the kill; workers
// keep requests in flight the whole time.
const killAfter, workers = 150, 32

func testKillDuringRegistrations(t *testing.T, bin, db string) {
	g := startProcess(t, bin, processEnv(db))
	acked, failed := registerUntilKilled(t, g)
	t.Logf("answered 201 before the kill: %d; requests cut by it: %d", len(acked), failed)

	stored := storedUsers(t, db)
	for name := range acked {
		if !stored[name] {
			t.Errorf("%s was answered 201 but is not in the database", name)
		}
	}
	t.Logf("users in the database: %d (committed but unanswered: %d)", len(stored), len(stored)-len(acked))

	g2 := startProcess(t, bin, processEnv(db))
	names := make([]string, 0, len(stored))
	for name := range stored {
		names = append(names, name)
	}
	c := loadClient(t)
	outs := burst(len(names), 16, func(i int) outcome {
		return post(c, g2.url+"/api/login", map[string]string{"username": names[i], "password": killPassword(names[i])})
	})
	for i, o := range outs {
		if o.status != 200 {
			t.Errorf("stored user %s cannot log in: %d %s %v", names[i], o.status, o.code, o.err)
		}
	}
}

func killPassword(name string) string { return "password of " + name }

// registerUntilKilled registers users from several workers until the
// process is killed (at the killAfter-th 201), and returns the names that
// were answered 201 and how many requests got no answer.
func registerUntilKilled(t *testing.T, g *process) (acked map[string]bool, failed int) {
	t.Helper()
	c := loadClient(t)
	var (
		mu   sync.Mutex
		next atomic.Int64
		kill sync.Once
		wg   sync.WaitGroup
		lost atomic.Int64
	)
	acked = map[string]bool{}
	for range workers {
		wg.Go(func() {
			for {
				name := fmt.Sprintf("kill%05d", next.Add(1))
				o := post(c, g.url+"/api/register", map[string]string{"username": name, "password": killPassword(name)})
				if o.err != nil {
					lost.Add(1)
					return // killed: the connection is gone
				}
				if o.status != 201 {
					t.Errorf("register %s: %d %s", name, o.status, o.code)
					return
				}
				mu.Lock()
				acked[name] = true
				enough := len(acked) >= killAfter
				mu.Unlock()
				if enough {
					kill.Do(g.kill)
				}
			}
		})
	}
	wg.Wait()
	kill.Do(g.kill)
	return acked, int(lost.Load())
}

// storedUsers reads the usernames in the database directly.
func storedUsers(t *testing.T, db string) map[string]bool {
	t.Helper()
	s, err := sqldb.Open(context.Background(), db, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	users, err := s.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, u := range users {
		if u.ID == "" || u.CreatedAt.IsZero() || !strings.HasPrefix(u.PasswordHash, "$bcrypt-hmac-sha256$") {
			t.Errorf("half-written user: %+v", u)
		}
		m[u.Username] = true
	}
	return m
}
