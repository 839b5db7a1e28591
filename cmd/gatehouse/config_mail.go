package main

import (
	"net/mail"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	gmail "github.com/gatehouse/gatehouse/mail"
)

// mailConfig is the part of the configuration about email: where mail
// goes out, the links it carries and the flows that use it. README.md's
// configuration table and its Email section describe each field.
type mailConfig struct {
	SMTP           *gmail.SMTPConfig // SMTP_URL; nil: no SMTP server
	MailFrom       string            // MAIL_FROM
	PublicURL      string            // PUBLIC_URL
	EmailVerifyTTL time.Duration     // EMAIL_VERIFY_TTL
	ResetTTL       time.Duration     // PASSWORD_RESET_TTL
	LoginWithEmail bool              // LOGIN_WITH_EMAIL
	MailDevLog     bool              // MAIL_DEV_LOG
}

// mailOn reports whether mail is sent, or logged in development mode.
func (c *mailConfig) mailOn() bool { return c.SMTP != nil || c.MailDevLog }

// loadMailConfig reads the email settings; issuer is the default of
// PUBLIC_URL.
func loadMailConfig(r *envReader, issuer string) mailConfig {
	c := mailConfig{
		MailFrom:       r.str("MAIL_FROM", ""),
		PublicURL:      r.str("PUBLIC_URL", issuer),
		EmailVerifyTTL: r.duration("EMAIL_VERIFY_TTL", auth.DefaultVerifyTTL, 5*time.Minute, 720*time.Hour),
		ResetTTL:       r.duration("PASSWORD_RESET_TTL", auth.DefaultResetTTL, 5*time.Minute, 24*time.Hour),
		LoginWithEmail: r.boolean("LOGIN_WITH_EMAIL", false),
		MailDevLog:     r.boolean("MAIL_DEV_LOG", false),
	}
	if raw := r.str("SMTP_URL", ""); raw != "" {
		s, err := gmail.ParseSMTPURL(raw)
		if err != nil {
			r.fail("SMTP_URL", "%v", err)
		}
		c.SMTP = &s
		if c.MailDevLog {
			r.fail("MAIL_DEV_LOG", "must not be true with SMTP_URL set: choose sending or logging")
		}
		if c.MailFrom == "" {
			r.fail("MAIL_FROM", "is required with SMTP_URL (like gatehouse@example.com)")
		}
	}
	if c.MailFrom != "" {
		if _, err := mail.ParseAddress(c.MailFrom); err != nil {
			r.fail("MAIL_FROM", "must be an address like gatehouse@example.com or \"Name <gatehouse@example.com>\", got %q", c.MailFrom)
		}
	}
	if c.SMTP != nil {
		c.SMTP.From = c.MailFrom
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		r.fail("PUBLIC_URL", "must be an http or https URL like https://auth.example.com, got %q", c.PublicURL)
	}
	return c
}
