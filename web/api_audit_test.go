package web_test

import (
	"net/http"
	"testing"
)

// TestAuditEndpoint: a user sees their own events, newest first, in the
// documented shape, and nobody else's.
func TestAuditEndpoint(t *testing.T) {
	srv := newServer(t)
	register(t, srv.URL, "alice", "alices password")
	register(t, srv.URL, "bob", "bobs password")
	call(t, "POST", srv.URL+"/api/login", "", map[string]string{"username": "alice", "password": "wrong password"})
	tok := login(t, srv.URL, "alice", "alices password")
	login(t, srv.URL, "bob", "bobs password")

	r := call(t, "GET", srv.URL+"/api/audit", tok, nil)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /api/audit = %d %s (Cache-Control %q)", r.status, r.raw, r.header.Get("Cache-Control"))
	}
	events, _ := r.body["events"].([]any)
	var types []string
	for _, e := range events {
		ev := e.(map[string]any)
		types = append(types, ev["type"].(string))
		for _, k := range []string{"id", "type", "time", "session_id", "ip", "user_agent", "reason"} {
			if _, ok := ev[k].(string); !ok {
				t.Errorf("event %v lacks string %q", ev, k)
			}
		}
		if ev["type"] == "login" && (ev["ip"] != "127.0.0.1" || ev["session_id"] == "") {
			t.Errorf("login event %v lacks ip or session", ev)
		}
	}
	want := []string{"login", "login_failed", "registered"}
	if len(types) != len(want) || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
		t.Fatalf("alice's events = %v, want %v (newest first, none of bob's)", types, want)
	}
	if r := call(t, "GET", srv.URL+"/api/audit?limit=1", tok, nil); len(r.body["events"].([]any)) != 1 {
		t.Errorf("limit=1 gave %s", r.raw)
	}
	for _, bad := range []string{"0", "201", "x", "-1"} {
		if r := call(t, "GET", srv.URL+"/api/audit?limit="+bad, tok, nil); r.status != http.StatusBadRequest || r.body["code"] != "malformed_request" {
			t.Errorf("limit=%s: %d %s", bad, r.status, r.raw)
		}
	}
	if r := call(t, "GET", srv.URL+"/api/audit", "", nil); r.status != 401 {
		t.Errorf("without a token: %d", r.status)
	}
	if r := call(t, "POST", srv.URL+"/api/audit", tok, nil); r.status != 405 {
		t.Errorf("POST: %d", r.status)
	}
}
