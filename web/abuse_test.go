package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/web"
)

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (r answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON: %q", r.body)
	}
	return m
}

// post sends a JSON body with extra headers (name, value, ...).
func postJSON(t *testing.T, srv *httptest.Server, path, body string, header ...string) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return send(t, req, header...)
}

func send(t *testing.T, req *http.Request, header ...string) answer {
	t.Helper()
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func creds(username, password string) string {
	b, _ := json.Marshal(map[string]string{"username": username, "password": password})
	return string(b)
}

// wantProblem checks status, content type and code of a problem document.
func wantProblem(t *testing.T, what string, r answer, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	if got := r.json(t)["code"]; got != code {
		t.Fatalf("%s: code %v, want %s", what, got, code)
	}
}

func wantRetryAfter(t *testing.T, what string, r answer, min, max int) {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < min || n > max {
		t.Fatalf("%s: Retry-After %q, want %d to %d", what, r.header.Get("Retry-After"), min, max)
	}
}

func throttled(limitUser, limitAddr int) func(*auth.Config, *web.Deps) {
	return func(c *auth.Config, _ *web.Deps) {
		c.Throttling = auth.Throttling{
			LoginUser:    gatehouse.ThrottleRule{Limit: limitUser, Window: 15 * time.Minute, MaxWindow: time.Hour},
			LoginAddress: gatehouse.ThrottleRule{Limit: limitAddr, Window: 15 * time.Minute},
			Register:     gatehouse.ThrottleRule{Limit: 3, Window: time.Hour},
		}
	}
}

// TestLoginThrottle429: past the limit the right password gets 429 with
// Retry-After and the problem document, for a known and an unknown name
// alike.
func TestLoginThrottle429(t *testing.T) {
	srv := newServerEdit(t, throttled(2, 100))
	if r := postJSON(t, srv, "/api/register", creds("alice", "alices password")); r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var bodies []string
	for _, name := range []string{"alice", "nobody"} {
		for range 2 {
			wantProblem(t, "failure", postJSON(t, srv, "/api/login", creds(name, "wrong password")), 401, "invalid_credentials")
		}
		r := postJSON(t, srv, "/api/login", creds(name, "alices password"))
		wantProblem(t, name+" past the limit", r, 429, "too_many_requests")
		wantRetryAfter(t, name, r, 899, 900)
		bodies = append(bodies, string(r.body))
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("a locked known name and a locked unknown one answer differently:\n%s\n%s", bodies[0], bodies[1])
	}
}

// TestForwardedHeaderNotBelievedByDefault: without trusted proxies, a
// client cannot leave its address's lock by claiming another address.
func TestForwardedHeaderNotBelievedByDefault(t *testing.T) {
	srv := newServerEdit(t, throttled(100, 2))
	for range 2 {
		postJSON(t, srv, "/api/login", creds("someone", "wrong password"))
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-IP"} {
		r := postJSON(t, srv, "/api/login", creds("someone", "wrong password"), h, "203.0.113.77")
		wantProblem(t, "spoofed "+h, r, 429, "too_many_requests")
	}
}

// TestTrustedProxy: behind a trusted proxy, clients are told apart by
// the forwarded address, which is also the session's ip.
func TestTrustedProxy(t *testing.T) {
	srv := newServerEdit(t, func(c *auth.Config, d *web.Deps) {
		throttled(100, 2)(c, d)
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	postJSON(t, srv, "/api/register", creds("carol", "carols password"))
	for range 2 {
		postJSON(t, srv, "/api/login", creds("nobody", "wrong password"), "X-Forwarded-For", "203.0.113.1")
	}
	wantProblem(t, "locked client", postJSON(t, srv, "/api/login", creds("carol", "carols password"), "X-Forwarded-For", "203.0.113.1"), 429, "too_many_requests")
	// A forged left part does not move the client out of its lock.
	wantProblem(t, "forged hop", postJSON(t, srv, "/api/login", creds("carol", "carols password"), "X-Forwarded-For", "198.51.100.1, 203.0.113.1"), 429, "too_many_requests")
	r := postJSON(t, srv, "/api/login", creds("carol", "carols password"), "X-Forwarded-For", "203.0.113.1, 198.51.100.2")
	if r.status != 200 {
		t.Fatalf("another client behind the proxy: %d %s", r.status, r.body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/sessions", nil)
	s := send(t, req, "Authorization", "Bearer "+r.json(t)["access_token"].(string))
	if !strings.Contains(string(s.body), `"ip":"198.51.100.2"`) {
		t.Fatalf("session ip is not the forwarded client's: %s", s.body)
	}
}

func TestRegisterThrottle429(t *testing.T) {
	srv := newServerEdit(t, throttled(10, 10))
	for i := range 3 {
		if r := postJSON(t, srv, "/api/register", creds("user"+strconv.Itoa(i), "a good password")); r.status != 201 {
			t.Fatalf("registration %d: %d %s", i, r.status, r.body)
		}
	}
	r := postJSON(t, srv, "/api/register", creds("user9", "a good password"))
	wantProblem(t, "fourth registration", r, 429, "too_many_requests")
	wantRetryAfter(t, "register", r, 3599, 3600)
}

// TestHashingShed503: with every hashing slot taken and no queue, a login
// is shed with 503 and Retry-After, while authenticated requests go on.
func TestHashingShed503(t *testing.T) {
	pool := auth.NewPool(1, 0, time.Second)
	srv := newServerEdit(t, func(c *auth.Config, _ *web.Deps) { c.Pool = pool })
	postJSON(t, srv, "/api/register", creds("dave", "daves password"))
	access := postJSON(t, srv, "/api/login", creds("dave", "daves password")).json(t)["access_token"].(string)
	release := make(chan struct{})
	started := make(chan struct{})
	go pool.Do(t.Context(), func() { close(started); <-release })
	<-started
	defer close(release)
	for _, name := range []string{"dave", "nobody"} {
		r := postJSON(t, srv, "/api/login", creds(name, "daves password"))
		wantProblem(t, "login on a full pool", r, 503, "unavailable")
		wantRetryAfter(t, "shed", r, 1, 1)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/main", nil)
	if r := send(t, req, "Authorization", "Bearer "+access); r.status != 200 {
		t.Fatalf("authenticated request while hashing is full: %d %s", r.status, r.body)
	}
}

// TestHugeHeaders: headers over MaxHeaderBytes get a problem document
// (not net/http's plain-text 431); a token between the token limit and
// the header limit is an invalid token.
func TestHugeHeaders(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, header, value string
		status              int
		code                string
	}{
		{"100 KB header", "X-Junk", strings.Repeat("a", 100_000), 400, "malformed_request"},
		{"100 KB bearer token", "Authorization", "Bearer " + strings.Repeat("a", 100_000), 400, "malformed_request"},
		{"many small headers", "X-Many", strings.Repeat("b", 100), 400, "malformed_request"},
		{"20 KB bearer token", "Authorization", "Bearer " + strings.Repeat("a", 20_000), 401, "invalid_token"},
		{"header just under the limit", "X-Junk", strings.Repeat("a", web.MaxHeaderBytes-1024), 401, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/api/me", nil)
			if tt.header == "X-Many" {
				for i := range 400 {
					req.Header.Add("X-Many-"+strconv.Itoa(i), tt.value)
				}
			} else {
				req.Header.Set(tt.header, tt.value)
			}
			wantProblem(t, tt.name, send(t, req), tt.status, tt.code)
		})
	}
}
