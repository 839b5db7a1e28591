package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The email pages: the forgotten-password form, the reset form a mailed
// link opens, the confirmation of an address (a GET shows a button that
// POSTs, so that a mail scanner prefetching the link uses nothing up) and
// the address form on /main.

func init() {
	flashText["reset"] = "Your password has been changed and every session signed out. Log in with the new password."
	flashText["email-sent"] = "We sent a link to confirm that address. Open it to finish."
	flashText["email-removed"] = "Your email address has been removed."
}

// noReferrer keeps a page's URL, which holds a link token, out of the
// Referer of anything the page loads or links to.
func noReferrer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// mailOn reports whether mail can be sent.
func (s *server) mailOn() bool { return s.email != nil && s.email.Enabled() }

// addAccount puts the user's addresses on the main page, when email is on
// or the account has one (which it can then still remove).
func (s *server) addAccount(r *http.Request, p *auth.Principal, d *pageData) {
	if s.email == nil {
		return
	}
	u, err := s.email.Account(r.Context(), p)
	if err != nil || !s.mailOn() && u.Email == "" && u.PendingEmail == "" {
		return // without mail, an account without an address sees nothing new
	}
	d.Account, d.MailOn = u, s.mailOn()
}

func (s *server) renderEmail(w http.ResponseWriter, r *http.Request, status int, d *pageData) {
	d.Title = map[string]string{"forgot": "Forgot password", "forgot-sent": "Check your email", "reset": "New password",
		"verify": "Confirm email address", "verified": "Email address confirmed"}[d.Mode]
	d.CSRF = s.csrfToken(w, r, "")
	s.render(w, r, status, "email", d)
}

// mailUnavailable is the page for a feature that needs mail on a server
// without it.
func (s *server) mailUnavailable(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusServiceUnavailable, "Not available",
		"Password reset by email is not available on this server. Ask its administrator.", "/login")
}

func (s *server) handleForgotPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.mailOn() {
			s.mailUnavailable(w, r)
			return
		}
		s.renderEmail(w, r, http.StatusOK, &pageData{Mode: "forgot"})
	})
}

// handleForgotForm asks for a reset link. One field takes a username or
// an address; the answer page is the same whatever the account.
func (s *server) handleForgotForm() http.Handler {
	return s.pageForm("/forgot", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.checkCSRF(r, "") {
			s.csrfRefused(w, r, "/forgot")
			return
		}
		if !s.mailOn() {
			s.mailUnavailable(w, r)
			return
		}
		name := strings.TrimSpace(r.PostForm.Get("username"))
		username, email := name, ""
		if strings.Contains(name, "@") {
			username, email = "", name
		}
		err := s.email.ForgotPassword(r.Context(), username, email, clientOf(r))
		if err != nil {
			status := s.failureStatus(w, r, err)
			msg := failureMessage(err)
			switch gatehouse.ErrorCode(err) {
			case gatehouse.EINVALIDUSERNAME, gatehouse.EINVALIDEMAIL, gatehouse.EMALFORMED:
				msg = "Please give a username or an email address."
			}
			s.renderEmail(w, r, status, &pageData{Mode: "forgot", Username: name, Error: msg, ErrField: "username"})
			return
		}
		s.renderEmail(w, r, http.StatusOK, &pageData{Mode: "forgot-sent"})
	}))
}

// linkFailed shows why a mailed link did nothing.
func (s *server) linkFailed(w http.ResponseWriter, r *http.Request, err error, back string) {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EINVALIDLINK:
		s.renderError(w, r, http.StatusBadRequest, "Link not valid",
			"This link is invalid, has expired or was already used. Ask for a new one.", back)
	case gatehouse.EEMAILTAKEN:
		s.renderError(w, r, http.StatusConflict, "Address in use",
			"Another account already uses this email address.", back)
	default:
		s.pageFailure(w, r, err, back)
	}
}

func (s *server) handleResetPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if token == "" {
			s.linkFailed(w, r, gatehouse.Errorf(gatehouse.EINVALIDLINK, "no token"), "/forgot")
			return
		}
		s.renderEmail(w, r, http.StatusOK, &pageData{Mode: "reset", Token: token})
	})
}

func (s *server) handleResetForm() http.Handler {
	return s.pageForm("/forgot", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.checkCSRF(r, "") {
			s.csrfRefused(w, r, "/forgot")
			return
		}
		if s.email == nil {
			s.mailUnavailable(w, r)
			return
		}
		token, next := r.PostForm.Get("token"), r.PostForm.Get("new_password")
		var err error = gatehouse.Errorf(gatehouse.EMALFORMED, "new password is required")
		if next != "" {
			err = s.email.ResetPassword(r.Context(), token, next)
		}
		switch gatehouse.ErrorCode(err) {
		case "":
			clearSessionCookies(w, r)
			setFlash(w, r, "reset")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		case gatehouse.EWEAKPASSWORD, gatehouse.EMALFORMED:
			status := s.failureStatus(w, r, err)
			s.renderEmail(w, r, status, &pageData{Mode: "reset", Token: token, Error: formMessage(err, "password"), ErrField: "new_password"})
		default:
			s.linkFailed(w, r, err, "/forgot")
		}
	}))
}

func (s *server) handleVerifyPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if token == "" {
			s.linkFailed(w, r, gatehouse.Errorf(gatehouse.EINVALIDLINK, "no token"), "/main")
			return
		}
		s.renderEmail(w, r, http.StatusOK, &pageData{Mode: "verify", Token: token})
	})
}

func (s *server) handleVerifyForm() http.Handler {
	return s.pageForm("/main", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.checkCSRF(r, "") {
			s.csrfRefused(w, r, "/main")
			return
		}
		if s.email == nil {
			s.mailUnavailable(w, r)
			return
		}
		u, err := s.email.VerifyEmail(r.Context(), r.PostForm.Get("token"))
		if err != nil {
			s.linkFailed(w, r, err, "/main")
			return
		}
		s.renderEmail(w, r, http.StatusOK, &pageData{Mode: "verified", Account: u})
	}))
}

// handleEmailForm asks for a new address from /main.
func (s *server) handleEmailForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if s.email == nil {
			s.mailUnavailable(w, r)
			return
		}
		err := s.email.SetEmail(r.Context(), p, r.PostForm.Get("email"), "", r.PostForm.Get("password"))
		if err != nil {
			s.emailFailed(w, r, p, err)
			return
		}
		setFlash(w, r, "email-sent")
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	})
}

func (s *server) handleEmailRemoveForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if s.email == nil {
			s.mailUnavailable(w, r)
			return
		}
		if err := s.email.RemoveEmail(r.Context(), p, "", r.PostForm.Get("password")); err != nil {
			s.emailFailed(w, r, p, err)
			return
		}
		setFlash(w, r, "email-removed")
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	})
}

// emailFailed shows the main page with why the address form (change or
// remove) did nothing.
func (s *server) emailFailed(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error) {
	status := s.failureStatus(w, r, err)
	msg := failureMessage(err)
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EINVALIDEMAIL:
		msg = "Please give an email address like name@example.com."
	case gatehouse.EMAILUNAVAILABLE:
		msg = "Email is not configured on this server."
	case gatehouse.ECREDENTIALS:
		msg = "Your current password is wrong."
	case gatehouse.EMALFORMED:
		msg = "Please enter your current password."
	}
	s.renderMain(w, r, p, status, &pageData{Error: msg, EmailError: true})
}
