package sqldb_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqldb"
)

var throttleRule = gatehouse.ThrottleRule{Limit: 3, Window: 15 * time.Minute, MaxWindow: time.Hour}

// takeThrottle takes one attempt and fails the test on an error or when
// the outcome is not want.
func takeThrottle(t *testing.T, db *sqldb.DB, key string, at time.Time, want bool) gatehouse.Throttle {
	t.Helper()
	th, ok, err := db.TakeThrottle(t.Context(), key, at, throttleRule)
	if err != nil {
		t.Fatalf("TakeThrottle(%q): %v", key, err)
	}
	if ok != want {
		t.Fatalf("TakeThrottle(%q) at %v = %+v, %v; want %v", key, at, th, ok, want)
	}
	return th
}

func readThrottle(t *testing.T, db *sqldb.DB, key string) gatehouse.Throttle {
	t.Helper()
	th, err := db.Throttle(t.Context(), key)
	if err != nil {
		t.Fatalf("Throttle(%q): %v", key, err)
	}
	return th
}

// testThrottle: the store keeps what the rule computes, blocks at the
// limit, keeps keys apart and forgets a key on reset.
func testThrottle(t *testing.T, db *sqldb.DB) {
	t0 := now()
	if got := readThrottle(t, db, "k1"); got != (gatehouse.Throttle{}) {
		t.Fatalf("Throttle of an unknown key = %+v, want zero", got)
	}
	var want gatehouse.Throttle
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Second)
		want, _ = want.Take(at, throttleRule)
		if got := takeThrottle(t, db, "k1", at, true); got != want {
			t.Fatalf("take %d = %+v, want %+v", i+1, got, want)
		}
	}
	if got := readThrottle(t, db, "k1"); got != want {
		t.Fatalf("Throttle after three takes = %+v, want %+v", got, want)
	}
	if got := takeThrottle(t, db, "k1", t0.Add(time.Minute), false); got != want {
		t.Fatalf("refused take returned %+v, want the record %+v", got, want)
	}
	if got := readThrottle(t, db, "k1"); got != want {
		t.Fatalf("a refused take changed the record: %+v, want %+v", got, want)
	}
	takeThrottle(t, db, "K1", t0.Add(time.Minute), true) // keys are compared byte for byte
	takeThrottle(t, db, "k2", t0.Add(time.Minute), true)
	takeThrottle(t, db, "k1", want.WindowEnd, true)
	if err := db.ResetThrottle(t.Context(), "k1"); err != nil {
		t.Fatalf("ResetThrottle: %v", err)
	}
	if got := readThrottle(t, db, "k1"); got != (gatehouse.Throttle{}) {
		t.Fatalf("Throttle after reset = %+v, want zero", got)
	}
	if err := db.ResetThrottle(t.Context(), "never-seen"); err != nil {
		t.Fatalf("ResetThrottle of an unknown key: %v", err)
	}
	if th := readThrottle(t, db, "k2"); th.Count != 1 {
		t.Fatalf("k2 after resetting k1 = %+v", th)
	}
}

func testThrottleBadKeys(t *testing.T, db *sqldb.DB) {
	for _, key := range []string{"", strings.Repeat("k", 129), "a\x00b", "\xff"} {
		if _, _, err := db.TakeThrottle(t.Context(), key, now(), throttleRule); err == nil {
			t.Errorf("TakeThrottle(%q): no error", key)
		}
		if _, err := db.Throttle(t.Context(), key); err == nil {
			t.Errorf("Throttle(%q): no error", key)
		}
		if err := db.ResetThrottle(t.Context(), key); err == nil {
			t.Errorf("ResetThrottle(%q): no error", key)
		}
	}
	long := strings.Repeat("k", 128)
	takeThrottle(t, db, long, now(), true)
	if th := readThrottle(t, db, long); th.Count != 1 {
		t.Fatalf("128-byte key: %+v", th)
	}
}

// testThrottleConcurrent: of many concurrent takes on one key, exactly
// the limit succeed, whichever instance (connection) they come through.
func testThrottleConcurrent(t *testing.T, db *sqldb.DB) {
	const n = 12
	t0 := now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, ok, err := db.TakeThrottle(t.Context(), "shared", t0.Add(time.Duration(i)*time.Millisecond), throttleRule)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent TakeThrottle: %v", err)
	}
	if granted != throttleRule.Limit {
		t.Fatalf("%d of %d concurrent takes succeeded, want %d", granted, n, throttleRule.Limit)
	}
	if th := readThrottle(t, db, "shared"); th.Count != throttleRule.Limit {
		t.Fatalf("record after the race = %+v", th)
	}
}

func testDeleteExpiredThrottles(t *testing.T, db *sqldb.DB) {
	t0 := now()
	old := takeThrottle(t, db, "old", t0.Add(-3*time.Hour), true)
	fresh := takeThrottle(t, db, "fresh", t0, true)
	if !old.ForgetAt.Before(t0) || !fresh.ForgetAt.After(t0) {
		t.Fatalf("setup: old forgets at %v, fresh at %v, now %v", old.ForgetAt, fresh.ForgetAt, t0)
	}
	n, err := db.DeleteExpiredThrottles(t.Context(), t0)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredThrottles = %d, %v; want 1", n, err)
	}
	if th := readThrottle(t, db, "old"); th != (gatehouse.Throttle{}) {
		t.Fatalf("old record still there: %+v", th)
	}
	if th := readThrottle(t, db, "fresh"); th != fresh {
		t.Fatalf("fresh record = %+v, want %+v", th, fresh)
	}
}
