package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/storetest"
)

// instance is a gatehouse started through run() on 127.0.0.1:0.
type instance struct {
	url  string
	stop func() error
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is the environment of a test instance: a fresh SQLite file,
// bcrypt cost 4 and an ephemeral port, overridden by vars.
func testEnv(t *testing.T, vars map[string]string) func(string) string {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"),
		"ADDR":         "127.0.0.1:0",
		"ISSUER":       "http://gatehouse.test",
		"BCRYPT_COST":  "4",
		// Every test client is 127.0.0.1: per-address limits would make
		// the bursts of these tests one attacker. They are tested in
		// web/abuse_test.go; the per-username limit stays on.
		"REGISTER_ADDRESS_LIMIT": "0",
		"LOGIN_ADDRESS_LIMIT":    "0",
	}
	for k, v := range vars {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// storeEnv is testEnv on the database at url (one of storetest.Each's).
func storeEnv(t *testing.T, url string, vars map[string]string) func(string) string {
	t.Helper()
	all := map[string]string{"DATABASE_URL": url}
	for k, v := range vars {
		all[k] = v
	}
	return testEnv(t, all)
}

// start runs gatehouse with getenv until the test ends, and waits until
// /readyz answers 200: the store is migrated and the keys are loaded.
func start(t *testing.T, getenv func(string) string) *instance {
	t.Helper()
	g := launch(t, getenv)
	waitReady(t, g.url)
	return g
}

// launch runs gatehouse with getenv until the test ends, and returns as
// soon as it listens, ready or not.
func launch(t *testing.T, getenv func(string) string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, getenv, strings.NewReader(""), pw, logs)
		pw.Close()
	}()
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "gatehouse listening on "); ok {
				urlc <- u
			}
		}
		close(urlc)
	}()
	var u string
	select {
	case u = <-urlc:
	case err := <-done:
		cancel()
		t.Fatalf("gatehouse did not start: %v\nlogs:\n%s", err, logs)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("gatehouse did not start in time; logs:\n%s", logs)
	}
	var once sync.Once
	var stopErr error
	inst := &instance{url: u, logs: logs, stop: func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}}
	t.Cleanup(func() {
		if err := inst.stop(); err != nil {
			t.Errorf("gatehouse stopped with error: %v", err)
		}
	})
	return inst
}

// waitReady polls /readyz until it answers 200. The deadline only bounds a
// test that would otherwise hang; no test's verdict rests on how fast.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/readyz did not answer 200", base)
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// testClient gives up on an answer that never comes, so that a hung
// gatehouse fails its test instead of hanging the run.
var testClient = &http.Client{Timeout: time.Minute}

// call sends a JSON request; body nil sends none.
func call(t *testing.T, method, url, bearer string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, url, raw)
		}
	}
	return out
}

func wantStatus(t *testing.T, what string, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status = %d, want %d; body %s", what, r.status, status, r.raw)
	}
}

func wantProblem(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	wantStatus(t, what, r, status)
	if got := r.header.Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("%s: Content-Type = %q, want application/problem+json", what, got)
	}
	if r.str("code") != code || r.body["status"] != float64(status) || r.str("title") == "" || r.str("type") == "" {
		t.Errorf("%s: problem = %s, want code %q and status %d", what, r.raw, code, status)
	}
}

type pair struct{ access, refresh, userID string }

func register(t *testing.T, base, username, password string) {
	t.Helper()
	r := call(t, "POST", base+"/api/register", "", map[string]string{"username": username, "password": password})
	wantStatus(t, "register "+username, r, http.StatusCreated)
}

func login(t *testing.T, base, username, password string) pair {
	t.Helper()
	r := call(t, "POST", base+"/api/login", "", map[string]string{"username": username, "password": password})
	wantStatus(t, "login "+username, r, http.StatusOK)
	user, _ := r.body["user"].(map[string]any)
	id, _ := user["id"].(string)
	return pair{access: r.str("access_token"), refresh: r.str("refresh_token"), userID: id}
}

// TestEndToEnd walks the README's flow through the real server: register,
// log in, use the protected route, refresh, log out, and be refused.
func TestEndToEnd(t *testing.T) { storetest.Each(t, testEndToEnd) }

func testEndToEnd(t *testing.T, db string) {
	g := start(t, storeEnv(t, db, nil))

	r := call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "Alice", "password": "correct horse battery"})
	wantStatus(t, "register", r, http.StatusCreated)
	user, _ := r.body["user"].(map[string]any)
	if user["username"] != "Alice" || user["id"] == "" {
		t.Fatalf("register user = %v", user)
	}
	if _, err := time.Parse(time.RFC3339, user["created_at"].(string)); err != nil {
		t.Errorf("created_at: %v", err)
	}
	wantProblem(t, "register alice again", call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "alice", "password": "another password"}), 409, "username_taken")

	r = call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "alice", "password": "correct horse battery"})
	wantStatus(t, "login", r, http.StatusOK)
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("login Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
	}
	if r.str("token_type") != "Bearer" || r.body["expires_in"] != float64(900) || r.str("access_token") == "" || r.str("refresh_token") == "" {
		t.Fatalf("token pair = %s", r.raw)
	}
	access, refresh := r.str("access_token"), r.str("refresh_token")

	r = call(t, "GET", g.url+"/api/main", access, nil)
	wantStatus(t, "main", r, http.StatusOK)
	if u, _ := r.body["user"].(map[string]any); u["username"] != "Alice" || r.str("message") == "" {
		t.Errorf("main = %s", r.raw)
	}
	wantStatus(t, "me", call(t, "GET", g.url+"/api/me", access, nil), http.StatusOK)

	r = call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": refresh})
	wantStatus(t, "refresh", r, http.StatusOK)
	access2 := r.str("access_token")
	wantStatus(t, "main with refreshed token", call(t, "GET", g.url+"/api/main", access2, nil), http.StatusOK)

	wantStatus(t, "logout", call(t, "POST", g.url+"/api/logout", access2, nil), http.StatusNoContent)
	for _, tok := range []string{access, access2} {
		r = call(t, "GET", g.url+"/api/main", tok, nil)
		wantProblem(t, "main after logout", r, 401, "invalid_token")
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	}
	r = call(t, "GET", g.url+"/api/main", "", nil)
	wantProblem(t, "main without token", r, 401, "invalid_token")
	if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
		t.Errorf("WWW-Authenticate without token = %q, want Bearer", got)
	}
}
