package main

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/mail"
)

// mailParts are the pieces of email that live as long as the process:
// nil fields when mail is off.
type mailParts struct {
	composer *mail.Composer
	notifier *mail.Notifier
	outbox   *mail.Outbox
	email    *auth.Email // made once the store is ready
}

// sentMailKept is how long a sent (or given-up) message's envelope stays
// in the outbox, for the record; its body is blanked when it is sent.
const sentMailKept = 7 * 24 * time.Hour

// openMail makes the composer, the outbox and the notifier when mail is
// on, and says at start which way mail goes.
func (a *app) openMail() {
	c := a.cfg
	switch {
	case c.SMTP != nil:
		a.log.Info("mail on", "smtp_host", c.SMTP.Host, "smtp_port", c.SMTP.Port, "tls", c.SMTP.TLS, "from", c.MailFrom, "public_url", c.PublicURL)
	case c.MailDevLog:
		a.log.Warn("MAIL_DEV_LOG is on: mail is written to the log, links included, and not sent: for development only")
	default:
		a.log.Info("mail is off: no SMTP_URL; adding an email address and password reset answer 503 mail_unavailable")
		return
	}
	var sender mail.Sender = mail.LogSender{Log: a.log}
	if c.SMTP != nil {
		sender = mail.NewSMTP(*c.SMTP)
	}
	a.mail.composer = mail.NewComposer(c.PublicURL, c.EmailVerifyTTL, c.ResetTTL)
	a.mail.outbox = mail.NewOutbox(a.store, sender, a.log, mail.OutboxOptions{})
	a.mail.notifier = mail.NewNotifier(a.store, a.mail.composer, a.log, a.mail.outbox.Wake)
}

// observer is what the auth service reports to: the metrics and, with
// mail on, the security notices.
func (a *app) observer() auth.Observer {
	if a.mail.notifier == nil {
		return a.metrics
	}
	return auth.Observers(a.metrics, a.mail.notifier)
}

// newEmail makes the email flows of the ready auth service.
func (a *app) newEmail() *auth.Email {
	cfg := auth.EmailConfig{VerifyTTL: a.cfg.EmailVerifyTTL, ResetTTL: a.cfg.ResetTTL, LoginWithEmail: a.cfg.LoginWithEmail}
	if a.mail.composer != nil {
		cfg.Composer, cfg.Queued = a.mail.composer, a.mail.outbox.Wake
	}
	a.mail.email = auth.NewEmail(a.auth, cfg)
	return a.mail.email
}

// runMail sends the outbox until ctx ends.
func (a *app) runMail(ctx context.Context) {
	if a.mail.outbox != nil {
		a.mail.outbox.Run(ctx)
	}
}

// closeMail finishes the reset requests and notices still queued (into
// the outbox, which the next start sends).
func (a *app) closeMail(ctx context.Context) {
	if a.mail.email != nil {
		if err := a.mail.email.Close(ctx); err != nil {
			a.log.Error("reset requests not finished", "err", err)
		}
	}
	if a.mail.notifier != nil {
		if err := a.mail.notifier.Close(ctx); err != nil {
			a.log.Error("security notices not queued", "err", err)
		}
	}
}

// purgeMail deletes expired link tokens and old sent mail.
func (a *app) purgeMail(ctx context.Context) {
	now := time.Now()
	n, err := a.store.DeleteExpiredEmail(ctx, now, now.Add(-sentMailKept))
	if err != nil && ctx.Err() == nil {
		a.log.WarnContext(ctx, "expired email purge failed", "err", err)
	} else if n > 0 {
		a.log.InfoContext(ctx, "expired link tokens and sent mail purged", "rows", n)
	}
}
