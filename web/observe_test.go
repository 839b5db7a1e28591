package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/web"
)

// logBuffer collects JSON log lines from concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func jsonLogger(w io.Writer) *slog.Logger {
	return slog.New(web.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

func get(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestRequestID(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, path, sent string
		keep             bool
	}{
		{name: "kept", path: "/healthz", sent: "abc-123_x.y:z", keep: true},
		{name: "kept on a problem", path: "/api/me", sent: "trace-42", keep: true},
		{name: "none sent", path: "/healthz"},
		{name: "too long", path: "/healthz", sent: strings.Repeat("a", 65)},
		{name: "space", path: "/healthz", sent: "a b"},
		{name: "quote", path: "/nothing", sent: `a"b`},
		{name: "unicode", path: "/healthz", sent: "idé"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.sent != "" {
				h["X-Request-Id"] = tt.sent
			}
			got := get(t, srv.URL+tt.path, h).Header.Get("X-Request-Id")
			switch {
			case tt.keep && got != tt.sent:
				t.Errorf("X-Request-Id = %q, want the one sent, %q", got, tt.sent)
			case !tt.keep && (len(got) != 32 || got == tt.sent || seen[got]):
				t.Errorf("X-Request-Id = %q, want a fresh 32-character id", got)
			}
			seen[got] = true
		})
	}
}

// TestAccessLog: one line per request with its request id, route, status
// and client, and the request id on the other lines of the request too.
func TestAccessLog(t *testing.T) {
	logs := &logBuffer{}
	srv, _ := newServerWith(t, jsonLogger(logs))
	r1 := get(t, srv.URL+"/healthz?token=hidden", map[string]string{"X-Request-Id": "req-one"})
	get(t, srv.URL+"/api/me", nil)
	register(t, srv.URL, "alice", "alices password")
	resp := call(t, "POST", srv.URL+"/api/login", "", map[string]string{"username": "alice", "password": "alices password"})
	if r1.StatusCode != 200 {
		t.Fatal(r1.Status)
	}
	var access []map[string]any
	for _, l := range logs.lines(t) {
		if l["msg"] == "request" {
			access = append(access, l)
		}
	}
	if len(access) != 4 {
		t.Fatalf("%d access lines for 4 requests: %v", len(access), access)
	}
	want := []struct{ route, path, id string }{
		{"GET /healthz", "/healthz", "req-one"},
		{"GET /api/me", "/api/me", ""},
		{"POST /api/register", "/api/register", ""},
		{"POST /api/login", "/api/login", resp.header.Get("X-Request-Id")},
	}
	for i, l := range access {
		w := want[i]
		if l["route"] != w.route || l["path"] != w.path || l["ip"] != "127.0.0.1" || l["duration_ms"] == nil || l["status"] == nil {
			t.Errorf("access line %d = %v, want route %q path %q", i, l, w.route, w.path)
		}
		if id, _ := l["request_id"].(string); id == "" || (w.id != "" && id != w.id) {
			t.Errorf("access line %d request_id = %q, want %q", i, id, w.id)
		}
	}
	var loginEvent bool
	for _, l := range logs.lines(t) {
		if l["msg"] == "security event" && l["type"] == "login" {
			loginEvent = l["request_id"] == resp.header.Get("X-Request-Id")
		}
	}
	if !loginEvent {
		t.Error("the login's security event line does not carry the login request's id")
	}
	if strings.Contains(logs.b.String(), "hidden") {
		t.Error("the query string reached the log")
	}
}
