package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// CORS lets a single-page frontend on another origin (its own dev server,
// say) call the JSON API. It is off unless origins are configured, and an
// Origin is answered only when it is one of them, compared exactly: the
// request's Origin is never reflected otherwise, and there is no wildcard.
//
// No credentials mode (Access-Control-Allow-Credentials) is offered, on
// purpose: the API authenticates with a bearer token that the frontend
// puts in the Authorization header itself, so the browser has no ambient
// credential to send. The page cookies are never read by the API, and
// without credentials mode the browser does not even attach them.

// corsMaxAge is how long, in seconds, a browser may cache a preflight.
const corsMaxAge = "600"

// corsPolicy answers cross-origin requests to the API for a fixed set of
// origins.
type corsPolicy struct {
	origins map[string]bool
}

func newCORS(origins []string) *corsPolicy {
	if len(origins) == 0 {
		return nil
	}
	c := &corsPolicy{origins: map[string]bool{}}
	for _, o := range origins {
		c.origins[o] = true
	}
	return c
}

// corsPath reports whether a path belongs to the API that CORS opens: the
// JSON endpoints and the public keys. Pages and their forms never do.
func corsPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/.well-known/jwks.json"
}

// wrap applies the policy in front of h. A nil policy changes nothing.
func (c *corsPolicy) wrap(h http.Handler) http.Handler {
	if c == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !corsPath(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		hd := w.Header()
		// The answer depends on Origin, so shared caches must key on it.
		hd.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		allowed := origin != "" && c.origins[origin]
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Add("Vary", "Access-Control-Request-Method")
			hd.Add("Vary", "Access-Control-Request-Headers")
			if allowed {
				hd.Set("Access-Control-Allow-Origin", origin)
				hd.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE") // PUT: /api/email; PATCH: passkey names
				hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				hd.Set("Access-Control-Max-Age", corsMaxAge)
			}
			// A refused preflight gets no Allow headers; the browser
			// then blocks the request it was asking about.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			hd.Set("Access-Control-Allow-Origin", origin)
			// Clients need these to handle 401 and 429 answers.
			hd.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After")
		}
		h.ServeHTTP(w, r)
	})
}

// ParseOrigin checks one configured CORS origin and returns it in the form
// browsers send in the Origin header (lowercase scheme and host, no
// default port, no path), so that comparing is exact string equality.
func ParseOrigin(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "*" || s == "null" {
		return "", errors.New("list each origin, like https://app.example.com; " + s + " is not allowed")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", errors.New("an origin is http:// or https:// and a host, like https://app.example.com, got " + quote(s))
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", errors.New("an origin has no path, query or user, got " + quote(s))
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}

func quote(s string) string { return `"` + s + `"` }
