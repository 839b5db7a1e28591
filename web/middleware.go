package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// noStore marks a response as never to be cached: API responses carry
// tokens or a user's data.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a logged 500 with no detail, so that a
// bug never shows a stack trace to the client.
func (s *server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeProblem(w, http.StatusInternalServerError, gatehouse.EINTERNAL, "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

type principalKey struct{}

// PrincipalFrom returns the authenticated principal of a request.
func PrincipalFrom(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey{}).(*auth.Principal)
	return p
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header (scheme case-insensitive). ok is false when the request has no
// bearer credentials at all; a present but malformed one returns ok with
// an empty token.
func bearerToken(r *http.Request) (tok string, ok bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", false
	}
	if len(vals) > 1 {
		return "", true
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	rest = strings.TrimLeft(rest, " ")
	if !isB64Token(rest) {
		return "", true
	}
	return rest, true
}

// isB64Token reports whether s is an RFC 6750 b64token.
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && b64TokenChar[s[i]] {
		i++
	}
	if i == 0 {
		return false // at least one character before any '='
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// b64TokenChar marks the characters of RFC 6750's b64token before its
// trailing '=': a table, since every authenticated request checks each
// byte of its token (a JWT is some 400 of them).
var b64TokenChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()

var errNoToken = gatehouse.Errorf(gatehouse.EINVALIDTOKEN, "a bearer access token is required")

// authenticated lets a request through only with a valid, unrevoked access
// token, and puts its principal in the request context.
func (s *server) authenticated(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeProblem(w, http.StatusUnauthorized, gatehouse.EINVALIDTOKEN, errNoToken.Message)
			return
		}
		p, err := s.auth.Authenticate(r.Context(), tok)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}
