package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// sessionView is one row of the session list on the main page.
type sessionView struct {
	ID        string
	Device    string // "Chrome on Linux"
	Handheld  bool   // a phone or tablet, for the icon
	UserAgent string
	IP        string
	LastUsed  string // "5 minutes ago"
	LastISO   string // for <time datetime>
	LastExact string // "2026-11-26 02:00 UTC"
	Created   string
	Current   bool
}

func toSessionView(s *gatehouse.Session, currentID string, now time.Time) sessionView {
	ip := s.IP
	if ip == "" {
		ip = "unknown address"
	}
	return sessionView{
		ID:        s.ID,
		Device:    deviceName(s.UserAgent),
		Handheld:  handheld(s.UserAgent),
		UserAgent: s.UserAgent,
		IP:        ip,
		LastUsed:  ago(now, s.LastUsedAt),
		LastISO:   timeJSON(s.LastUsedAt),
		LastExact: s.LastUsedAt.UTC().Format("2006-01-02 15:04 UTC"),
		Created:   s.CreatedAt.UTC().Format("Jan 2, 2006"),
		Current:   s.ID == currentID,
	}
}

// ago says how long before now t was, in the words a person would use.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return strconv.Itoa(n) + " " + unit + "s ago"
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int(d/(24*time.Hour)), "day")
	}
}

func (s *server) handleMainPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.pageSession(w, r)
		if err != nil {
			s.noSession(w, r, err)
			return
		}
		s.renderMain(w, r, p, http.StatusOK, &pageData{Notice: takeFlash(w, r)})
	})
}

// renderMain shows the main page of p's user with the given status; d may
// carry a notice or a form's error.
func (s *server) renderMain(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, d *pageData) {
	u, err := s.auth.User(r.Context(), p)
	if err != nil {
		s.noSession(w, r, err)
		return
	}
	list, err := s.auth.Sessions(r.Context(), p)
	if err != nil {
		s.pageFailure(w, r, err, "/main")
		return
	}
	now := time.Now()
	if d.Passkeys, err = s.passkeysFor(r, p, d.Passkeys, now); err != nil {
		s.pageFailure(w, r, err, "/main")
		return
	}
	d.Sessions = make([]sessionView, 0, len(list))
	for _, sess := range list {
		d.Sessions = append(d.Sessions, toSessionView(sess, p.SessionID, now))
	}
	if d.MFA == nil {
		d.MFA = &mfaView{}
	}
	if err := s.mfaState(r, p, d.MFA); err != nil {
		s.pageFailure(w, r, err, "/main")
		return
	}
	d.Title = u.Username
	d.User = u
	s.addAccount(r, p, d)
	d.CSRF = s.csrfToken(w, r, p.SessionID)
	s.render(w, r, status, "main", d)
}

// handlePasswordForm changes the password; auth then revokes every other
// session of the user, and this one goes on.
func (s *server) handlePasswordForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		cur, next := r.PostForm.Get("current_password"), r.PostForm.Get("new_password")
		var err error = gatehouse.Errorf(gatehouse.EMALFORMED, "both passwords are required")
		if cur != "" && next != "" {
			err = s.auth.ChangePassword(r.Context(), p, cur, next)
		}
		if err != nil {
			status := s.failureStatus(w, r, err)
			s.renderMain(w, r, p, status, &pageData{
				Error: formMessage(err, "password"), ErrField: errField(err, "password"), PwError: true,
			})
			return
		}
		setFlash(w, r, "password")
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	})
}

// handleRevokeForm ends one of the user's sessions. Revoking the one in
// use is logging out.
func (s *server) handleRevokeForm() http.Handler {
	return s.signedInForm(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id := r.PathValue("id")
		err := s.auth.RevokeSession(r.Context(), p, id)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			s.renderMain(w, r, p, http.StatusNotFound, &pageData{Error: "That session had already ended."})
			return
		} else if err != nil {
			s.pageFailure(w, r, err, "/main")
			return
		}
		if id == p.SessionID {
			clearSessionCookies(w, r)
			setFlash(w, r, "logout")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		setFlash(w, r, "revoked")
		http.Redirect(w, r, "/main", http.StatusSeeOther)
	})
}
