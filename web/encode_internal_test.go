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
