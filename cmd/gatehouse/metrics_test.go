package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsEndToEnd runs flows through the real server and reads their
// counts at /metrics.
func TestMetricsEndToEnd(t *testing.T) {
	g := start(t, testEnv(t, nil))
	register(t, g.url, "alice", "alices password")
	call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "alice", "password": "wrong password"})
	p := login(t, g.url, "alice", "alices password")
	login(t, g.url, "alice", "alices password")
	call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": p.refresh})
	call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": p.refresh})
	call(t, "GET", g.url+"/api/main", p.access, nil)

	resp, err := http.Get(g.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`gatehouse_logins_total{outcome="success"} 2`,
		`gatehouse_logins_total{outcome="invalid_credentials"} 1`,
		`gatehouse_registrations_total 1`,
		`gatehouse_token_refreshes_total{outcome="success"} 1`,
		`gatehouse_token_refreshes_total{outcome="invalid_refresh_token"} 1`,
		`gatehouse_refresh_replays_total 1`,
		`gatehouse_http_requests_total{code="401",route="GET /api/main"} 1`,
		`gatehouse_http_request_duration_seconds_count{route="POST /api/login"} 3`,
		`gatehouse_sessions_active 1`,
		`gatehouse_revoked_sessions 1`,
		`gatehouse_hash_pool_size `,
		`gatehouse_hash_pool_waiting 0`,
		`gatehouse_audit_dropped_events_total 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}
