package mail_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/mail"
	"github.com/gatehouse/gatehouse/sqldb"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func smtpConfig(t *testing.T, srv *smtptest.Server, tlsMode string) mail.SMTPConfig {
	t.Helper()
	port, _ := strconv.Atoi(srv.Port())
	return mail.SMTPConfig{Host: srv.Host(), Port: port, TLS: tlsMode, From: "gatehouse@example.com",
		TLSConfig: srv.TLSConfig(), Timeout: 5 * time.Second}
}

// TestSMTPSend: a message goes through a real SMTP server with STARTTLS
// and authentication, with implicit TLS, and without TLS on loopback, as
// plain text and HTML alternatives.
func TestSMTPSend(t *testing.T) {
	for _, tc := range []struct{ name, server, client, user string }{
		{"starttls+auth", "starttls", mail.TLSStartTLS, "relay"},
		{"implicit tls", "tls", mail.TLSImplicit, ""},
		{"no tls on loopback", "", mail.TLSNone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{TLS: tc.server, Username: tc.user, Password: "relay-password"})
			cfg := smtpConfig(t, srv, tc.client)
			cfg.Username, cfg.Password = tc.user, "relay-password"
			c := mail.NewComposer("https://auth.example.com/", time.Hour, 30*time.Minute)
			m, err := c.ResetPassword("alice@example.com", "alice", "tok_EN")
			if err != nil {
				t.Fatal(err)
			}
			if err := mail.NewSMTP(cfg).Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Wait("alice@example.com", 5*time.Second, nil)
			if s := got.Header("Subject"); s != "Reset your password" {
				t.Errorf("Subject = %q", s)
			}
			if f := got.Header("From"); !strings.Contains(f, "gatehouse@example.com") {
				t.Errorf("From = %q", f)
			}
			if l := got.Link(t, "/reset"); l != "https://auth.example.com/reset?token=tok_EN" {
				t.Errorf("link = %q", l)
			}
			if text, _ := got.Part("text/plain"); !strings.HasPrefix(text, "Hello alice,") || !strings.Contains(text, "expires in 30 minutes") {
				t.Errorf("text part:\n%s", text)
			}
			if html, err := got.Part("text/html"); err != nil || !strings.Contains(html, `href="https://auth.example.com/reset?token=tok_EN"`) {
				t.Errorf("html part = %q, %v", html, err)
			}
		})
	}
}

// TestSMTPRefusesUntrusted: STARTTLS with a certificate the client does
// not trust fails, and so does a server without STARTTLS when it is
// required: mail is never sent in the clear by accident.
func TestSMTPRefusesUntrusted(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls"})
	cfg := smtpConfig(t, srv, mail.TLSStartTLS)
	cfg.TLSConfig = nil // the system's CAs: the test certificate is not among them
	m := &gatehouse.Mail{To: "a@example.com", Subject: "x", Text: "x"}
	if err := mail.NewSMTP(cfg).Send(t.Context(), m); err == nil {
		t.Fatal("sent over STARTTLS to an untrusted certificate")
	}
	plain := smtptest.Start(t, smtptest.Options{})
	if err := mail.NewSMTP(smtpConfig(t, plain, mail.TLSStartTLS)).Send(t.Context(), m); err == nil {
		t.Fatal("sent without TLS although STARTTLS is required")
	}
	if n := len(srv.Messages()) + len(plain.Messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want mail.SMTPConfig
		err  string
	}{
		{url: "smtp://user:p%40ss@mail.example.com", want: mail.SMTPConfig{Host: "mail.example.com", Port: 587, Username: "user", Password: "p@ss", TLS: mail.TLSStartTLS}},
		{url: "smtps://mail.example.com", want: mail.SMTPConfig{Host: "mail.example.com", Port: 465, TLS: mail.TLSImplicit}},
		{url: "smtp://127.0.0.1:2525?tls=none", want: mail.SMTPConfig{Host: "127.0.0.1", Port: 2525, TLS: mail.TLSNone}},
		{url: "smtp://localhost:25?tls=none", want: mail.SMTPConfig{Host: "localhost", Port: 25, TLS: mail.TLSNone}},
		{url: "smtp://mail.example.com?tls=none", err: "loopback"},
		{url: "smtps://127.0.0.1?tls=none", err: "smtp://"},
		{url: "smtp://mail.example.com?tls=skip", err: "tls must be none"},
		{url: "smtp://mail.example.com?foo=1", err: "unknown parameter"},
		{url: "http://mail.example.com", err: "scheme"},
		{url: "smtp://mail.example.com:99999", err: "port"},
		{url: "smtp://", err: "no host"},
	} {
		got, err := mail.ParseSMTPURL(tc.url)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSMTPURL(%q) = %+v, %v; want an error with %q", tc.url, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
	if _, err := mail.ParseSMTPURL("smtp://u:secret-pw@[::1"); err == nil || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("a bad URL's error shows the password or is nil: %v", err)
	}
}

func openStore(t *testing.T, dialect string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), storetest.FreshURL(t, dialect), sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestOutboxServerDownThenBack: a message queued while the mail server is
// down is retried with backoff and delivered once the server is back,
// exactly once, and its body is blanked in the store afterwards.
func TestOutboxServerDownThenBack(t *testing.T) {
	db := openStore(t, "sqlite")
	srv := smtptest.Start(t, smtptest.Options{})
	srv.Stop()
	ob := mail.NewOutbox(db, mail.NewSMTP(smtpConfig(t, srv, mail.TLSNone)), quiet(),
		mail.OutboxOptions{Poll: 20 * time.Millisecond, FirstRetry: 50 * time.Millisecond, MaxRetry: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { ob.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	m := &gatehouse.Mail{To: "bob@example.com", Subject: "Hello", Text: "reset link https://x/reset?token=abc"}
	if err := db.QueueMail(t.Context(), nil, m); err != nil {
		t.Fatal(err)
	}
	ob.Wake()
	deadline := time.Now().Add(5 * time.Second)
	for attempts := 0; attempts < 2; {
		if time.Now().After(deadline) {
			t.Fatal("no failed attempts recorded while the server was down")
		}
		if err := db.SQL().QueryRowContext(t.Context(), `SELECT attempts FROM mail_outbox WHERE id = ?`, m.ID).Scan(&attempts); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Restart()
	got := srv.Wait("bob@example.com", 5*time.Second, nil)
	if !strings.Contains(got.Header("Subject"), "Hello") {
		t.Fatalf("delivered %q", got.Header("Subject"))
	}
	time.Sleep(300 * time.Millisecond) // a second delivery would come within the retry pause
	if n := srv.Count("bob@example.com"); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
	var text string
	var sent *int64
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT body_text, sent_at FROM mail_outbox WHERE id = ?`, m.ID).Scan(&text, &sent); err != nil {
		t.Fatal(err)
	}
	if text != "" || sent == nil {
		t.Fatalf("after sending: body %q, sent_at %v; want blank and set", text, sent)
	}
}

// TestOutboxGivesUpOnPermanentFailure: a 5xx answer is not retried.
func TestOutboxGivesUpOnPermanentFailure(t *testing.T) {
	db := openStore(t, "sqlite")
	srv := smtptest.Start(t, smtptest.Options{Username: "relay", Password: "pw"}) // we send no AUTH: 530
	ob := mail.NewOutbox(db, mail.NewSMTP(smtpConfig(t, srv, mail.TLSNone)), quiet(),
		mail.OutboxOptions{Poll: 20 * time.Millisecond, FirstRetry: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { ob.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	m := &gatehouse.Mail{To: "x@example.com", Subject: "x", Text: "x"}
	if err := db.QueueMail(t.Context(), nil, m); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var failed *int64
		var attempts int
		if err := db.SQL().QueryRowContext(t.Context(), `SELECT failed_at, attempts FROM mail_outbox WHERE id = ?`, m.ID).Scan(&failed, &attempts); err != nil {
			t.Fatal(err)
		}
		if failed != nil {
			if attempts != 1 {
				t.Fatalf("given up after %d attempts, want 1", attempts)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a permanent failure was not given up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
