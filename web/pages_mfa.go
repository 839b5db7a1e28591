package web

import (
	"errors"
	"html/template"
	"net/http"
	"regexp"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// The second factor in the pages: the login's second step
// (/login/second-factor) and the "Two-factor authentication" card of
// /main (templates/mfa.html), all plain forms like the rest.

// challengeCookie carries a login's challenge from the password form to
// the second-factor form. HttpOnly and SameSite=Lax like the session
// cookies, and it lives only as long as the challenge.
const challengeCookie = "gh_2fa"

// mfaView is the state of the main page's two-factor card.
type mfaView struct {
	Enabled       bool
	CodesLeft     int
	Pending       *enrolView // set while an enrolment waits for its code
	RecoveryCodes []string   // just made: shown this once
	Error         string
	ErrField      string // "code" (confirm) or "reauth" (disable, regenerate)
}

// enrolView shows a pending TOTP secret: as a QR code and as text.
type enrolView struct {
	Secret string
	URI    string
	QR     template.URL // a data: URL, which the CSP's img-src allows
}

// mfaPageRoutes adds the second-factor pages; routes.go calls it.
func (s *server) mfaPageRoutes(mux *router, page func(pattern string, h http.Handler)) {
	page("GET /login/second-factor", s.handleSecondFactorPage())
	page("POST /login/second-factor", s.handleSecondFactorForm())
	page("POST /mfa/totp", s.handleEnrolForm())
	page("POST /mfa/totp/confirm", s.handleConfirmForm())
	page("POST /mfa/totp/disable", s.handleDisableForm())
	page("POST /mfa/recovery-codes", s.handleRecoveryCodesForm())
	mux.Handle("/login/second-factor", s.pageMethodNotAllowed("GET", "HEAD", "POST"))
	for _, p := range []string{"/mfa/totp", "/mfa/totp/confirm", "/mfa/totp/disable", "/mfa/recovery-codes"} {
		mux.Handle(p, s.pageMethodNotAllowed("POST"))
	}
}

// startSecondFactor answers a right password of a user with a second
// factor: the challenge goes into its cookie and the browser to the
// second-factor form. It reports whether err was that.
func startSecondFactor(w http.ResponseWriter, r *http.Request, err error) bool {
	var sfr *auth.SecondFactorRequired
	if !errors.As(err, &sfr) {
		return false
	}
	setCookie(w, r, cookieName(r, challengeCookie), sfr.Challenge, max(1, int(sfr.ExpiresIn/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/login/second-factor", http.StatusSeeOther)
	return true
}

func (s *server) handleSecondFactorPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(cookieName(r, challengeCookie)); err != nil {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		s.renderSecondFactor(w, r, http.StatusOK, &pageData{})
	})
}

func (s *server) renderSecondFactor(w http.ResponseWriter, r *http.Request, status int, d *pageData) {
	d.Title = "Two-factor authentication"
	d.CSRF = s.csrfToken(w, r, "")
	d.Passkeys = s.passkeyLogin(r) // pages_passkey.go
	s.render(w, r, status, "secondfactor", d)
}

func (s *server) handleSecondFactorForm() http.Handler {
	return s.pageForm("/login/second-factor", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.checkCSRF(r, "") {
			s.csrfRefused(w, r, "/login/second-factor")
			return
		}
		c, err := r.Cookie(cookieName(r, challengeCookie))
		if err != nil {
			setFlash(w, r, "challenge")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		proof := auth.SecondFactorProof{TOTPCode: r.PostForm.Get("totp_code"), RecoveryCode: r.PostForm.Get("recovery_code"),
			Passkey: []byte(r.PostForm.Get("passkey"))}
		pair, err := s.auth.CompleteLogin(r.Context(), c.Value, proof, clientOf(r))
		switch gatehouse.ErrorCode(err) {
		case "":
			setCookie(w, r, c.Name, "", -1)
			setSessionCookies(w, r, pair)
			http.Redirect(w, r, "/main", http.StatusSeeOther)
		case gatehouse.EINVALIDCHALLENGE:
			setCookie(w, r, c.Name, "", -1)
			setFlash(w, r, "challenge")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		default:
			field, msg := "totp_code", mfaMessage(err)
			if proof.RecoveryCode != "" {
				field = "recovery_code"
			} else if len(proof.Passkey) > 0 {
				field, msg = "passkey", passkeyMessage(err)
			}
			status := s.failureStatus(w, r, err)
			s.renderSecondFactor(w, r, status, &pageData{Error: msg, ErrField: field})
		}
	}))
}

// mfaMessage words an error of a second-factor form.
func mfaMessage(err error) string {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EINVALIDSECONDFACTOR:
		return "That code is wrong or has already been used."
	case gatehouse.ECREDENTIALS:
		return "That password is wrong."
	case gatehouse.EMALFORMED:
		return "Please enter a code."
	case gatehouse.ENOTFOUND:
		return "Two-factor authentication is not set up."
	case gatehouse.EFACTOREXISTS:
		return "Two-factor authentication is already on."
	}
	return failureMessage(err)
}

// mfaState fills the two-factor card of the main page.
func (s *server) mfaState(r *http.Request, p *auth.Principal, v *mfaView) error {
	st, err := s.auth.MFAStatus(r.Context(), p)
	if err != nil {
		return err
	}
	v.Enabled, v.CodesLeft = st.TOTP, st.RecoveryCodesLeft
	if st.TOTPPending && v.RecoveryCodes == nil {
		e, err := s.auth.PendingTOTP(r.Context(), p)
		if err != nil {
			return err
		}
		qr, err := qrDataURL(e.URI)
		if err != nil {
			return err
		}
		v.Pending = &enrolView{Secret: e.Secret, URI: e.URI, QR: template.URL(qr)}
	}
	return nil
}

// renderMFA shows the main page with the two-factor card in state v.
func (s *server) renderMFA(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error, v *mfaView) {
	status := http.StatusOK
	if err != nil {
		status = s.failureStatus(w, r, err)
		v.Error = mfaMessage(err)
	}
	s.renderMain(w, r, p, status, &pageData{MFA: v})
}

func (s *server) handleEnrolForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		_, err := s.auth.EnrolTOTP(r.Context(), p)
		s.renderMFA(w, r, p, err, &mfaView{})
	})
}

func (s *server) handleConfirmForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		codes, err := s.auth.ConfirmTOTP(r.Context(), p, r.PostForm.Get("code"), r.PostForm.Get("password"))
		field := "code"
		if gatehouse.ErrorCode(err) == gatehouse.ECREDENTIALS || err != nil && r.PostForm.Get("password") == "" {
			field = "password"
		}
		s.renderMFA(w, r, p, err, &mfaView{RecoveryCodes: codes, ErrField: field})
	})
}

// totpCodeForm is what a typed TOTP code looks like; anything else typed
// into the "code or password" field is a password (at least 8 characters).
var totpCodeForm = regexp.MustCompile(`^\s*[0-9]{6}\s*$`)

// reauthForm reads the "code or password" field of the disable and
// regenerate forms.
func reauthForm(r *http.Request) (code, password string) {
	v := r.PostForm.Get("code_or_password")
	if totpCodeForm.MatchString(v) {
		return v, ""
	}
	return "", v
}

func (s *server) handleDisableForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		code, password := reauthForm(r)
		if err := s.auth.DisableTOTP(r.Context(), p, code, password); err != nil {
			s.renderMFA(w, r, p, err, &mfaView{ErrField: "reauth"})
			return
		}
		setFlash(w, r, "mfa_off")
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	})
}

func (s *server) handleRecoveryCodesForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		code, password := reauthForm(r)
		codes, err := s.auth.RegenerateRecoveryCodes(r.Context(), p, code, password)
		s.renderMFA(w, r, p, err, &mfaView{RecoveryCodes: codes, ErrField: "reauth"})
	})
}
