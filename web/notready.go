package web

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
)

// NotReady is the handler while gatehouse waits for its store at start:
// /healthz answers 200, since the process runs, and every other path 503
// unavailable with Retry-After (/readyz included), since nothing else can
// be served without the store and its signing keys. Load balancers keep
// traffic away and clients retry, instead of seeing the port refuse.
func NotReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			encode(w, http.StatusOK, map[string]string{"status": "ok"})
			return
		}
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeProblem(w, http.StatusServiceUnavailable, gatehouse.EUNAVAILABLE, "the store is not ready yet")
	})
}
