package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/skip2/go-qrcode"
)

// The second factor in the JSON API: the login's second step and the
// management of a user's factors under /api/mfa.

// mfaRoutes adds the second-factor routes; routes.go calls it.
func (s *server) mfaRoutes(mux *router, api func(method, path string, h http.Handler)) {
	api("POST", "/api/login/second-factor", s.handleSecondFactor())
	api("GET", "/api/mfa", s.authenticated(s.handleMFAStatus()))
	mux.Handle("POST /api/mfa/totp", noStore(s.authenticated(s.handleEnrolTOTP())))
	mux.Handle("DELETE /api/mfa/totp", noStore(s.authenticated(s.handleDisableTOTP())))
	mux.Handle("/api/mfa/totp", s.methodNotAllowed("POST", "DELETE"))
	api("POST", "/api/mfa/totp/confirm", s.authenticated(s.handleConfirmTOTP()))
	api("POST", "/api/mfa/recovery-codes", s.authenticated(s.handleRecoveryCodes()))
}

// secondFactorProblem is the problem document of second_factor_required,
// with the extension members the second step needs (RFC 9457 §3.2).
type secondFactorProblem struct {
	Problem
	Challenge string   `json:"challenge"`
	ExpiresIn int64    `json:"expires_in"`
	Methods   []string `json:"methods"`
}

// writeLoginError writes a login's error; second_factor_required carries
// the challenge.
func (s *server) writeLoginError(w http.ResponseWriter, r *http.Request, err error) {
	var sfr *auth.SecondFactorRequired
	if !errors.As(err, &sfr) {
		writeError(w, r, s.log, err)
		return
	}
	body := secondFactorProblem{
		Problem:   Problem{Status: StatusOf(err), Code: gatehouse.ErrorCode(err), Detail: gatehouse.ErrorMessage(err)},
		Challenge: sfr.Challenge, ExpiresIn: int64(sfr.ExpiresIn / time.Second), Methods: sfr.Methods,
	}
	writeProblemBody(w, &body.Problem, &body)
}

// proofRequest is the second step's body: the challenge and exactly one
// proof field. A new kind of factor adds a field here and in proof.
type proofRequest struct {
	Challenge    *string         `json:"challenge"`
	TOTPCode     *string         `json:"totp_code"`
	RecoveryCode *string         `json:"recovery_code"`
	Passkey      json.RawMessage `json:"passkey"` // the assertion, PublicKeyCredential JSON
}

// proof returns the one proof given; EMALFORMED unless exactly one is.
func (q *proofRequest) proof() (auth.SecondFactorProof, error) {
	var p auth.SecondFactorProof
	n := 0
	if q.TOTPCode != nil {
		p.TOTPCode, n = *q.TOTPCode, n+1
	}
	if q.RecoveryCode != nil {
		p.RecoveryCode, n = *q.RecoveryCode, n+1
	}
	if len(q.Passkey) > 0 && string(q.Passkey) != "null" {
		p.Passkey, n = q.Passkey, n+1
	}
	if n != 1 {
		return p, gatehouse.Errorf(gatehouse.EMALFORMED, "give exactly one of totp_code, recovery_code and passkey")
	}
	return p, nil
}

func (s *server) handleSecondFactor() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req proofRequest
		var proof auth.SecondFactorProof
		err := decode(w, r, &req, false)
		if err == nil {
			err = required(namedField{"challenge", req.Challenge})
		}
		if err == nil {
			proof, err = req.proof()
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		pair, err := s.auth.CompleteLogin(r.Context(), *req.Challenge, proof, clientOf(r))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, toTokenPair(pair))
	})
}

// mfaStatusJSON is GET /api/mfa's answer.
type mfaStatusJSON struct {
	TOTPEnabled       bool     `json:"totp_enabled"`
	TOTPPending       bool     `json:"totp_pending"`
	RecoveryCodesLeft int      `json:"recovery_codes_left"`
	Methods           []string `json:"methods"`
}

func (s *server) handleMFAStatus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := s.auth.MFAStatus(r.Context(), PrincipalFrom(r.Context()))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, mfaStatusJSON{TOTPEnabled: st.TOTP, TOTPPending: st.TOTPPending,
			RecoveryCodesLeft: st.RecoveryCodesLeft, Methods: st.Methods})
	})
}

// qrDataURL renders text as a QR code in a PNG data: URL, which the pages'
// Content-Security-Policy (img-src data:) allows and an API client can
// put in an <img> as it is.
func qrDataURL(text string) (string, error) {
	png, err := qrcode.Encode(text, qrcode.Medium, 256)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}

func (s *server) handleEnrolTOTP() http.Handler {
	type response struct {
		Secret string `json:"secret"`
		URI    string `json:"otpauth_uri"`
		QRCode string `json:"qr_code"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{}
		err := decode(w, r, &req, true)
		var e *auth.TOTPEnrolment
		if err == nil {
			e, err = s.auth.EnrolTOTP(r.Context(), PrincipalFrom(r.Context()))
		}
		var qr string
		if err == nil {
			qr, err = qrDataURL(e.URI)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusCreated, response{Secret: e.Secret, URI: e.URI, QRCode: qr})
	})
}

// recoveryCodesJSON is the answer that shows new recovery codes, once.
type recoveryCodesJSON struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// handleConfirmTOTP takes {"code", "password"}: the new factor's first
// code, and the password, which proves the user.
func (s *server) handleConfirmTOTP() http.Handler {
	type request struct {
		Code     *string `json:"code"`
		Password *string `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		var codes []string
		err := decode(w, r, &req, false)
		if err == nil {
			err = required(namedField{"code", req.Code}, namedField{"password", req.Password})
		}
		if err == nil {
			codes, err = s.auth.ConfirmTOTP(r.Context(), PrincipalFrom(r.Context()), *req.Code, *req.Password)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, recoveryCodesJSON{RecoveryCodes: codes})
	})
}

// reauthRequest is the body of the changes that need a fresh TOTP code or
// the password: exactly one of them.
type reauthRequest struct {
	Code     *string `json:"code"`
	Password *string `json:"password"`
}

func (q *reauthRequest) values() (code, password string, err error) {
	if (q.Code == nil) == (q.Password == nil) {
		return "", "", gatehouse.Errorf(gatehouse.EMALFORMED, "give exactly one of code and password")
	}
	if q.Code != nil {
		return *q.Code, "", nil
	}
	return "", *q.Password, nil
}

func (s *server) handleDisableTOTP() http.Handler {
	return s.reauthed(func(r *http.Request, code, password string) error {
		return s.auth.DisableTOTP(r.Context(), PrincipalFrom(r.Context()), code, password)
	})
}

// reauthed answers 204 once act succeeds with the body's fresh proof of
// the user, one of {"code"} and {"password"}: the removals that need one.
func (s *server) reauthed(act func(r *http.Request, code, password string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req reauthRequest
		var code, password string
		err := decode(w, r, &req, false)
		if err == nil {
			code, password, err = req.values()
		}
		if err == nil {
			err = act(r, code, password)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleRecoveryCodes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req reauthRequest
		var code, password string
		var codes []string
		err := decode(w, r, &req, false)
		if err == nil {
			code, password, err = req.values()
		}
		if err == nil {
			codes, err = s.auth.RegenerateRecoveryCodes(r.Context(), PrincipalFrom(r.Context()), code, password)
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		encode(w, http.StatusOK, recoveryCodesJSON{RecoveryCodes: codes})
	})
}
