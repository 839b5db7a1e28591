package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
)

func (s *server) handleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := s.keys.JWKS()
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", s.publicCache())
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})
}

func (s *server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			s.log.WarnContext(r.Context(), "readiness check failed", "err", err)
			writeProblem(w, http.StatusServiceUnavailable, gatehouse.EUNAVAILABLE, "the store does not answer")
			return
		}
		encode(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}
