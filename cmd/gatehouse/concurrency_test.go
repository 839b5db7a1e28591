package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/storetest"
)

// loadClient keeps enough connections open that a burst is not throttled
// by the client's default of two idle connections per host.
func loadClient(t *testing.T) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// burstVars set the environment of an instance under a burst. The hashing
// pool sheds requests that wait longer than HASH_QUEUE_WAIT (2 s by
// default) with 503, and REQUEST_TIMEOUT (10 s) bounds every request: by
// design, yet not what these tests look at, and on a busy machine under
// -race 200 bcrypt hashes of cost 4 can take longer.
var burstVars = map[string]string{"HASH_QUEUE_WAIT": "20s", "HASH_QUEUE": "100000", "REQUEST_TIMEOUT": "5m",
	// Hash at normal priority on every core: at nice 19, with the other
	// test packages running beside this one under -race, 200 hashes could
	// wait longer than the longest queue wait (20 s).
	"HASH_CONCURRENCY": "4", "HASH_NICE": "0"}

func burstEnv(t *testing.T, db string) func(string) string {
	return storeEnv(t, db, burstVars)
}

// outcome is one answer of a burst: its status and problem code.
type outcome struct {
	status     int
	code       string
	retryAfter string
	body       map[string]any
	err        error
}

// post sends a JSON body and decodes the answer. It never stops the test,
// so that goroutines can call it.
func post(c *http.Client, url string, body any) outcome {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	return send(c, req)
}

// send sends req and decodes the answer.
func send(c *http.Client, req *http.Request) outcome {
	resp, err := c.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	o := outcome{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), err: err}
	if err == nil {
		o.err = json.Unmarshal(raw, &o.body)
	}
	o.code, _ = o.body["code"].(string)
	return o
}

// burst runs fn(i) for i in [0, n) on at most limit goroutines (all n when
// limit is 0, released together) and returns the outcomes by i.
func burst(n, limit int, fn func(i int) outcome) []outcome {
	if limit == 0 {
		limit = n
	}
	out := make([]outcome, n)
	gate, slots := make(chan struct{}), make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-gate
			slots <- struct{}{}
			defer func() { <-slots }()
			out[i] = fn(i)
		})
	}
	close(gate)
	wg.Wait()
	return out
}

// tally counts outcomes by "status code", e.g. "409 username_taken";
// transport errors count as "error".
func tally(outs []outcome) map[string]int {
	m := map[string]int{}
	for _, o := range outs {
		k := fmt.Sprintf("%d %s", o.status, o.code)
		if o.err != nil {
			k = "error: " + o.err.Error()
		}
		m[k]++
	}
	return m
}

// TestConcurrentSameUsername: 200 registrations of one name, in every
// mix of case, at once: exactly one 201, 409 for all the rest, no 5xx.
func TestConcurrentSameUsername(t *testing.T) { storetest.Each(t, testConcurrentSameUsername) }

func testConcurrentSameUsername(t *testing.T, db string) {
	g := start(t, burstEnv(t, db))
	c := loadClient(t)
	outs := burst(200, 0, func(i int) outcome {
		name := []byte("samename")
		for b := range name { // bit b of i picks the case of letter b
			if i>>b&1 == 1 {
				name[b] -= 'a' - 'A'
			}
		}
		return post(c, g.url+"/api/register", map[string]string{"username": string(name), "password": "the same password"})
	})
	got := tally(outs)
	if len(got) != 2 || got["201 "] != 1 || got["409 username_taken"] != 199 {
		t.Fatalf("outcomes %v, want exactly 1 × 201 and 199 × 409 username_taken; logs:\n%s", got, lastLines(g.logs.String(), 3))
	}
	login(t, g.url, "SameName", "the same password")
}

// TestConcurrentRefresh: 50 refreshes of one refresh token at once: at
// most one gets a new pair, every other one 401, none a 5xx.
func TestConcurrentRefresh(t *testing.T) { storetest.Each(t, testConcurrentRefresh) }

func testConcurrentRefresh(t *testing.T, db string) {
	g := start(t, burstEnv(t, db))
	register(t, g.url, "racer", "racers password")
	p := login(t, g.url, "racer", "racers password")
	c := loadClient(t)
	outs := burst(50, 0, func(int) outcome {
		return post(c, g.url+"/api/token/refresh", map[string]string{"refresh_token": p.refresh})
	})
	got := tally(outs)
	if got["200 "] > 1 || got["200 "]+got["401 invalid_refresh_token"] != 50 {
		t.Fatalf("outcomes %v, want at most one 200 and 401 invalid_refresh_token for the rest", got)
	}
	t.Logf("outcomes: %v", got)
	for _, o := range outs {
		if o.status != 200 {
			continue
		}
		// The others presented a rotated token: a replay, which ends the
		// session, so even the winner's new tokens are dead.
		next, _ := o.body["refresh_token"].(string)
		access, _ := o.body["access_token"].(string)
		wantProblem(t, "winner's refresh after replays", call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": next}), 401, "invalid_refresh_token")
		wantProblem(t, "winner's access after replays", call(t, "GET", g.url+"/api/me", access, nil), 401, "invalid_token")
	}
}

// TestConcurrentDistinctRegistrations: 500 different users register at
// once (64 requests in flight) and all succeed; then all of them log in.
// It runs the built binary, not run() under -race, whose instrumented
// bcrypt (some 20 times slower) would make 1,000 hashes per store take
// minutes on a shared machine; TestConcurrentSameUsername keeps the same
// path under the race detector.
func TestConcurrentDistinctRegistrations(t *testing.T) {
	bin := gatehouseBinary(t)
	storetest.Each(t, func(t *testing.T, db string) { testConcurrentDistinctRegistrations(t, bin, db) })
}

func testConcurrentDistinctRegistrations(t *testing.T, bin, db string) {
	const n, inFlight = 500, 64
	g := startProcess(t, bin, processEnv(db))
	c := loadClient(t)
	cred := func(i int) map[string]string {
		return map[string]string{"username": fmt.Sprintf("user%03d", i), "password": fmt.Sprintf("password of %03d", i)}
	}
	if got := tally(burst(n, inFlight, func(i int) outcome { return post(c, g.url+"/api/register", cred(i)) })); got["201 "] != n {
		t.Fatalf("registrations: %v, want %d × 201; logs:\n%s", got, n, lastLines(g.logs.String(), 5))
	}
	if got := tally(burst(n, inFlight, func(i int) outcome { return post(c, g.url+"/api/login", cred(i)) })); got["200 "] != n {
		t.Fatalf("logins: %v, want %d × 200; logs:\n%s", got, n, lastLines(g.logs.String(), 5))
	}
}

// processEnv is the whole environment of a gatehouse child process on db.
func processEnv(db string) map[string]string {
	env := map[string]string{
		"DATABASE_URL": db,
		"ADDR":         "127.0.0.1:0",
		"ISSUER":       "http://gatehouse.test",
		"BCRYPT_COST":  "4",
		// One client address for the whole burst, as in testEnv.
		"REGISTER_ADDRESS_LIMIT": "0",
		"LOGIN_ADDRESS_LIMIT":    "0",
	}
	maps.Copy(env, burstVars)
	return env
}

// lastLines returns the last n lines of s, for a failure message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
