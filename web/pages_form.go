package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// pageForm guards every form POST before its handler runs: a cross-origin
// browser request is refused (csrf.go, layer 1), and the body is bounded
// and parsed. The handler still checks the form's token (layer 2).
func (s *server) pageForm(back string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.xorigin.Check(r); err != nil {
			s.csrfRefused(w, r, back)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.renderError(w, r, http.StatusRequestEntityTooLarge, "Too much text", "The form held more text than we accept. Go back and try again with less.", back)
			} else {
				s.renderError(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", back)
			}
			return
		}
		h.ServeHTTP(w, r)
	})
}

// csrfRefused is the answer to a form post without the right token or from
// another site. It is a page, since a person may see it: typically after
// a long pause in which the session changed.
func (s *server) csrfRefused(w http.ResponseWriter, r *http.Request, back string) {
	s.renderError(w, r, http.StatusForbidden, "Form refused",
		"This form was refused: it had expired, or it was not sent from this site. Go back, reload the page and try again.", back)
}

// signedInForm runs h for a form of the main page: the browser must have a
// session, and the form's token must be bound to that session.
func (s *server) signedInForm(h func(http.ResponseWriter, *http.Request, *auth.Principal)) http.Handler {
	return s.pageForm("/main", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.pageSession(w, r)
		if err != nil {
			s.noSession(w, r, err)
			return
		}
		if !s.checkCSRF(r, p.SessionID) {
			s.csrfRefused(w, r, "/main")
			return
		}
		h(w, r, p)
	}))
}

// noSession sends a browser without a usable session to /login; when the
// store could not be asked, it says so instead.
func (s *server) noSession(w http.ResponseWriter, r *http.Request, err error) {
	if gatehouse.ErrorCode(err) == gatehouse.EINVALIDTOKEN {
		if hadSessionCookie(r) {
			clearSessionCookies(w, r)
			setFlash(w, r, "expired")
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.pageFailure(w, r, err, "/main")
}

func hadSessionCookie(r *http.Request) bool {
	for _, base := range []string{accessCookie, refreshCookie} {
		if _, err := r.Cookie(cookieName(r, base)); err == nil {
			return true
		}
	}
	return false
}

// pageFailure shows an error that is no fault of the form: the store is
// down, or a bug. Internal causes are logged, never shown.
func (s *server) pageFailure(w http.ResponseWriter, r *http.Request, err error, back string) {
	status := s.failureStatus(w, r, err)
	s.renderError(w, r, status, "Something went wrong", failureMessage(err), back)
}

// failureStatus logs what must be logged and sets Retry-After where it
// applies, then returns the status for err.
func (s *server) failureStatus(w http.ResponseWriter, r *http.Request, err error) int {
	code := gatehouse.ErrorCode(err)
	switch code {
	case gatehouse.EINTERNAL, gatehouse.EUNAVAILABLE:
		s.log.Error("page request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	switch code {
	case gatehouse.ETOOMANYREQUESTS, gatehouse.EUNAVAILABLE:
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(err)))
	}
	return StatusOf(err)
}

func retrySeconds(err error) int {
	var ra RetryAfterError
	if errors.As(err, &ra) && ra.RetryAfterSeconds() > 0 {
		return ra.RetryAfterSeconds()
	}
	return retryAfter
}

// failureMessage words the errors that are nobody's typing mistake.
func failureMessage(err error) string {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.ETOOMANYREQUESTS:
		n := retrySeconds(err)
		unit := "seconds"
		if n == 1 {
			unit = "second"
		}
		return "Too many attempts. Please wait " + strconv.Itoa(n) + " " + unit + " and try again."
	case gatehouse.EUNAVAILABLE:
		return "The service is unavailable right now. Please try again in a moment."
	case gatehouse.ETOOLARGE:
		return "That was more text than we accept."
	}
	return "Something went wrong on our side. Please try again."
}

// formMessage words an error of the login, register or password form.
// Rule violations keep auth's own wording, which is already plain.
func formMessage(err error, form string) string {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.ECREDENTIALS:
		if form == "password" {
			return "Your current password is wrong."
		}
		return "Wrong username or password."
	case gatehouse.EUSERNAMETAKEN:
		return "That username is already taken. Please choose another one."
	case gatehouse.EINVALIDUSERNAME, gatehouse.EWEAKPASSWORD:
		return sentence(gatehouse.ErrorMessage(err))
	case gatehouse.EMALFORMED:
		return "Please fill in every field."
	}
	return failureMessage(err)
}

// errField names the input an error is about, to focus and mark it.
func errField(err error, form string) string {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EINVALIDUSERNAME, gatehouse.EUSERNAMETAKEN:
		return "username"
	case gatehouse.EWEAKPASSWORD:
		if form == "password" {
			return "new_password"
		}
		return "password"
	case gatehouse.ECREDENTIALS:
		if form == "password" {
			return "current_password"
		}
		return "password"
	}
	return ""
}

// sentence capitalises msg and ends it with a full stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
