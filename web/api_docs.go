package web

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
)

// OpenAPI is the OpenAPI 3.1 description of the HTTP API, served at
// GET /openapi.yaml. TestOpenAPIMatchesRoutes keeps it in step with
// routes.go and error.go.
//
//go:embed openapi.yaml
var OpenAPI []byte

func (s *server) handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/yaml; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Content-Length", strconv.Itoa(len(OpenAPI)))
		w.Write(OpenAPI)
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
