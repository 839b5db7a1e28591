package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// Passkeys on the main page. Every step is an ordinary form post, with
// the form's CSRF token and the cross-origin check of every page form, so
// the script (static/passkeys.js) needs no endpoint of its own and never
// sees a token:
//
//  1. "Add a passkey" posts the chosen name to /passkeys/register, which
//     begins the ceremony and shows the main page again with the creation
//     options in a data attribute and a "Create the passkey" button.
//  2. That button (a click: some browsers want one) runs
//     navigator.credentials.create with those options and posts the
//     answer, as JSON in a hidden field, to /passkeys/register/finish.
//  3. Rename and remove are plain forms.

// passkeysView is the passkey section of the main page.
type passkeysView struct {
	List     []passkeyView
	Options  string // the creation options (JSON) while a registration waits for the browser
	Name     string // the name chosen for it
	ErrorMsg string // what went wrong with a passkey form, shown in the section
	TOTP     bool   // on the second-factor page: the user has TOTP too
}

type passkeyView struct {
	ID, Name, Created, LastUsed string
}

// passkeysFor fills in the section for p (v carries what a form left
// for it, or is nil), or returns nil when passkeys are off.
func (s *server) passkeysFor(r *http.Request, p *auth.Principal, v *passkeysView, now time.Time) (*passkeysView, error) {
	list, err := s.auth.Passkeys(r.Context(), p)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil // passkeys are off
	} else if err != nil {
		return nil, err
	}
	if v == nil {
		v = &passkeysView{}
	}
	v.List = make([]passkeyView, 0, len(list))
	for _, pk := range list {
		used := "never used"
		if !pk.LastUsedAt.IsZero() {
			used = "last used " + ago(now, pk.LastUsedAt)
		}
		v.List = append(v.List, passkeyView{ID: pk.ID, Name: pk.Name, Created: pk.CreatedAt.UTC().Format("Jan 2, 2006"), LastUsed: used})
	}
	return v, nil
}

// passkeyFailure shows the main page with a passkey form's error.
func (s *server) passkeyFailure(w http.ResponseWriter, r *http.Request, p *auth.Principal, err error) {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EMALFORMED, gatehouse.EINVALIDPASSKEY, gatehouse.ENOTFOUND, gatehouse.ECREDENTIALS:
		msg := sentence(gatehouse.ErrorMessage(err))
		switch gatehouse.ErrorCode(err) {
		case gatehouse.ENOTFOUND:
			msg = "That passkey does not exist any more."
		case gatehouse.ECREDENTIALS:
			msg = "That password is wrong."
		}
		s.renderMain(w, r, p, StatusOf(err), &pageData{Passkeys: &passkeysView{ErrorMsg: msg}})
	default:
		s.pageFailure(w, r, err, "/main")
	}
}

// handlePasskeyRegisterForm begins a registration and shows the page that
// lets the browser create the passkey.
func (s *server) handlePasskeyRegisterForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		name := r.PostForm.Get("name")
		opts, err := s.auth.BeginPasskeyRegistration(r.Context(), p)
		if err != nil {
			s.passkeyFailure(w, r, p, err)
			return
		}
		b, err := json.Marshal(opts)
		if err != nil {
			s.pageFailure(w, r, err, "/main")
			return
		}
		s.renderMain(w, r, p, http.StatusOK, &pageData{Passkeys: &passkeysView{Options: string(b), Name: name}})
	})
}

// handlePasskeyFinishForm keeps the passkey the browser created.
func (s *server) handlePasskeyFinishForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		cred := r.PostForm.Get("credential")
		if cred == "" {
			s.passkeyFailure(w, r, p, gatehouse.Errorf(gatehouse.EINVALIDPASSKEY, "the browser created no passkey"))
			return
		}
		if _, err := s.auth.FinishPasskeyRegistration(r.Context(), p, r.PostForm.Get("name"), []byte(cred), "", r.PostForm.Get("password")); err != nil {
			s.passkeyFailure(w, r, p, err)
			return
		}
		setFlash(w, r, "passkey-added")
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	})
}

func (s *server) handlePasskeyRenameForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if err := s.auth.RenamePasskey(r.Context(), p, r.PathValue("id"), r.PostForm.Get("name")); err != nil {
			s.passkeyFailure(w, r, p, err)
			return
		}
		setFlash(w, r, "passkey-renamed")
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	})
}

func (s *server) handlePasskeyDeleteForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if err := s.auth.DeletePasskey(r.Context(), p, r.PathValue("id"), "", r.PostForm.Get("password")); err != nil {
			s.passkeyFailure(w, r, p, err)
			return
		}
		setFlash(w, r, "passkey-removed")
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	})
}

// passkeyLogin begins the passkey assertion of the second-factor page for
// the login challenge in the browser's cookie: the "Use a passkey" button
// and its form. nil when the user has no passkey (or passkeys are off,
// or the challenge is gone): the page then offers codes only.
func (s *server) passkeyLogin(r *http.Request) *passkeysView {
	c, err := r.Cookie(cookieName(r, challengeCookie))
	if err != nil {
		return nil
	}
	opts, methods, err := s.auth.BeginLoginPasskey(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	b, err := json.Marshal(opts)
	if err != nil {
		return nil
	}
	return &passkeysView{Options: string(b), TOTP: slices.Contains(methods, auth.MethodTOTP)}
}

// passkeyMessage words the refusal of a passkey at login.
func passkeyMessage(err error) string {
	if gatehouse.ErrorCode(err) == gatehouse.EINVALIDSECONDFACTOR {
		return "The passkey was not accepted. Please try again."
	}
	return mfaMessage(err)
}
