// Package web is gatehouse's HTTP surface: the JSON API, the health and
// metrics endpoints, the login and main pages and the middleware around
// them. routes.go lists every URL; error.go is the only place where error
// codes become statuses.
package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/token"
)

// Pinger is what /readyz asks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the server needs.
type Deps struct {
	Auth   *auth.Service
	Keys   *token.KeySet
	Store  Pinger
	Logger *slog.Logger

	// CSRFKey signs the pages' CSRF tokens (csrf.go). Instances that serve
	// the same users must share it, or a form loaded from one is refused
	// by another; nil: a random key for this process alone.
	CSRFKey []byte
	// CORSAllowedOrigins are the origins, as ParseOrigin returns them,
	// whose scripts may call the JSON API (cors.go); none: CORS is off.
	CORSAllowedOrigins []string
}

type server struct {
	auth    *auth.Service
	keys    *token.KeySet
	store   Pinger
	log     *slog.Logger
	metrics *metrics
	pages   *pages
	csrfKey []byte
	xorigin *http.CrossOriginProtection
}

// NewServer returns gatehouse's HTTP handler.
func NewServer(d Deps) http.Handler {
	s := &server{auth: d.Auth, keys: d.Keys, store: d.Store, log: d.Logger, metrics: newMetrics(),
		pages: newPages(), csrfKey: d.CSRFKey, xorigin: http.NewCrossOriginProtection()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if len(s.csrfKey) == 0 {
		s.csrfKey = newCSRFKey()
	}
	mux := http.NewServeMux()
	s.routes(mux)
	return s.recoverPanics(s.observe(newCORS(d.CORSAllowedOrigins).wrap(mux)))
}

// clientOf describes the requesting client for its session record.
func clientOf(r *http.Request) auth.Client {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return auth.Client{UserAgent: r.UserAgent(), IP: ip}
}
