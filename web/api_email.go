package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The email endpoints. Without Deps.Email they all answer 503
// mail_unavailable; with it but without a mail server, those that must
// send (PUT /api/email, POST /api/password/forgot) do.

var errNoEmail = gatehouse.Errorf(gatehouse.EMAILUNAVAILABLE, "email is not configured on this server")

// emailOnly answers mail_unavailable when the server has no email flows.
func (s *server) emailOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.email == nil {
			writeError(w, r, s.log, errNoEmail)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *server) handleSetEmail() http.Handler {
	type request struct {
		Email *string `json:"email"`
		reauthRequest
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		var code, password string
		err := decode(w, r, &req, false)
		if err == nil {
			err = required(namedField{"email", req.Email})
		}
		if err == nil {
			code, password, err = req.values()
		}
		if err == nil {
			err = s.email.SetEmail(r.Context(), PrincipalFrom(r.Context()), *req.Email, code, password)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		s.writeAccount(w, r, http.StatusAccepted)
	})
}

// writeAccount answers {"user": User} with the principal's addresses.
func (s *server) writeAccount(w http.ResponseWriter, r *http.Request, status int) {
	type response struct {
		User userJSON `json:"user"`
	}
	u, err := s.email.Account(r.Context(), PrincipalFrom(r.Context()))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	encode(w, status, response{User: toUser(u)})
}

func (s *server) handleDeleteEmail() http.Handler {
	return s.reauthed(func(r *http.Request, code, password string) error {
		return s.email.RemoveEmail(r.Context(), PrincipalFrom(r.Context()), code, password)
	})
}

func (s *server) handleVerifyEmail() http.Handler {
	type request struct {
		Token *string `json:"token"`
	}
	type response struct {
		User userJSON `json:"user"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if err := required(namedField{"token", req.Token}); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		u, err := s.email.VerifyEmail(r.Context(), *req.Token)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, response{User: toUser(u)})
	})
}

// forgotAccepted is the one answer to every reset request that passes
// the input checks: whether an account exists, has an address, or was
// throttled is not told.
type forgotAccepted struct {
	Message string `json:"message"`
}

var forgotAnswer = forgotAccepted{Message: "If the account exists and has a verified email address, a link to reset its password has been sent to it."}

func (s *server) handleForgotPassword() http.Handler {
	type request struct {
		Username *string `json:"username"`
		Email    *string `json:"email"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req, false); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		username, email := deref(req.Username), deref(req.Email)
		if err := s.email.ForgotPassword(r.Context(), username, email, clientOf(r)); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusAccepted, forgotAnswer)
	})
}

func (s *server) handleResetPassword() http.Handler {
	type request struct {
		Token       *string `json:"token"`
		NewPassword *string `json:"new_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		err := decode(w, r, &req, false)
		if err == nil {
			err = required(namedField{"token", req.Token}, namedField{"new_password", req.NewPassword})
		}
		if err == nil {
			err = s.email.ResetPassword(r.Context(), *req.Token, *req.NewPassword)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// account returns the principal's account with its addresses when the
// email flows are on, else the cached account (which has none).
func (s *server) account(r *http.Request, p *auth.Principal) (*gatehouse.User, error) {
	if s.email != nil {
		return s.email.Account(r.Context(), p)
	}
	return s.auth.User(r.Context(), p)
}
