package web_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/web"
)

// BenchmarkObserve measures what the request id, the metrics and the
// access log add to the cheapest route (GET /healthz): compare the
// sub-benchmarks' ns/op with "bare". The log goes to io.Discard, so a real
// log's write(2) per line comes on top.
func BenchmarkObserve(b *testing.B) {
	m := metrics.New()
	discard := slog.New(web.LogHandler(slog.NewJSONHandler(io.Discard, nil)))
	for _, bc := range []struct {
		name string
		deps web.Deps
	}{
		{"bare", web.Deps{Logger: discard}},
		{"metrics", web.Deps{Logger: discard, Requests: m}},
		{"metrics+accesslog", web.Deps{Logger: discard, Requests: m, AccessLog: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := web.NewServer(bc.deps)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/healthz", nil)
				for pb.Next() {
					h.ServeHTTP(httptest.NewRecorder(), req)
				}
			})
		})
	}
}
