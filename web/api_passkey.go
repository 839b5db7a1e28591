package web

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// The passkey API (Bearer): register (begin, finish), list, rename and
// remove the user's passkeys. The pages do the same through forms
// (pages_passkey.go).

// passkeyJSON is a passkey as the API shows it: never its key material.
type passkeyJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	CreatedAt  string   `json:"created_at"`
	LastUsedAt *string  `json:"last_used_at"` // null until first used
	Transports []string `json:"transports"`
}

func toPasskey(p *gatehouse.Passkey) passkeyJSON {
	j := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: timeJSON(p.CreatedAt), Transports: p.Transports}
	if j.Transports == nil {
		j.Transports = []string{}
	}
	if !p.LastUsedAt.IsZero() {
		t := timeJSON(p.LastUsedAt)
		j.LastUsedAt = &t
	}
	return j
}

// handlePasskeyRegisterBegin answers the options for
// navigator.credentials.create: {"publicKey": {…}}. It takes no body.
func (s *server) handlePasskeyRegisterBegin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var none struct{}
		if err := decode(w, r, &none, true); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		opts, err := s.auth.BeginPasskeyRegistration(r.Context(), PrincipalFrom(r.Context()))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, opts)
	})
}

// handlePasskeyRegisterFinish takes {"name", "credential"} and one of
// "password" and "code" (a fresh TOTP code): credential is the
// PublicKeyCredential that navigator.credentials.create returned, as JSON
// (PublicKeyCredential.toJSON()).
func (s *server) handlePasskeyRegisterFinish() http.Handler {
	type request struct {
		reauthRequest
		Name       *string         `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	type response struct {
		Passkey passkeyJSON `json:"passkey"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		var code, password string
		err := decode(w, r, &req, false)
		if err == nil && len(req.Credential) == 0 {
			err = gatehouse.Errorf(gatehouse.EMALFORMED, "field %q is required", "credential")
		}
		if err == nil {
			code, password, err = req.values()
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		name := ""
		if req.Name != nil {
			name = *req.Name
		}
		pk, err := s.auth.FinishPasskeyRegistration(r.Context(), PrincipalFrom(r.Context()), name, req.Credential, code, password)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusCreated, response{Passkey: toPasskey(pk)})
	})
}

func (s *server) handlePasskeys() http.Handler {
	type response struct {
		Passkeys []passkeyJSON `json:"passkeys"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := s.auth.Passkeys(r.Context(), PrincipalFrom(r.Context()))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out := response{Passkeys: make([]passkeyJSON, 0, len(list))}
		for _, p := range list {
			out.Passkeys = append(out.Passkeys, toPasskey(p))
		}
		encode(w, http.StatusOK, out)
	})
}

// handleRenamePasskey takes {"name"}.
func (s *server) handleRenamePasskey() http.Handler {
	type request struct {
		Name *string `json:"name"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		err := decode(w, r, &req, false)
		if err == nil {
			err = required(namedField{"name", req.Name})
		}
		if err == nil {
			err = s.auth.RenamePasskey(r.Context(), PrincipalFrom(r.Context()), r.PathValue("id"), *req.Name)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleDeletePasskey takes one of {"password"} and {"code"} (a fresh
// TOTP code), as DELETE /api/mfa/totp does.
func (s *server) handleDeletePasskey() http.Handler {
	return s.reauthed(func(r *http.Request, code, password string) error {
		return s.auth.DeletePasskey(r.Context(), PrincipalFrom(r.Context()), r.PathValue("id"), code, password)
	})
}

// handleLoginPasskeyBegin takes {"challenge"} (of a 403
// second_factor_required) and answers the options for
// navigator.credentials.get: {"publicKey": {…}}, allowing the passkeys of
// the user behind the challenge. The answer goes to
// POST /api/login/second-factor as "passkey", with the same challenge.
func (s *server) handleLoginPasskeyBegin() http.Handler {
	type request struct {
		Challenge *string `json:"challenge"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		err := decode(w, r, &req, false)
		if err == nil {
			err = required(namedField{"challenge", req.Challenge})
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		opts, _, err := s.auth.BeginLoginPasskey(r.Context(), *req.Challenge)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, opts)
	})
}
