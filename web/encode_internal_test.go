package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestDuplicateMember(t *testing.T) {
	for _, tt := range []struct {
		json string
		dup  bool
	}{
		{`{"a":1,"b":2}`, false},
		{`{"a":1,"a":2}`, true},
		{`{"a":1,"A":2}`, true},
		{`{"k":1,"\u212a":2}`, true}, // KELVIN SIGN folds to k
		{`{"a":{"b":1},"c":{"b":2}}`, false},
		{`{"a":{"b":1,"b":2}}`, true},
		{`{"a":[{"b":1},{"b":2}]}`, false},
		{`{"a":[1,{"b":1,"B":2}]}`, true},
		{`{"a":"a","b":"a"}`, false},
		{`{}`, false},
	} {
		if got := duplicateMember(json.NewDecoder(bytes.NewReader([]byte(tt.json)))); got != tt.dup {
			t.Errorf("duplicateMember(%s) = %v, want %v", tt.json, got, tt.dup)
		}
	}
}

// TestAbandonedRequest: an error met after the client went away is
// recorded as 499 and logged at debug, not as a 5xx at error level.
func TestAbandonedRequest(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", "/api/login", nil)
	w := httptest.NewRecorder()
	writeError(w, r, log, fmt.Errorf("sqldb: user by username: %w", context.Canceled))
	if w.Code != StatusClientClosedRequest || logs.Len() != 0 {
		t.Fatalf("status %d, log %q", w.Code, logs.String())
	}
	// Another error met with the context ended (a read timeout) keeps
	// its own answer.
	w = httptest.NewRecorder()
	writeError(w, r, log, gatehouse.Errorf(gatehouse.EMALFORMED, "request body could not be read"))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("malformed with the context ended: status %d", w.Code)
	}
	// The same error with the client still there is a 500, logged.
	w = httptest.NewRecorder()
	writeError(w, httptest.NewRequest("POST", "/api/login", nil), log, fmt.Errorf("sqldb: boom"))
	if w.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("status %d, log %q", w.Code, logs.String())
	}
}

// TestAccessTextMatchesSlog: the access line written directly is, byte
// for byte, the line slog's TextHandler wrapped in LogHandler writes for
// the record logAccess logs, for values that need quoting or not.
func TestAccessTextMatchesSlog(t *testing.T) {
	at := time.Date(2026, 11, 26, 6, 30, 1, 987654321, time.UTC)
	for _, c := range []struct {
		method, path, route, ip, id string
		status                      int
		d                           time.Duration
		n                           int64
	}{
		{"GET", "/api/main", "GET /api/main", "127.0.0.1", "0123456789abcdef", 200, 974 * time.Microsecond, 138},
		{"POST", "/api/login", "POST /api/login", "2001:db8::1", "req-1", 401, 250 * time.Millisecond, 0},
		{"GET", "/a b/=\"q\"\\x", "unmatched", "", "", 404, 0, 12},
		{"BREW", "/\x00\x1f\x7f/é/\u00a0/\u2028/\xff", "unmatched", "::ffff:1.2.3.4", "a.b_c:d-e", 405, 3 * time.Hour, 1 << 40},
		{"GET", "", "", "10.0.0.1", "", 499, 1500 * time.Millisecond, -1},
	} {
		var want bytes.Buffer
		h := LogHandler(slog.NewTextHandler(&want, nil))
		ctx := context.Background()
		if c.id != "" {
			ctx = context.WithValue(ctx, requestIDKey{}, c.id)
		}
		r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
		r.AddAttrs(slog.String("method", c.method), slog.String("path", c.path), slog.String("route", c.route),
			slog.Int("status", c.status), slog.Float64("duration_ms", float64(c.d.Microseconds())/1000),
			slog.Int64("bytes", c.n), slog.String("ip", c.ip))
		if err := h.Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
		got := appendAccessText(nil, at, c.method, c.path, c.route, c.status, c.d, c.n, c.ip, c.id)
		if string(got) != want.String() {
			t.Errorf("access line\n got %q\nwant %q", got, want.String())
		}
	}
}

// TestIsB64Token: RFC 6750's b64token, byte by byte, and its trailing '='.
func TestIsB64Token(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
	for c := range 256 {
		want := strings.IndexByte(alphabet, byte(c)) >= 0
		if got := isB64Token("ab" + string(rune(c))[:1] + "cd=="); c < 0x80 && got != want {
			t.Errorf("isB64Token with %q = %v, want %v", rune(c), got, want)
		}
		if got := isB64Token("ab" + string([]byte{byte(c)}) + "cd"); got != want {
			t.Errorf("isB64Token with byte %#x = %v, want %v", c, got, want)
		}
	}
	for s, want := range map[string]bool{"": false, "=": false, "a=": true, "a==": true, "a=b": false, "a b": false} {
		if got := isB64Token(s); got != want {
			t.Errorf("isB64Token(%q) = %v, want %v", s, got, want)
		}
	}
}
