package main

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dial opens a raw connection to the instance.
func dial(t *testing.T, base string) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// trickle writes a request head and then one byte of more every second,
// until the server cuts the connection, and returns what the server sent
// and how long it held on. It gives up (and fails) after limit.
func trickle(t *testing.T, c net.Conn, head, more string, limit time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(c) // returns when the server closes
		got <- string(b)
	}()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case b := <-got:
			return b, time.Since(start)
		case <-tick.C:
			c.Write([]byte{more[i%len(more)]}) // an error means cut: the read ends too
		case <-time.After(limit - time.Since(start)):
			t.Fatalf("the server still held the trickling connection after %v", limit)
		}
	}
}

// TestSlowloris: a client that sends its headers a byte a second is cut
// off at the header timeout, not served and not held.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	g := start(t, testEnv(t, nil))
	got, held := trickle(t, dial(t, g.url), "GET /healthz HTTP/1.1\r\nHost: gatehouse\r\n", "X-Slow: a\r\n", readHeaderTimeout+5*time.Second)
	t.Logf("held %v; got %q", held, got) // net/http answers a plain-text 400 and closes
	if strings.Contains(got, "200 OK") {
		t.Fatalf("the trickled request was served: %q", got)
	}
}

// TestSlowBody: a client that sends its body a byte a second is cut off
// at the read timeout; the request it did not finish is refused 400.
func TestSlowBody(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 15 s read timeout")
	}
	t.Parallel()
	g := start(t, testEnv(t, nil))
	head := "POST /api/login HTTP/1.1\r\nHost: gatehouse\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
	got, held := trickle(t, dial(t, g.url), head, `"username":`, readTimeout+5*time.Second)
	t.Logf("held %v; got %q", held, got)
	if got != "" && !strings.HasPrefix(got, "HTTP/1.1 400 ") {
		t.Fatalf("after the read timeout: %q, want a 400 or nothing", got)
	}
}

// TestServerHeaderLimits: a 100 KB header gets the problem document; past
// the server's own limit net/http answers 431 itself, in plain text
// (documented), and closes the connection.
func TestServerHeaderLimits(t *testing.T) {
	t.Parallel()
	g := start(t, testEnv(t, nil))
	for _, tc := range []struct {
		name, token string
		status      int
		problem     bool
	}{
		{"100 KB token", strings.Repeat("a", 100_000), 400, true},
		{"200 KB token", strings.Repeat("a", 200_000), 431, false},
	} {
		req, _ := http.NewRequest("GET", g.url+"/api/main", nil)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: status %d, want %d; body %q", tc.name, resp.StatusCode, tc.status, body)
		}
		if isProblem := resp.Header.Get("Content-Type") == "application/problem+json"; isProblem != tc.problem {
			t.Fatalf("%s: Content-Type %q", tc.name, resp.Header.Get("Content-Type"))
		}
	}
}

// TestDefaultLoginThrottle runs the default limits through the real
// server: ten failures lock the username for fifteen minutes, even for
// the right password.
func TestDefaultLoginThrottle(t *testing.T) {
	t.Parallel()
	g := start(t, testEnv(t, nil))
	register(t, g.url, "ivan", "ivans password")
	for range 10 {
		wantProblem(t, "failure", call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "ivan", "password": "a guess at it"}), 401, "invalid_credentials")
	}
	r := call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "Ivan", "password": "ivans password"})
	wantProblem(t, "eleventh attempt", r, 429, "too_many_requests")
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 890 || n > 900 {
		t.Fatalf("Retry-After = %q, want about 900", r.header.Get("Retry-After"))
	}
}

// TestTrustedProxiesEndToEnd: with TRUSTED_PROXIES set, the session shows
// the address the proxy forwarded; without it, the peer's.
func TestTrustedProxiesEndToEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		proxies, want string
	}{
		{"", "127.0.0.1"},
		{"127.0.0.1/32", "203.0.113.50"},
	} {
		g := start(t, testEnv(t, map[string]string{"TRUSTED_PROXIES": tc.proxies}))
		register(t, g.url, "judy", "judys password")
		req, _ := http.NewRequest("POST", g.url+"/api/login", strings.NewReader(`{"username":"judy","password":"judys password"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.50")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		p := login(t, g.url, "judy", "judys password")
		r := call(t, "GET", g.url+"/api/sessions", p.access, nil)
		if !strings.Contains(string(r.raw), `"ip":"`+tc.want+`"`) {
			t.Errorf("TRUSTED_PROXIES=%q: sessions %s, want one with ip %s", tc.proxies, r.raw, tc.want)
		}
	}
}
