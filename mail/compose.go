// Package mail sends gatehouse's email: it writes the messages from
// embedded plain-text and HTML templates (Composer), keeps them in the
// store's outbox until an SMTP server has taken them (Outbox), and turns
// security events into notices (Notifier).
package mail

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/gatehouse/gatehouse"
)

//go:embed templates
var templateFS embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/*.txt"))
	htmlTemplates = func() map[string]*htmltemplate.Template {
		m := map[string]*htmltemplate.Template{}
		for _, name := range []string{"verify", "reset", "notice"} {
			m[name] = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		}
		return m
	}()
)

// Product is the name the messages sign with.
const Product = "gatehouse"

// Composer writes gatehouse's messages. Links point at the public base
// URL; the token is in the link's query and nowhere else.
type Composer struct {
	base      string // the public base URL, without a trailing slash
	verifyTTL time.Duration
	resetTTL  time.Duration
	now       func() time.Time
}

// NewComposer returns a Composer whose links start with publicURL.
func NewComposer(publicURL string, verifyTTL, resetTTL time.Duration) *Composer {
	return &Composer{base: strings.TrimRight(publicURL, "/"), verifyTTL: verifyTTL, resetTTL: resetTTL, now: time.Now}
}

// data is what every template gets.
type data struct {
	Product, Base, Subject, Username, To string
	Link, TTL                            string
	What, When, IP, Device               string
}

func (c *Composer) compose(name string, d data) (*gatehouse.Mail, error) {
	d.Product, d.Base = Product, c.base
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, name+".txt", d); err != nil {
		return nil, err
	}
	if err := htmlTemplates[name].ExecuteTemplate(&html, "layout", d); err != nil {
		return nil, err
	}
	return &gatehouse.Mail{To: d.To, Subject: d.Subject, Text: text.String(), HTML: html.String()}, nil
}

// VerifyEmail writes the message with the link that verifies to.
func (c *Composer) VerifyEmail(to, username, token string) (*gatehouse.Mail, error) {
	return c.compose("verify", data{To: to, Username: username, Subject: "Confirm your email address",
		Link: c.base + "/verify-email?token=" + url.QueryEscape(token), TTL: words(c.verifyTTL)})
}

// ResetPassword writes the message with the password reset link.
func (c *Composer) ResetPassword(to, username, token string) (*gatehouse.Mail, error) {
	return c.compose("reset", data{To: to, Username: username, Subject: "Reset your password",
		Link: c.base + "/reset?token=" + url.QueryEscape(token), TTL: words(c.resetTTL)})
}

// noticeText says what happened, by audit event type; the types without
// an entry get no notice.
var noticeText = map[string]struct{ subject, what string }{
	gatehouse.AuditPasswordChanged: {"Your password was changed", "The password of your account was changed. Every other session was signed out."},
	gatehouse.AuditPasswordReset:   {"Your password was reset", "The password of your account was reset with a link sent to this address. Every session was signed out."},
	gatehouse.AuditEmailChanged:    {"Your email address is changing", "Someone signed in to your account asked to replace this email address with another one. This address stays on the account until the new one is confirmed."},
	gatehouse.AuditFactorAdded:     {"A new sign-in factor was added", "A new second factor was added to your account."},
}

// removedText is the email_changed notice for an address that was removed.
var removedText = struct{ subject, what string }{"Your email address was removed", "This email address was removed from your account. Password reset links will no longer reach you here."}

// Notifies reports whether events of type typ get a notice.
func Notifies(typ string) bool { _, ok := noticeText[typ]; return ok }

// Notice writes the security notice for e to the address to.
func (c *Composer) Notice(to, username string, e gatehouse.AuditEvent) (*gatehouse.Mail, error) {
	t, ok := noticeText[e.Type]
	if !ok {
		return nil, nil
	}
	if e.Type == gatehouse.AuditEmailChanged && e.Reason == "removed" {
		t = removedText
	}
	what := t.what
	if e.Type == gatehouse.AuditFactorAdded && e.Reason != "" {
		what = "A new second factor (" + e.Reason + ") was added to your account."
	}
	ip, device := e.IP, e.UserAgent
	if ip == "" {
		ip = "unknown address"
	}
	if device == "" {
		device = "unknown device"
	} else if len(device) > 120 {
		device = device[:120] + "…"
	}
	at := e.Time
	if at.IsZero() {
		at = c.now()
	}
	return c.compose("notice", data{To: to, Username: username, Subject: t.subject, What: what,
		When: at.UTC().Format("2006-01-02 15:04 UTC"), IP: ip, Device: device})
}

// words says d as a person would: "30 minutes", "24 hours".
func words(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int(d/time.Second), "second")
}
