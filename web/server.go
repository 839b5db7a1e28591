// Package web is gatehouse's HTTP surface: the JSON API, the health and
// metrics endpoints and the middleware around them. routes.go lists every
// URL; error.go is the only place where error codes become statuses.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"

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
	// TrustedProxies are the proxies whose forwarding header is believed
	// for the client's address (throttling, the session's ip). Empty: no
	// header is believed, the peer's address is the client's.
	TrustedProxies []netip.Prefix
	// ClientIPHeader is the header those proxies append to:
	// HeaderXForwardedFor ("" means it too) or HeaderForwarded. Only
	// that one is read, since a client may send the other one forged.
	ClientIPHeader string
}

type server struct {
	auth    *auth.Service
	keys    *token.KeySet
	store   Pinger
	log     *slog.Logger
	metrics *metrics
}

// NewServer returns gatehouse's HTTP handler.
func NewServer(d Deps) http.Handler {
	s := &server{auth: d.Auth, keys: d.Keys, store: d.Store, log: d.Logger, metrics: newMetrics()}
	if s.log == nil {
		s.log = slog.Default()
	}
	mux := http.NewServeMux()
	s.routes(mux)
	h := s.observe(s.limitHeaders(mux))
	if len(d.TrustedProxies) > 0 {
		// Outside observe, which reads the route from the request the
		// mux sees.
		p := &proxies{trusted: d.TrustedProxies, header: http.CanonicalHeaderKey(d.ClientIPHeader)}
		h = p.clientAddress(h)
	}
	return s.recoverPanics(h)
}

// clientOf describes the requesting client: its address (the peer's, or
// the one trusted proxies forwarded) for throttling and the session record.
func clientOf(r *http.Request) auth.Client {
	ip, ok := r.Context().Value(clientKey{}).(string)
	if !ok {
		ip = hostOf(r.RemoteAddr)
	}
	return auth.Client{UserAgent: r.UserAgent(), IP: ip}
}
