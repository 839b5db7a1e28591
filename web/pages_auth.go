package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// handleRoot sends a browser to its main page, or to the login page when
// it has no session.
func (s *server) handleRoot() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to := "/main"
		if _, err := s.pageSession(w, r); gatehouse.ErrorCode(err) == gatehouse.EINVALIDTOKEN {
			to = "/login"
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// handleAuthPage shows the login or register form (mode), or sends a
// browser that is already signed in on to /main.
func (s *server) handleAuthPage(mode string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, err := s.pageSession(w, r); err == nil && p != nil {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, "/main", http.StatusSeeOther)
			return
		}
		s.renderAuth(w, r, http.StatusOK, &pageData{Mode: mode, Notice: takeFlash(w, r)})
	})
}

func (s *server) renderAuth(w http.ResponseWriter, r *http.Request, status int, d *pageData) {
	d.Title = "Log in"
	if d.Mode == "register" {
		d.Title = "Create an account"
	}
	d.CSRF = s.csrfToken(w, r, "")
	s.render(w, r, status, "auth", d)
}

// authFormError shows the form again, with the username kept and the
// error in plain words, under the error's own status.
func (s *server) authFormError(w http.ResponseWriter, r *http.Request, mode, username string, err error) {
	status := s.failureStatus(w, r, err)
	s.renderAuth(w, r, status, &pageData{
		Mode: mode, Username: username,
		Error: formMessage(err, mode), ErrField: errField(err, mode),
	})
}

// credentialsForm reads the username and password of a login or register
// form, after checking its token. ok is false when an answer was written.
func (s *server) credentialsForm(w http.ResponseWriter, r *http.Request, mode string) (username, password string, ok bool) {
	if !s.checkCSRF(r, "") {
		s.csrfRefused(w, r, "/"+mode)
		return "", "", false
	}
	username, password = r.PostForm.Get("username"), r.PostForm.Get("password")
	if username == "" || password == "" {
		err := gatehouse.Errorf(gatehouse.EMALFORMED, "username and password are required")
		s.authFormError(w, r, mode, username, err)
		return "", "", false
	}
	return username, password, true
}

func (s *server) handleLoginForm() http.Handler {
	return s.pageForm("/login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		username, password, ok := s.credentialsForm(w, r, "login")
		if !ok {
			return
		}
		pair, err := s.auth.Login(r.Context(), username, password, clientOf(r))
		if startSecondFactor(w, r, err) { // pages_mfa.go
			return
		} else if err != nil {
			s.authFormError(w, r, "login", username, err)
			return
		}
		setSessionCookies(w, r, pair)
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	}))
}

// handleRegisterForm creates the account and logs it in at once, so that a
// new user lands on /main.
func (s *server) handleRegisterForm() http.Handler {
	return s.pageForm("/register", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		username, password, ok := s.credentialsForm(w, r, "register")
		if !ok {
			return
		}
		if _, err := s.auth.RegisterFrom(r.Context(), username, password, clientOf(r)); err != nil {
			s.authFormError(w, r, "register", username, err)
			return
		}
		pair, err := s.auth.Login(r.Context(), username, password, clientOf(r))
		if err != nil {
			// The account exists; only the session failed. Logging in is
			// the way on.
			s.authFormError(w, r, "login", username, err)
			return
		}
		setSessionCookies(w, r, pair)
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	}))
}

// handleLogoutForm is the API's logout for a browser: scope "" or "local"
// ends this session, "global" every session of the user, "others" all
// but this one. It ends on /login, or /main for "others".
func (s *server) handleLogoutForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		scope := r.PostForm.Get("scope")
		if err := s.auth.Logout(r.Context(), p, scope); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.EMALFORMED {
				s.renderError(w, r, http.StatusBadRequest, "Form not understood", "That kind of logout does not exist.", "/main")
				return
			}
			s.pageFailure(w, r, err, "/main")
			return
		}
		switch scope {
		case auth.ScopeOthers:
			setFlash(w, r, "others")
			http.Redirect(w, r, "/main", http.StatusSeeOther)
			return
		case auth.ScopeGlobal:
			setFlash(w, r, "everywhere")
		default:
			setFlash(w, r, "logout")
		}
		clearSessionCookies(w, r)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}
