package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCutUnderLoad cuts the database away three times while requests of
// every kind are in flight (a connection can break mid-transaction): each
// answer is a success, the expected 4xx, or 503 with Retry-After; never a
// 500. After each cut gatehouse serves again by itself.
func TestCutUnderLoad(t *testing.T) { eachServer(t, testCutUnderLoad) }

func testCutUnderLoad(t *testing.T, db string) {
	proxy := newProxy(t, db)
	g := start(t, storeEnv(t, proxy.url(t, db), burstVars))
	c := loadClient(t)
	var ok, unavailable atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait() // also when a check below ends the test
	defer close(stop)
	for w := range 8 {
		wg.Go(func() {
			lw := &loadWorker{t: t, c: c, base: g.url, name: fmt.Sprintf("worker%d", w), ok: &ok, unavailable: &unavailable}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if !lw.step(n) {
					return
				}
			}
		})
	}
	for range 3 {
		waitCount(t, &ok, 20, "successes before a cut")
		proxy.cut()
		waitCount(t, &unavailable, 10, "503s during the cut")
		proxy.restore()
	}
	waitCount(t, &ok, 20, "successes after the last cut")
	t.Logf("answers: %d successes, %d × 503", ok.Load(), unavailable.Load())
}

// waitCount waits until n grows by want. The deadline only keeps a broken
// gatehouse from hanging the test.
func waitCount(t *testing.T, n *atomic.Int64, want int64, what string) {
	t.Helper()
	from, deadline := n.Load(), time.Now().Add(2*time.Minute)
	for n.Load()-from < want {
		if time.Now().After(deadline) || t.Failed() {
			t.Fatalf("waiting for %d %s: got %d", want, what, n.Load()-from)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// loadWorker registers one user, then logs in, lists its sessions and
// refreshes in turn, registering or logging in again when an outage left
// it without a user or a session.
type loadWorker struct {
	t               *testing.T
	c               *http.Client
	base, name      string
	registered      bool
	refresh, access string
	ok, unavailable *atomic.Int64
}

// step sends one request and reports whether its answer was acceptable.
func (w *loadWorker) step(n int) bool {
	cred := map[string]string{"username": w.name, "password": "password of " + w.name}
	switch {
	case !w.registered:
		// 409: a registration that committed before its answer was cut.
		o := post(w.c, w.base+"/api/register", cred)
		w.registered = o.status == 201 || o.code == "username_taken"
		return w.check(o, 409)
	case w.refresh == "" || n%4 == 0:
		o := post(w.c, w.base+"/api/login", cred)
		w.setPair(o)
		return w.check(o)
	case n%4 == 1:
		req, _ := http.NewRequest("GET", w.base+"/api/sessions", nil)
		req.Header.Set("Authorization", "Bearer "+w.access)
		return w.check(send(w.c, req), 401) // 401: the session died of a replay
	}
	o := post(w.c, w.base+"/api/token/refresh", map[string]string{"refresh_token": w.refresh})
	w.setPair(o)
	return w.check(o, 401)
}

func (w *loadWorker) setPair(o outcome) {
	if o.status == 200 {
		w.refresh, _ = o.body["refresh_token"].(string)
		w.access, _ = o.body["access_token"].(string)
	} else if o.status == 401 {
		// A refresh that committed before its answer was cut rotated the
		// token: presenting it again is a replay. Log in afresh.
		w.refresh = ""
	}
}

// check counts o and reports whether it is acceptable: a success, 503
// unavailable with Retry-After, or one of the expected statuses.
func (w *loadWorker) check(o outcome, expected ...int) bool {
	switch {
	case o.err != nil:
		w.t.Errorf("%s: %v", w.name, o.err)
		return false
	case o.status == 503 && o.code == "unavailable" && o.retryAfter != "":
		w.unavailable.Add(1)
	case o.status == 200 || o.status == 201:
		w.ok.Add(1)
	case slices.Contains(expected, o.status):
	default:
		w.t.Errorf("%s: %d %s", w.name, o.status, o.code)
		return false
	}
	return true
}
