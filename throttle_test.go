package gatehouse_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// takeN takes n attempts one second apart from at and fails the test if
// any is refused. It returns the record and the time of the last attempt.
func takeN(t *testing.T, th gatehouse.Throttle, at time.Time, n int, r gatehouse.ThrottleRule) (gatehouse.Throttle, time.Time) {
	t.Helper()
	for i := range n {
		var ok bool
		if th, ok = th.Take(at, r); !ok {
			t.Fatalf("attempt %d at %v refused: %+v", i+1, at, th)
		}
		if i < n-1 {
			at = at.Add(time.Second)
		}
	}
	return th, at
}

func wantBlocked(t *testing.T, th gatehouse.Throttle, at time.Time, r gatehouse.ThrottleRule, retry time.Duration) {
	t.Helper()
	got, blocked := th.Blocked(at, r)
	if !blocked || got != retry {
		t.Fatalf("Blocked(%v) = %v, %v; want %v, true (record %+v)", at, got, blocked, retry, th)
	}
	if after, ok := th.Take(at, r); ok || after != th {
		t.Fatalf("Take while blocked = %+v, %v; want the record unchanged and false", after, ok)
	}
}

func wantOpen(t *testing.T, th gatehouse.Throttle, at time.Time, r gatehouse.ThrottleRule) {
	t.Helper()
	if got, blocked := th.Blocked(at, r); blocked {
		t.Fatalf("Blocked(%v) = %v, true; want open (record %+v)", at, got, th)
	}
}

func TestThrottleLocksAtTheLimit(t *testing.T) {
	r := gatehouse.ThrottleRule{Limit: 3, Window: 15 * time.Minute, MaxWindow: 15 * time.Minute}
	th, last := takeN(t, gatehouse.Throttle{}, t0, 2, r)
	wantOpen(t, th, last, r)
	th, last = takeN(t, th, last.Add(time.Minute), 1, r)
	if th.Count != 3 || th.Streak != 3 {
		t.Fatalf("after 3 attempts: %+v", th)
	}
	// Locked for a whole window from the attempt that reached the limit,
	// not only to the end of the window that began at the first attempt.
	wantBlocked(t, th, last, r, 15*time.Minute)
	wantBlocked(t, th, last.Add(15*time.Minute-time.Nanosecond), r, time.Nanosecond)
	wantOpen(t, th, last.Add(15*time.Minute), r)
	// Without growth, the next window is as long and allows as many.
	th, last = takeN(t, th, last.Add(15*time.Minute), 3, r)
	wantBlocked(t, th, last, r, 15*time.Minute)
}

func TestThrottleWindowEndsBelowTheLimit(t *testing.T) {
	r := gatehouse.ThrottleRule{Limit: 3, Window: 10 * time.Minute}
	th, _ := takeN(t, gatehouse.Throttle{}, t0, 2, r)
	if th.WindowEnd != t0.Add(10*time.Minute) {
		t.Fatalf("window end = %v, want 10 minutes after the first attempt", th.WindowEnd)
	}
	// A new window: the count starts over, the streak goes on.
	th, _ = takeN(t, th, t0.Add(10*time.Minute), 1, r)
	if th.Count != 1 || th.Streak != 3 {
		t.Fatalf("in the second window: %+v, want count 1 and streak 3", th)
	}
}

// TestThrottleGrows follows an attacker who guesses as fast as allowed:
// each lock twice as long as the one before, up to MaxWindow.
func TestThrottleGrows(t *testing.T) {
	r := gatehouse.ThrottleRule{Limit: 10, Window: 15 * time.Minute, MaxWindow: 24 * time.Hour}
	th, at := gatehouse.Throttle{}, t0
	var locks []time.Duration
	for range 10 {
		th, at = takeN(t, th, at, 10, r)
		retry, blocked := th.Blocked(at, r)
		if !blocked {
			t.Fatalf("not blocked after %d attempts", th.Streak)
		}
		locks = append(locks, retry)
		at = at.Add(retry)
	}
	want := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 16 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	for i := range want {
		if locks[i] != want[i] {
			t.Fatalf("locks = %v, want %v", locks, want)
		}
	}
	if th.Streak != 100 {
		t.Fatalf("streak = %d, want 100", th.Streak)
	}
	if elapsed := at.Sub(t0); elapsed < 3*24*time.Hour {
		t.Fatalf("100 guesses took only %v", elapsed)
	}
}

// TestThrottlePatientAttackerStillGrows: staying just under the limit in
// every window does not avoid the growth, which follows the streak.
func TestThrottlePatientAttackerStillGrows(t *testing.T) {
	r := gatehouse.ThrottleRule{Limit: 10, Window: 15 * time.Minute, MaxWindow: 24 * time.Hour}
	th, at := gatehouse.Throttle{}, t0
	for range 5 {
		th, _ = takeN(t, th, at, 9, r)
		at = th.WindowEnd
	}
	// Windows began at streaks 0, 9, 18, 27, 36 (15m, 15m, 30m, 1h, 2h);
	// the sixth begins at 45: four doublings.
	th, _ = th.Take(at, r)
	if got, want := th.WindowEnd.Sub(at), 16*r.Window; got != want {
		t.Fatalf("sixth window = %v, want %v (record %+v)", got, want, th)
	}
}

func TestThrottleForgets(t *testing.T) {
	r := gatehouse.ThrottleRule{Limit: 2, Window: time.Minute, MaxWindow: time.Hour}
	th, last := takeN(t, gatehouse.Throttle{}, t0, 2, r)
	if want := last.Add(time.Minute + time.Hour); th.ForgetAt != want {
		t.Fatalf("ForgetAt = %v, want %v", th.ForgetAt, want)
	}
	th, _ = th.Take(th.ForgetAt, r)
	if th.Count != 1 || th.Streak != 1 {
		t.Fatalf("after the record was forgotten: %+v, want a fresh count", th)
	}
}

func TestThrottleDisabled(t *testing.T) {
	for _, r := range []gatehouse.ThrottleRule{{}, {Limit: 0, Window: time.Hour}, {Limit: 5}} {
		th, last := takeN(t, gatehouse.Throttle{}, t0, 100, r)
		wantOpen(t, th, last, r)
		if th != (gatehouse.Throttle{}) {
			t.Errorf("rule %+v recorded %+v", r, th)
		}
	}
}
