// Package web is gatehouse's HTTP surface: the JSON API, the health and
// metrics endpoints and the middleware around them. routes.go lists every
// URL; error.go is the only place where error codes become statuses.
package web

import (
	"context"
	"io"
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

	// Email runs the email flows (api_email.go); nil: their endpoints
	// answer 503 mail_unavailable.
	Email *auth.Email

	// Metrics serves GET /metrics (package metrics' Handler); nil: 404.
	Metrics http.Handler
	// Requests is told of every request; nil: nobody.
	Requests RequestObserver
	// AccessLog writes one info line per request.
	AccessLog bool
	// AccessLogText, with AccessLog, receives each access line directly,
	// written as Logger's handler would write it were it a
	// slog.TextHandler wrapped in LogHandler (TestAccessTextMatchesSlog
	// holds the two to the same bytes), at a fraction of the cost: the
	// line is the one log write of every request. Writes to it must be
	// safe alongside the handler's own. nil: through Logger.
	AccessLogText io.Writer

	// CSRFKey signs the pages' CSRF tokens (csrf.go). Instances that serve
	// the same users must share it, or a form loaded from one is refused
	// by another; nil: a random key for this process alone.
	CSRFKey []byte
	// CORSAllowedOrigins are the origins, as ParseOrigin returns them,
	// whose scripts may call the JSON API (cors.go); none: CORS is off.
	CORSAllowedOrigins []string
	// ServiceClients may use introspection, revocation and the revocation
	// feed; none: those endpoints are off.
	ServiceClients []ServiceClient
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
	auth      *auth.Service
	keys      *token.KeySet
	store     Pinger
	log       *slog.Logger
	metrics   http.Handler
	requests  RequestObserver
	accessLog bool
	accessOut io.Writer // Deps.AccessLogText
	pages     *pages
	csrfKey   []byte
	xorigin   *http.CrossOriginProtection
	clients   serviceClients
	email     *auth.Email
}

// Server is gatehouse's HTTP handler.
type Server struct {
	h      http.Handler
	routes []string
}

// NewServer returns gatehouse's HTTP handler.
func NewServer(d Deps) *Server {
	s := &server{auth: d.Auth, keys: d.Keys, store: d.Store, log: d.Logger,
		metrics: d.Metrics, requests: d.Requests, accessLog: d.AccessLog, accessOut: d.AccessLogText,
		pages: newPages(), csrfKey: d.CSRFKey, xorigin: http.NewCrossOriginProtection(),
		clients: newServiceClients(d.ServiceClients), email: d.Email}
	if s.log == nil {
		s.log = slog.Default()
	}
	if len(s.csrfKey) == 0 {
		s.csrfKey = newCSRFKey()
	}
	mux := &router{ServeMux: http.NewServeMux()}
	s.routes(mux)
	h := s.observe(s.recoverPanics(newCORS(d.CORSAllowedOrigins).wrap(s.limitHeaders(mux))))
	if len(d.TrustedProxies) > 0 {
		// Outside observe, which reads the route from the request the
		// mux sees, and logs the client's address.
		p := &proxies{trusted: d.TrustedProxies, header: http.CanonicalHeaderKey(d.ClientIPHeader)}
		h = p.clientAddress(h)
	}
	return &Server{h: h, routes: mux.patterns}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// Routes returns every pattern registered in routes.go, in order: the
// method-qualified ones ("GET /api/me") and the method-less ones that
// answer 405 or 404. The OpenAPI drift test compares them with
// openapi.yaml.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// router is a ServeMux that remembers what was registered on it.
type router struct {
	*http.ServeMux
	patterns []string
}

// Handle registers h and remembers the pattern.
func (m *router) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers f and remembers the pattern.
func (m *router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
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
