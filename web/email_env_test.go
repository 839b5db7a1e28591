package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

// mailOpts vary the server of an email test.
type mailOpts struct {
	off            bool // no mail at all (no Deps.Email)
	loginWithEmail bool
	clock          *clock // the auth service's clock; nil: time.Now
	resetAddress   gatehouse.ThrottleRule
	smtpTLS        string // "" or "starttls"
}

// mailEnv is a gatehouse server whose mail goes over SMTP, through the
// outbox, to a real (in-process) SMTP server.
type mailEnv struct {
	URL   string
	srv   *httptest.Server
	svc   *auth.Service
	email *auth.Email
	smtp  *smtptest.Server
	db    *sqldb.DB
}

func newMailEnv(t testing.TB, o mailOpts) *mailEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "mail.db"), sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k, _ := token.GenerateEd25519(time.Now())
	keys, err := token.NewEdDSA([]*gatehouse.SigningKey{k}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Authentication only over TLS: go-mail, rightly, sends no password
	// in the clear.
	so, tlsMode := smtptest.Options{}, mail.TLSNone
	if o.smtpTLS == "starttls" {
		so, tlsMode = smtptest.Options{TLS: "starttls", Username: "relay", Password: "relay-pw"}, mail.TLSStartTLS
	}
	e := &mailEnv{db: db, smtp: smtptest.Start(t, so)}
	port, _ := strconv.Atoi(e.smtp.Port())
	sender := mail.NewSMTP(mail.SMTPConfig{Host: e.smtp.Host(), Port: port, TLS: tlsMode, Username: so.Username, Password: so.Password,
		From: "gatehouse <noreply@gatehouse.test>", TLSConfig: e.smtp.TLSConfig(), Timeout: 5 * time.Second})
	outbox := mail.NewOutbox(db, sender, quietLog(), mail.OutboxOptions{Poll: 50 * time.Millisecond,
		FirstRetry: 100 * time.Millisecond, MaxRetry: 300 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { outbox.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	var now func() time.Time
	if o.clock != nil {
		now = o.clock.Now
	}
	composer := mail.NewComposer("http://gatehouse.test", time.Hour, 30*time.Minute)
	notifier := mail.NewNotifier(db, composer, quietLog(), outbox.Wake)
	t.Cleanup(func() { notifier.Close(context.Background()) })
	svc, err := auth.New(auth.Config{
		Store:      db,
		Tokens:     token.New(keys, token.Options{Issuer: "http://test", Audience: "gatehouse", TTL: 15 * time.Minute, Now: now}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: time.Hour,
		Observer:   notifier,
		Logger:     quietLog(),
		Now:        now,
		Throttling: auth.DefaultThrottling,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(context.Background()) })
	deps := web.Deps{Auth: svc, Keys: keys, Store: db, Logger: quietLog()}
	if !o.off {
		e.email = auth.NewEmail(svc, auth.EmailConfig{Composer: composer, VerifyTTL: time.Hour, ResetTTL: 30 * time.Minute,
			LoginWithEmail: o.loginWithEmail, Queued: outbox.Wake, ResetAddress: o.resetAddress})
		t.Cleanup(func() { e.email.Close(context.Background()) })
		deps.Email = e.email
	}
	e.svc = svc
	e.srv = httptest.NewServer(web.NewServer(deps))
	t.Cleanup(e.srv.Close)
	e.URL = e.srv.URL
	return e
}

// waitMail returns the first message to `to` whose subject is subject.
func (e *mailEnv) waitMail(t testing.TB, to, subject string) smtptest.Message {
	t.Helper()
	return e.smtp.Wait(to, 10*time.Second, func(m smtptest.Message) bool { return m.Header("Subject") == subject })
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// linkToken returns the token query parameter of a link.
func linkToken(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("link %q has no token", link)
	}
	return u.Query().Get("token")
}

// next waits for a message to `to` with the subject, beyond the first
// `after` messages to that address, and returns the newest such one.
func (e *mailEnv) next(t testing.TB, to, subject string, after int) smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []smtptest.Message
		for _, m := range e.smtp.Messages() {
			for _, r := range m.To {
				if strings.EqualFold(r, to) {
					found = append(found, m)
				}
			}
		}
		if len(found) > after {
			for i := len(found) - 1; i >= after; i-- {
				if found[i].Header("Subject") == subject {
					return found[i]
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new %q message to %s", subject, to)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
