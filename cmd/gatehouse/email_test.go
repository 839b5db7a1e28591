package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/smtptest"
	"github.com/gatehouse/gatehouse/internal/storetest"
)

// TestEmailEndToEnd runs the email flows through run() on each store, with
// SMTP_URL pointing at a real SMTP server on loopback: add and verify an
// address, forget the password, reset it with the delivered link.
func TestEmailEndToEnd(t *testing.T) { storetest.Each(t, testEmailEndToEnd) }

func testEmailEndToEnd(t *testing.T, db string) {
	smtp := smtptest.Start(t, smtptest.Options{})
	g := start(t, storeEnv(t, db, map[string]string{
		"SMTP_URL":   "smtp://" + smtp.Addr() + "?tls=none",
		"MAIL_FROM":  "gatehouse <noreply@gatehouse.test>",
		"PUBLIC_URL": "https://auth.example.com/",
	}))
	if !strings.Contains(g.logs.String(), "mail on") {
		t.Fatalf("no 'mail on' line at start:\n%s", g.logs)
	}
	register(t, g.url, "alice", "alice password")
	p := login(t, g.url, "alice", "alice password")
	r := call(t, "PUT", g.url+"/api/email", p.access, map[string]string{"email": "alice@example.com", "password": "alice password"})
	wantStatus(t, "PUT /api/email", r, http.StatusAccepted)
	m := smtp.Wait("alice@example.com", 20*time.Second, nil)
	if from := m.Header("From"); !strings.Contains(from, "noreply@gatehouse.test") {
		t.Fatalf("From = %q", from)
	}
	link := m.Link(t, "https://auth.example.com/verify-email?token=")
	r = call(t, "POST", g.url+"/api/email/verify", "", map[string]string{"token": tokenOf(t, link)})
	wantStatus(t, "verify", r, http.StatusOK)

	r = call(t, "POST", g.url+"/api/password/forgot", "", map[string]string{"username": "alice"})
	wantStatus(t, "forgot", r, http.StatusAccepted)
	m = smtp.Wait("alice@example.com", 20*time.Second, func(m smtptest.Message) bool { return m.Header("Subject") == "Reset your password" })
	r = call(t, "POST", g.url+"/api/password/reset", "", map[string]string{"token": tokenOf(t, m.Link(t, "/reset")), "new_password": "a new password"})
	wantStatus(t, "reset", r, http.StatusNoContent)
	r = call(t, "GET", g.url+"/api/main", p.access, nil)
	wantProblem(t, "old token after reset", r, http.StatusUnauthorized, "invalid_token")
	login(t, g.url, "alice", "a new password")
	smtp.Wait("alice@example.com", 20*time.Second, func(m smtptest.Message) bool { return m.Header("Subject") == "Your password was reset" })
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("no token in %q", link)
	}
	return u.Query().Get("token")
}

// TestMailOff: without SMTP_URL and MAIL_DEV_LOG the start says mail is
// off, and adding an address answers 503 mail_unavailable.
func TestMailOff(t *testing.T) {
	g := start(t, testEnv(t, nil))
	if !strings.Contains(g.logs.String(), "mail is off") {
		t.Fatalf("no 'mail is off' line at start:\n%s", g.logs)
	}
	register(t, g.url, "alice", "alice password")
	p := login(t, g.url, "alice", "alice password")
	r := call(t, "PUT", g.url+"/api/email", p.access, map[string]string{"email": "alice@example.com", "password": "alice password"})
	wantProblem(t, "PUT /api/email without mail", r, http.StatusServiceUnavailable, "mail_unavailable")
	r = call(t, "POST", g.url+"/api/password/forgot", "", map[string]string{"username": "alice"})
	wantProblem(t, "forgot without mail", r, http.StatusServiceUnavailable, "mail_unavailable")
}

// TestMailDevLog: in development mode the link is in the log, and works.
func TestMailDevLog(t *testing.T) {
	g := start(t, testEnv(t, map[string]string{"MAIL_DEV_LOG": "true"}))
	register(t, g.url, "alice", "alice password")
	p := login(t, g.url, "alice", "alice password")
	r := call(t, "PUT", g.url+"/api/email", p.access, map[string]string{"email": "alice@example.com", "password": "alice password"})
	wantStatus(t, "PUT /api/email", r, http.StatusAccepted)
	re := regexp.MustCompile(`http://gatehouse\.test/verify-email\?token=[A-Za-z0-9_-]+`)
	var link string
	for deadline := time.Now().Add(20 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		link = re.FindString(g.logs.String())
	}
	if link == "" {
		t.Fatalf("no link in the log:\n%s", g.logs)
	}
	r = call(t, "POST", g.url+"/api/email/verify", "", map[string]string{"token": tokenOf(t, link)})
	wantStatus(t, "verify from the log", r, http.StatusOK)
}

func TestMailConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"SMTP_URL": "smtp://mail.example.com"}, "MAIL_FROM"},
		{map[string]string{"SMTP_URL": "smtp://mail.example.com?tls=none", "MAIL_FROM": "a@example.com"}, "SMTP_URL"},
		{map[string]string{"SMTP_URL": "ftp://mail.example.com", "MAIL_FROM": "a@example.com"}, "SMTP_URL"},
		{map[string]string{"SMTP_URL": "smtp://mail.example.com", "MAIL_FROM": "not an address"}, "MAIL_FROM"},
		{map[string]string{"SMTP_URL": "smtp://mail.example.com", "MAIL_FROM": "a@example.com", "MAIL_DEV_LOG": "true"}, "MAIL_DEV_LOG"},
		{map[string]string{"PUBLIC_URL": "auth.example.com"}, "PUBLIC_URL"},
		{map[string]string{"PASSWORD_RESET_TTL": "1s"}, "PASSWORD_RESET_TTL"},
		{map[string]string{"EMAIL_VERIFY_TTL": "forever"}, "EMAIL_VERIFY_TTL"},
		{map[string]string{"LOGIN_WITH_EMAIL": "maybe"}, "LOGIN_WITH_EMAIL"},
	} {
		_, err := loadConfig(func(k string) string { return tc.vars[k] })
		if err == nil || !strings.Contains(err.Error(), ": "+tc.want+": ") {
			t.Errorf("loadConfig(%v) = %v; want an error naming %s", tc.vars, err, tc.want)
		}
	}
	c, err := loadConfig(func(k string) string {
		return map[string]string{"SMTP_URL": "smtps://u:p@mail.example.com", "MAIL_FROM": "a@example.com", "ISSUER": "https://id.example.com"}[k]
	})
	if err != nil || c.SMTP == nil || c.SMTP.Port != 465 || c.SMTP.From != "a@example.com" || c.PublicURL != "https://id.example.com" {
		t.Fatalf("loadConfig = %+v, %v", c, err)
	}
}
