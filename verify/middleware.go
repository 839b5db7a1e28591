package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

type claimsKey struct{}

// ClaimsFrom returns the claims that Middleware put in a request's context,
// or nil.
func ClaimsFrom(ctx context.Context) *Claims {
	c, _ := ctx.Value(claimsKey{}).(*Claims)
	return c
}

// WithClaims returns ctx carrying c, as Middleware does; for tests of
// handlers that read ClaimsFrom.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// Middleware lets a request through to next only with a valid, unrevoked
// gatehouse access token in "Authorization: Bearer", and puts its claims
// in the request context (ClaimsFrom). Refusals are RFC 9457 problem
// documents, as gatehouse's own: 401 with WWW-Authenticate: Bearer
// (error="invalid_token" when a token was given, RFC 6750), or 503 with
// Retry-After while the revocation feed is stale. Tokens in the query
// string are never read.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", "Bearer")
			problem(w, http.StatusUnauthorized, "invalid_token", "a bearer access token is required")
			return
		}
		c, err := v.Verify(r.Context(), raw)
		switch {
		case errors.Is(err, ErrStale):
			w.Header().Set("Retry-After", "1")
			problem(w, http.StatusServiceUnavailable, "unavailable", "token revocations cannot be checked now")
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			problem(w, http.StatusUnauthorized, "invalid_token", "access token is invalid, expired or revoked")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
	})
}

// bearer returns the token of a single "Authorization: Bearer <token>"
// header (scheme case-insensitive). ok is false when there is none.
func bearer(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", len(vals) > 1
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(rest, " "), true
}

var titles = map[string]string{"invalid_token": "Invalid token", "unavailable": "Service unavailable"}

// problem writes an RFC 9457 problem document shaped like gatehouse's.
func problem(w http.ResponseWriter, status int, code, detail string) {
	b, _ := json.Marshal(map[string]any{
		"type": "urn:gatehouse:problem:" + code, "title": titles[code], "status": status, "detail": detail, "code": code,
	})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
