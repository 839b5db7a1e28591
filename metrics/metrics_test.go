package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/metrics"
)

// scrape serves the metrics over HTTP and parses the exposition.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	return fams
}

// value returns the value of the series of family name whose labels
// include want (name=value pairs).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric family %s", name)
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i < len(want); i += 2 {
			match = match && labels[want[i]] == want[i+1]
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("%s has no series %v", name, want)
	return 0
}

type pool struct{}

func (pool) InUse() int   { return 2 }
func (pool) Waiting() int { return 5 }
func (pool) Size() int    { return 4 }

func TestMetrics(t *testing.T) {
	m := metrics.New()
	ctx := context.Background()
	for _, e := range []gatehouse.AuditEvent{
		{Type: gatehouse.AuditRegistered},
		{Type: gatehouse.AuditLogin}, {Type: gatehouse.AuditLogin},
		{Type: gatehouse.AuditLoginFailed, Reason: auth.ReasonWrongPassword},
		{Type: gatehouse.AuditThrottled, Reason: "login"},
		{Type: auth.EventLoginError, Reason: gatehouse.EUNAVAILABLE},
		{Type: auth.EventRefreshed}, {Type: auth.EventRefreshed, Reason: gatehouse.EINVALIDREFRESH},
		{Type: gatehouse.AuditRefreshReplayed},
		{Type: gatehouse.AuditLogout, Reason: "local"},
	} {
		m.Event(ctx, e)
	}
	m.RevocationLag(120 * time.Millisecond)
	m.ObserveRequest("GET /api/main", 200, time.Millisecond)
	m.ObserveRequest("GET /api/main", 200, 2*time.Millisecond)
	m.ObserveRequest("GET /api/main", 401, time.Millisecond)
	m.ObserveRequest("", 404, time.Millisecond)
	m.StoreError("user by id", gatehouse.EUNAVAILABLE)
	calls := 0
	m.Watch(metrics.Sources{
		HashPool:     pool{},
		RevokedLen:   func() int { return 7 },
		AuditQueued:  func() int { return 3 },
		AuditDropped: func() int64 { return 1 },
		ActiveSessions: func(context.Context, time.Time) (int64, error) {
			calls++
			return 42, nil
		},
		ActiveSessionsTTL: time.Hour,
	})

	f := scrape(t, m)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"gatehouse_http_requests_total", []string{"route", "GET /api/main", "code", "200"}, 2},
		{"gatehouse_http_requests_total", []string{"route", "GET /api/main", "code", "401"}, 1},
		{"gatehouse_http_requests_total", []string{"route", "unmatched", "code", "404"}, 1},
		{"gatehouse_http_request_duration_seconds", []string{"route", "GET /api/main"}, 3},
		{"gatehouse_logins_total", []string{"outcome", "success"}, 2},
		{"gatehouse_logins_total", []string{"outcome", "invalid_credentials"}, 1},
		{"gatehouse_logins_total", []string{"outcome", "too_many_requests"}, 1},
		{"gatehouse_logins_total", []string{"outcome", "unavailable"}, 1},
		{"gatehouse_registrations_total", nil, 1},
		{"gatehouse_token_refreshes_total", []string{"outcome", "success"}, 1},
		{"gatehouse_token_refreshes_total", []string{"outcome", "invalid_refresh_token"}, 1},
		{"gatehouse_refresh_replays_total", nil, 1},
		{"gatehouse_security_events_total", []string{"type", "logout"}, 1},
		{"gatehouse_security_events_total", []string{"type", "user_locked"}, 0},
		{"gatehouse_revocation_lag_seconds", nil, 1},
		{"gatehouse_store_errors_total", []string{"op", "user by id", "code", "unavailable"}, 1},
		{"gatehouse_hash_pool_in_use", nil, 2},
		{"gatehouse_hash_pool_waiting", nil, 5},
		{"gatehouse_hash_pool_size", nil, 4},
		{"gatehouse_revoked_sessions", nil, 7},
		{"gatehouse_audit_queue_length", nil, 3},
		{"gatehouse_audit_dropped_events_total", nil, 1},
		{"gatehouse_sessions_active", nil, 42},
		{"gatehouse_build_info", []string{"version", gatehouse.Version}, 1},
	} {
		if got := value(t, f, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if _, ok := f["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	scrape(t, m)
	if calls != 1 {
		t.Errorf("active sessions counted %d times in two scrapes within the TTL, want 1", calls)
	}
}

// TestActiveSessionsStoreDown: a failing count leaves the gauge out rather
// than reporting a false zero, and the scrape still succeeds.
func TestActiveSessionsStoreDown(t *testing.T) {
	m := metrics.New()
	m.Watch(metrics.Sources{ActiveSessions: func(context.Context, time.Time) (int64, error) {
		return 0, errors.New("down")
	}})
	if _, ok := scrape(t, m)["gatehouse_sessions_active"]; ok {
		t.Error("gatehouse_sessions_active reported while the store fails")
	}
}

// TestTwoInstances: each Metrics has its own registry, so two servers in
// one process do not collide (the global registry would panic).
func TestTwoInstances(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.ObserveRequest("GET /healthz", 200, time.Millisecond)
	if got := value(t, scrape(t, a), "gatehouse_http_requests_total", "route", "GET /healthz"); got != 1 {
		t.Fatalf("a counted %v", got)
	}
	if _, ok := scrape(t, b)["gatehouse_http_requests_total"]; ok {
		t.Error("b sees a's requests")
	}
}

func BenchmarkObserveRequest(b *testing.B) {
	m := metrics.New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest("GET /api/main", 200, time.Millisecond)
		}
	})
}
