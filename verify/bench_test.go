package verify_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/verify"
)

// BenchmarkMiddleware compares the same handler with and without the verify
// middleware, alternating batches in one run, and reports the time per
// request of each and their ratio (x-bare). "inprocess" calls ServeHTTP
// directly, so the ratio is the middleware against a handler that does
// nothing; "loopback" goes through a real HTTP server and client, which is
// nearer to what a service sees. The token is one that verified before
// (the verified-token cache hits, as it does for a user's repeated calls).
//
//	go test ./verify -run '^$' -bench Middleware
func BenchmarkMiddleware(b *testing.B) {
	g := newGatehouse(b)
	v := newVerifier(b, g, func(c *verify.Config) { c.MaxStaleness = time.Hour })
	tok := g.login(b).AccessToken
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	wrapped := v.Middleware(bare)

	b.Run("inprocess", func(b *testing.B) {
		call := func(h http.Handler) func() {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			return func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					b.Fatalf("status %d", rec.Code)
				}
			}
		}
		compare(b, call(bare), call(wrapped))
	})
	b.Run("loopback", func(b *testing.B) {
		call := func(h http.Handler) func() {
			srv := httptest.NewServer(h)
			b.Cleanup(srv.Close)
			client := srv.Client()
			return func() {
				req, _ := http.NewRequest("GET", srv.URL, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != http.StatusNoContent {
					b.Fatalf("%v %v", err, resp)
				}
				resp.Body.Close()
			}
		}
		compare(b, call(bare), call(wrapped))
	})
}

// compare runs base and other in alternating batches and reports each one's
// time per call and other's ratio to base.
func compare(b *testing.B, base, other func()) {
	const batch = 64
	var tb, to time.Duration
	for b.Loop() {
		start := time.Now()
		for range batch {
			base()
		}
		mid := time.Now()
		for range batch {
			other()
		}
		tb, to = tb+mid.Sub(start), to+time.Since(mid)
	}
	n := float64(b.N * batch)
	b.ReportMetric(float64(tb.Nanoseconds())/n, "bare-ns/req")
	b.ReportMetric(float64(to.Nanoseconds())/n, "verified-ns/req")
	b.ReportMetric(float64(to)/float64(tb), "x-bare")
}
