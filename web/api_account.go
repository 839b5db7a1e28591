package web

import (
	"net/http"
)

// credentials is the body of register and login.
type credentials struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
}

func (c *credentials) decode(w http.ResponseWriter, r *http.Request) error {
	if err := decode(w, r, c, false); err != nil {
		return err
	}
	return required(namedField{"username", c.Username}, namedField{"password", c.Password})
}

func (s *server) handleRegister() http.Handler {
	type response struct {
		User userJSON `json:"user"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req credentials
		if err := req.decode(w, r); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		u, err := s.auth.RegisterFrom(r.Context(), *req.Username, *req.Password, clientOf(r))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusCreated, response{User: toUser(u)})
	})
}

func (s *server) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req credentials
		if err := req.decode(w, r); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		pair, err := s.auth.Login(r.Context(), *req.Username, *req.Password, clientOf(r))
		if err != nil {
			s.writeLoginError(w, r, err)
			return
		}
		encode(w, http.StatusOK, toTokenPair(pair))
	})
}

func (s *server) handleRefresh() http.Handler {
	type request struct {
		RefreshToken *string `json:"refresh_token"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		err := decode(w, r, &req, false)
		if err == nil {
			err = required(namedField{"refresh_token", req.RefreshToken})
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		pair, err := s.auth.Refresh(r.Context(), *req.RefreshToken, clientOf(r))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, toTokenPair(pair))
	})
}

func (s *server) handleMain() http.Handler {
	type response struct {
		Message string   `json:"message"`
		User    userJSON `json:"user"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.auth.User(r.Context(), PrincipalFrom(r.Context()))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, response{Message: "Welcome, " + u.Username + "!", User: toUser(u)})
	})
}

func (s *server) handleMe() http.Handler {
	type response struct {
		User userJSON `json:"user"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.account(r, PrincipalFrom(r.Context()))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, response{User: toUser(u)})
	})
}

func (s *server) handlePassword() http.Handler {
	type request struct {
		CurrentPassword *string `json:"current_password"`
		NewPassword     *string `json:"new_password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		err := decode(w, r, &req, false)
		if err == nil {
			err = required(namedField{"current_password", req.CurrentPassword}, namedField{"new_password", req.NewPassword})
		}
		if err == nil {
			err = s.auth.ChangePassword(r.Context(), PrincipalFrom(r.Context()), *req.CurrentPassword, *req.NewPassword)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
