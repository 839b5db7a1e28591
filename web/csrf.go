package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// CSRF protection of the page forms has two independent layers.
//
//  1. Every POST passes net/http's CrossOriginProtection (see pageForm): a
//     browser request whose Sec-Fetch-Site is cross-site or same-site, or
//     whose Origin names another host, is refused before any form is read.
//     All browsers since 2023 send one of the two headers.
//
//  2. Every form carries a token, the signed double-submit pattern: the
//     browser holds a random value in an HttpOnly cookie, and the token is
//     HMAC-SHA256(server key, cookie value | session id). A cross-site page
//     can neither read the cookie nor compute the HMAC, so it cannot forge
//     a token. We chose it over the synchronizer pattern (a token kept on
//     the server) because it needs no store and no server state, so every
//     instance sharing the key accepts every other's forms.
//
// Binding the token to the session id matters where an attacker can plant
// cookies (a sibling subdomain over plain HTTP): a (cookie, token) pair
// they obtained for themselves does not verify with the victim's session.
// Over HTTPS the cookie also carries the __Host- prefix, which a subdomain
// cannot set. The login and register forms are bound to no session; they
// still need the token, against login CSRF (signing a victim into the
// attacker's account).

// csrfField is the name of the hidden input of every form.
const csrfField = "csrf_token"

// csrfLabel separates this HMAC's inputs from any other use of the key.
const csrfLabel = "gatehouse/csrf/v1\x00"

// newCSRFKey returns a random key, for a server given none: its forms then
// verify only on this process, until it restarts.
func newCSRFKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return k
}

// csrfToken returns the token for the forms of one page, bound to the
// session sid ("" on the login and register pages). It sets the browser's
// CSRF cookie when the request had none, so call it once per response.
func (s *server) csrfToken(w http.ResponseWriter, r *http.Request, sid string) string {
	name := cookieName(r, csrfCookie)
	v := ""
	if c, err := r.Cookie(name); err == nil && validCSRFCookie(c.Value) {
		v = c.Value
	} else {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		v = base64.RawURLEncoding.EncodeToString(b)
		setCookie(w, r, name, v, 0)
	}
	return s.csrfMAC(v, sid)
}

// checkCSRF reports whether the form of r carries the right token for the
// browser's CSRF cookie and the session sid. The comparison is in
// constant time.
func (s *server) checkCSRF(r *http.Request, sid string) bool {
	c, err := r.Cookie(cookieName(r, csrfCookie))
	if err != nil || !validCSRFCookie(c.Value) {
		return false
	}
	got := r.PostForm.Get(csrfField)
	want := s.csrfMAC(c.Value, sid)
	return hmac.Equal([]byte(got), []byte(want))
}

func (s *server) csrfMAC(cookie, sid string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(csrfLabel))
	m.Write([]byte(cookie))
	m.Write([]byte{0})
	m.Write([]byte(sid))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRFCookie accepts only values of the shape we make (32 bytes in
// unpadded base64url), so a planted odd value is replaced, not used.
func validCSRFCookie(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}
