// Package web is gatehouse's HTTP surface: the JSON API, the health and
// metrics endpoints and the middleware around them. routes.go lists every
// URL; error.go is the only place where error codes become statuses.
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
	// ServiceClients may use introspection, revocation and the revocation
	// feed; none: those endpoints are off.
	ServiceClients []ServiceClient
}

type server struct {
	auth    *auth.Service
	keys    *token.KeySet
	store   Pinger
	log     *slog.Logger
	metrics *metrics
	clients serviceClients
}

// NewServer returns gatehouse's HTTP handler.
func NewServer(d Deps) http.Handler {
	s := &server{auth: d.Auth, keys: d.Keys, store: d.Store, log: d.Logger, metrics: newMetrics(),
		clients: newServiceClients(d.ServiceClients)}
	if s.log == nil {
		s.log = slog.Default()
	}
	mux := http.NewServeMux()
	s.routes(mux)
	return s.recoverPanics(s.observe(mux))
}

// clientOf describes the requesting client for its session record.
func clientOf(r *http.Request) auth.Client {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return auth.Client{UserAgent: r.UserAgent(), IP: ip}
}
