package web

import (
	"net/http"
)

func (s *server) handleLogout() http.Handler {
	type request struct {
		Scope string `json:"scope"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		err := decode(w, r, &req, true)
		if err == nil {
			err = s.auth.Logout(r.Context(), PrincipalFrom(r.Context()), req.Scope)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleSessions() http.Handler {
	type response struct {
		Sessions []sessionJSON `json:"sessions"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := PrincipalFrom(r.Context())
		list, err := s.auth.Sessions(r.Context(), p)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out := response{Sessions: make([]sessionJSON, 0, len(list))}
		for _, sess := range list {
			out.Sessions = append(out.Sessions, toSession(sess, p.SessionID))
		}
		encode(w, http.StatusOK, out)
	})
}

func (s *server) handleDeleteSession() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := s.auth.RevokeSession(r.Context(), PrincipalFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
