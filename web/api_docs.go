package web

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
)

// handleOpenAPI serves the repository's openapi.yaml (gatehouse.OpenAPI).
func (s *server) handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/yaml; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Content-Length", strconv.Itoa(len(gatehouse.OpenAPI)))
		w.Write(gatehouse.OpenAPI)
	})
}

// handleMetrics serves the Prometheus exposition of Deps.Metrics.
func (s *server) handleMetrics() http.Handler {
	if s.metrics == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeProblem(w, http.StatusNotFound, gatehouse.ENOTFOUND, "metrics are not enabled")
		})
	}
	return s.metrics
}
