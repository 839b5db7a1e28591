package web

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
)

// metrics counts requests by route pattern and status, in memory, and
// writes them in the Prometheus text exposition format.
type metrics struct {
	mu       sync.Mutex
	requests map[reqKey]*reqStat
}

type reqKey struct {
	route  string
	status int
}

type reqStat struct {
	count   uint64
	seconds float64
}

func newMetrics() *metrics { return &metrics{requests: map[reqKey]*reqStat{}} }

func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" || route == "/" {
		route = "unmatched"
	}
	k := reqKey{route, status}
	m.mu.Lock()
	st := m.requests[k]
	if st == nil {
		st = &reqStat{}
		m.requests[k] = st
	}
	st.count++
	st.seconds += d.Seconds()
	m.mu.Unlock()
}

func (m *metrics) write(w io.Writer, extra func(io.Writer)) {
	m.mu.Lock()
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].status < keys[j].status
	})
	var b strings.Builder
	b.WriteString("# HELP gatehouse_http_requests_total HTTP requests served, by route and status.\n# TYPE gatehouse_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "gatehouse_http_requests_total{route=%q,code=\"%d\"} %d\n", k.route, k.status, m.requests[k].count)
	}
	b.WriteString("# HELP gatehouse_http_request_duration_seconds_total Time spent serving HTTP requests, by route and status.\n# TYPE gatehouse_http_request_duration_seconds_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "gatehouse_http_request_duration_seconds_total{route=%q,code=\"%d\"} %g\n", k.route, k.status, m.requests[k].seconds)
	}
	m.mu.Unlock()
	io.WriteString(w, b.String())
	extra(w)
}

func (s *server) handleMetrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.metrics.write(w, func(w io.Writer) {
			fmt.Fprintf(w, "# HELP gatehouse_build_info Build information.\n# TYPE gatehouse_build_info gauge\ngatehouse_build_info{version=%q} 1\n", gatehouse.Version)
			fmt.Fprintf(w, "# HELP gatehouse_revoked_sessions Revoked sessions whose tokens could still be alive, held in memory.\n# TYPE gatehouse_revoked_sessions gauge\ngatehouse_revoked_sessions %d\n", s.auth.Revoked().Len())
			fmt.Fprintf(w, "# HELP gatehouse_hash_pool_in_use Password hashes running now.\n# TYPE gatehouse_hash_pool_in_use gauge\ngatehouse_hash_pool_in_use %d\n", s.auth.Pool().InUse())
		})
	})
}
