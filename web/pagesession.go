package web

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The pages keep the same access and refresh tokens as an API client, in
// cookies instead of JavaScript memory: a page login is a session like any
// other (listed by GET /api/sessions, revoked by a logout), and there is no
// second session mechanism to secure.
//
// Security choices for every cookie (setCookie):
//   - HttpOnly: no script, ours or injected, can read a token.
//   - SameSite=Lax: sent on top-level navigations from other sites (a link
//     to /main works) but not on their POSTs or subrequests; the CSRF
//     checks (csrf.go) stand behind it.
//   - Path=/, no Domain: host-only, never sent to subdomains.
//   - Secure, and the __Host- name prefix, when the request came over
//     HTTPS, so that a cookie set over HTTPS never leaks to plain HTTP and
//     cannot be overwritten from a subdomain. Plain http://127.0.0.1 (for
//     development) works without them.
//
// The JSON API never reads these cookies, only the Authorization header,
// so a cross-site request can never ride on them there.
const (
	accessCookie  = "gh_at"
	refreshCookie = "gh_rt"
	csrfCookie    = "gh_csrf"
	flashCookie   = "gh_flash"
)

// cookieName returns the cookie's name for the request's scheme.
func cookieName(r *http.Request, base string) string {
	if r.TLS != nil {
		return "__Host-" + base
	}
	return base
}

// setCookie sets a cookie with the flags above. maxAge 0 makes a cookie
// that ends with the browser session; a negative one deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
}

// setSessionCookies stores a token pair in the browser. The access cookie
// lives as long as its token, the refresh cookie as long as the session.
func setSessionCookies(w http.ResponseWriter, r *http.Request, p *auth.TokenPair) {
	setCookie(w, r, cookieName(r, accessCookie), p.AccessToken, max(1, int(p.ExpiresIn/time.Second)))
	ttl := p.Session.ExpiresAt.Sub(p.Session.LastUsedAt)
	setCookie(w, r, cookieName(r, refreshCookie), p.RefreshToken, max(1, int(ttl/time.Second)))
}

// clearSessionCookies deletes the browser's tokens.
func clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	setCookie(w, r, cookieName(r, accessCookie), "", -1)
	setCookie(w, r, cookieName(r, refreshCookie), "", -1)
}

// errNoPageSession means the browser has no usable session: send it to
// /login.
var errNoPageSession = gatehouse.Errorf(gatehouse.EINVALIDTOKEN, "no session")

// pageSession returns the principal of the browser's session. A missing,
// expired or revoked access token is renewed with the refresh cookie,
// which rotates it; the new pair is set as cookies on w, so the user never
// notices. A rotated refresh token presented again (a stolen cookie, or a
// request that raced its own renewal) revokes the session, as in the API.
//
// Call it at most once per request: a second call would present the
// refresh token this one has just rotated.
func (s *server) pageSession(w http.ResponseWriter, r *http.Request) (*auth.Principal, error) {
	if c, err := r.Cookie(cookieName(r, accessCookie)); err == nil {
		p, err := s.auth.Authenticate(r.Context(), c.Value)
		if err == nil {
			return p, nil
		}
		if gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
			return nil, err // the store, asked in strict mode, failed
		}
	}
	c, err := r.Cookie(cookieName(r, refreshCookie))
	if err != nil {
		return nil, errNoPageSession
	}
	pair, err := s.auth.Refresh(r.Context(), c.Value, clientOf(r))
	if gatehouse.ErrorCode(err) == gatehouse.EINVALIDREFRESH {
		clearSessionCookies(w, r)
		return nil, errNoPageSession
	} else if err != nil {
		return nil, err
	}
	setSessionCookies(w, r, pair)
	return s.auth.Authenticate(r.Context(), pair.AccessToken)
}

// flash messages survive one redirect in a short-lived cookie that holds
// only a key of flashText, never text from the request, so nothing a
// third party sets can appear on the page.
var flashText = map[string]string{
	"logout":     "You have been logged out.",
	"everywhere": "You have been logged out everywhere.",
	"revoked":    "The session has been revoked.",
	"others":     "Every other session has been logged out.",
	"password":   "Your password has been changed. Every other session has been logged out.",
	"expired":    "Your session has ended. Please log in again.",

	"passkey-added":   "Your passkey has been added. Every other session has been logged out.",
	"passkey-renamed": "The passkey has been renamed.",
	"passkey-removed": "The passkey has been removed. Every other session has been logged out.",
	"challenge":       "Your login took too long or was already used. Please log in again.",
	"mfa_off":         "Two-factor authentication is off. Every other session has been logged out.",
}

// setFlash leaves a message for the next page.
func setFlash(w http.ResponseWriter, r *http.Request, key string) {
	setCookie(w, r, cookieName(r, flashCookie), key, 60)
}

// takeFlash returns the message left for this page, and deletes it.
func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(cookieName(r, flashCookie))
	if err != nil {
		return ""
	}
	setCookie(w, r, c.Name, "", -1)
	return flashText[c.Value]
}
