package web_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/smtptest"
)

const (
	subjVerify   = "Confirm your email address"
	subjReset    = "Reset your password"
	subjChanging = "Your email address is changing"
	subjRemoved  = "Your email address was removed"
	subjWasReset = "Your password was reset"
	subjChanged  = "Your password was changed"
	subjFactor   = "A new sign-in factor was added"
)

// verifyEmail sets the user's address through the API (proved by the
// password) and follows the mailed link; it returns the user.
func (e *mailEnv) verifyEmail(t *testing.T, bearer, password, addr string) map[string]any {
	t.Helper()
	before := e.smtp.Count(addr)
	r := call(t, "PUT", e.URL+"/api/email", bearer, map[string]string{"email": addr, "password": password})
	if r.status != 202 {
		t.Fatalf("PUT /api/email %s: %d %s", addr, r.status, r.raw)
	}
	m := e.next(t, addr, subjVerify, before)
	r = call(t, "POST", e.URL+"/api/email/verify", "", map[string]string{"token": linkToken(t, m.Link(t, "/verify-email"))})
	if r.status != 200 {
		t.Fatalf("verify %s: %d %s", addr, r.status, r.raw)
	}
	return r.body["user"].(map[string]any)
}

func userKeys(u map[string]any) []string {
	var ks []string
	for k := range u {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestEmailFlowThroughAPI: add an address, follow the delivered link,
// forget the password, follow the reset link: every session ends, the new
// password works, each link works once, and notices arrive.
func TestEmailFlowThroughAPI(t *testing.T) {
	e := newMailEnv(t, mailOpts{smtpTLS: "starttls"})
	register(t, e.URL, "alice", "correct horse battery")
	tok := login(t, e.URL, "alice", "correct horse battery")
	other := login(t, e.URL, "alice", "correct horse battery")

	me := call(t, "GET", e.URL+"/api/me", tok, nil)
	if ks := userKeys(me.body["user"].(map[string]any)); !slices.Equal(ks, []string{"created_at", "id", "username"}) {
		t.Fatalf("User without an address has keys %v", ks)
	}
	r := call(t, "PUT", e.URL+"/api/email", tok, map[string]string{"email": "Alice@Example.com", "password": "correct horse battery"})
	if r.status != 202 {
		t.Fatalf("PUT /api/email: %d %s", r.status, r.raw)
	}
	if u := r.body["user"].(map[string]any); u["email"] != "Alice@Example.com" || u["email_verified"] != false {
		t.Fatalf("user after PUT = %v", u)
	}
	m := e.waitMail(t, "Alice@Example.com", subjVerify)
	verifyTok := linkToken(t, m.Link(t, "http://gatehouse.test/verify-email?token="))
	r = call(t, "POST", e.URL+"/api/email/verify", "", map[string]string{"token": verifyTok})
	if r.status != 200 || r.body["user"].(map[string]any)["email_verified"] != true {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	r = call(t, "POST", e.URL+"/api/email/verify", "", map[string]string{"token": verifyTok})
	if r.status != 400 || r.body["code"] != gatehouse.EINVALIDLINK {
		t.Fatalf("verify again: %d %s; want 400 invalid_link", r.status, r.raw)
	}
	me = call(t, "GET", e.URL+"/api/me", tok, nil)
	if u := me.body["user"].(map[string]any); u["email"] != "Alice@Example.com" || u["email_verified"] != true || u["pending_email"] != nil {
		t.Fatalf("/api/me = %v", u)
	}

	// Forgotten password, asked by email in another case.
	r = call(t, "POST", e.URL+"/api/password/forgot", "", map[string]string{"email": "alice@EXAMPLE.com"})
	if r.status != 202 {
		t.Fatalf("forgot: %d %s", r.status, r.raw)
	}
	m = e.waitMail(t, "Alice@Example.com", subjReset)
	resetTok := linkToken(t, m.Link(t, "/reset?token="))
	r = call(t, "POST", e.URL+"/api/password/reset", "", map[string]string{"token": resetTok, "new_password": "alice"})
	if r.status != 422 || r.body["code"] != gatehouse.EWEAKPASSWORD {
		t.Fatalf("reset with a weak password: %d %s", r.status, r.raw)
	}
	r = call(t, "POST", e.URL+"/api/password/reset", "", map[string]string{"token": resetTok, "new_password": "a brand new password"})
	if r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.raw)
	}
	for _, bearer := range []string{tok, other} {
		if r := call(t, "GET", e.URL+"/api/main", bearer, nil); r.status != 401 {
			t.Fatalf("a session survived the reset: %d", r.status)
		}
	}
	r = call(t, "POST", e.URL+"/api/password/reset", "", map[string]string{"token": resetTok, "new_password": "yet another password"})
	if r.status != 400 || r.body["code"] != gatehouse.EINVALIDLINK {
		t.Fatalf("reset link used twice: %d %s", r.status, r.raw)
	}
	if r := call(t, "POST", e.URL+"/api/login", "", map[string]string{"username": "alice", "password": "correct horse battery"}); r.status != 401 {
		t.Fatalf("old password still works: %d", r.status)
	}
	login(t, e.URL, "alice", "a brand new password")
	e.waitMail(t, "Alice@Example.com", subjWasReset)
	var stored int
	if err := e.db.SQL().QueryRow(`SELECT COUNT(*) FROM mail_outbox WHERE body_text LIKE ?`, "%"+resetTok+"%").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Fatal("the sent reset link is still in the outbox")
	}
}

// TestEmailChange: a change keeps the old address until the new one is
// verified, tells the old one, and a removal tells the removed one.
func TestEmailChange(t *testing.T) {
	e := newMailEnv(t, mailOpts{})
	register(t, e.URL, "alice", "correct horse battery")
	tok := login(t, e.URL, "alice", "correct horse battery")
	e.verifyEmail(t, tok, "correct horse battery", "old@example.com")

	r := call(t, "PUT", e.URL+"/api/email", tok, map[string]string{"email": "new@example.com", "password": "correct horse battery"})
	if u := r.body["user"].(map[string]any); r.status != 202 || u["email"] != "old@example.com" || u["email_verified"] != true || u["pending_email"] != "new@example.com" {
		t.Fatalf("PUT: %d %s", r.status, r.raw)
	}
	notice := e.waitMail(t, "old@example.com", subjChanging)
	if text, _ := notice.Part("text/plain"); !strings.Contains(text, "Hello alice") || !strings.Contains(text, "127.0.0.1") {
		t.Fatalf("notice text:\n%s", text)
	}
	if u := e.verifyEmail(t, tok, "correct horse battery", "new@example.com"); u["email"] != "new@example.com" {
		t.Fatalf("after the change: %v", u)
	}
	if r := call(t, "DELETE", e.URL+"/api/email", tok, map[string]string{"password": "correct horse battery"}); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.raw)
	}
	e.waitMail(t, "new@example.com", subjRemoved)
	me := call(t, "GET", e.URL+"/api/me", tok, nil)
	if ks := userKeys(me.body["user"].(map[string]any)); !slices.Equal(ks, []string{"created_at", "id", "username"}) {
		t.Fatalf("after removal the User has keys %v", ks)
	}
	for _, bad := range []string{"not an address", "a@b", "Alice <a@example.com>", "é@example.com", strings.Repeat("a", 250) + "@example.com"} {
		if r := call(t, "PUT", e.URL+"/api/email", tok, map[string]string{"email": bad, "password": "correct horse battery"}); r.status != 422 || r.body["code"] != gatehouse.EINVALIDEMAIL {
			t.Errorf("PUT %q: %d %s; want 422 invalid_email", bad, r.status, r.raw)
		}
	}
}

// TestEmailNeedsProof: changing or removing the address needs the
// password or a fresh TOTP code, so that an access token alone cannot
// point the account at another address; a failed attempt changes nothing.
func TestEmailNeedsProof(t *testing.T) {
	c := &clock{t: time.Now().Add(time.Minute)} // after the signing key's NotBefore
	e := newMailEnv(t, mailOpts{clock: c})
	register(t, e.URL, "alice", "alice password")
	tok := login(t, e.URL, "alice", "alice password")
	e.verifyEmail(t, tok, "alice password", "old@example.com")
	unchanged := func(what string) {
		t.Helper()
		u := call(t, "GET", e.URL+"/api/me", tok, nil).body["user"].(map[string]any)
		if u["email"] != "old@example.com" || u["email_verified"] != true || u["pending_email"] != nil {
			t.Fatalf("after %s the user is %v", what, u)
		}
	}
	for _, tc := range []struct {
		method string
		body   map[string]string
		status int
		code   string
	}{
		{"PUT", map[string]string{"email": "evil@example.com"}, 400, gatehouse.EMALFORMED},
		{"PUT", map[string]string{"email": "evil@example.com", "password": "alice password", "code": "123456"}, 400, gatehouse.EMALFORMED},
		{"PUT", map[string]string{"email": "evil@example.com", "password": "wrong password"}, 401, gatehouse.ECREDENTIALS},
		{"PUT", map[string]string{"email": "evil@example.com", "code": "123456"}, 401, gatehouse.EINVALIDSECONDFACTOR}, // no TOTP yet
		{"DELETE", map[string]string{}, 400, gatehouse.EMALFORMED},
		{"DELETE", map[string]string{"password": "wrong password"}, 401, gatehouse.ECREDENTIALS},
	} {
		r := call(t, tc.method, e.URL+"/api/email", tok, tc.body)
		if r.status != tc.status || r.body["code"] != tc.code {
			t.Fatalf("%s %v: %d %s; want %d %s", tc.method, tc.body, r.status, r.raw, tc.status, tc.code)
		}
		unchanged(tc.method + " " + tc.code)
	}
	if n := e.smtp.Count("evil@example.com"); n != 0 {
		t.Fatalf("%d mails went to the unproved address", n)
	}

	// With TOTP on, a fresh code proves the user too.
	r := call(t, "POST", e.URL+"/api/mfa/totp", tok, nil)
	if r.status != 201 {
		t.Fatalf("enrol: %d %s", r.status, r.raw)
	}
	secret := r.body["secret"].(string)
	code := func() string {
		t.Helper()
		s, err := auth.TOTPCode(secret, c.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if r := call(t, "POST", e.URL+"/api/mfa/totp/confirm", tok, map[string]string{"code": code(), "password": "alice password"}); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.raw)
	}
	c.Add(30 * time.Second)
	r = call(t, "PUT", e.URL+"/api/email", tok, map[string]string{"email": "new@example.com", "code": code()})
	if r.status != 202 || r.body["user"].(map[string]any)["pending_email"] != "new@example.com" {
		t.Fatalf("PUT with a TOTP code: %d %s", r.status, r.raw)
	}
	if r := call(t, "DELETE", e.URL+"/api/email", tok, map[string]string{"code": code()}); r.status != 401 || r.body["code"] != gatehouse.EINVALIDSECONDFACTOR {
		t.Fatalf("DELETE with a used code: %d %s", r.status, r.raw)
	}
	c.Add(30 * time.Second)
	if r := call(t, "DELETE", e.URL+"/api/email", tok, map[string]string{"code": code()}); r.status != 204 {
		t.Fatalf("DELETE with a TOTP code: %d %s", r.status, r.raw)
	}
	e.waitMail(t, "old@example.com", subjRemoved)
}

// TestResetKeepsFactorLockout: a password reset clears the login throttle
// of a user without a second factor, but not of one with TOTP, whose
// throttle also counts guesses at the code.
func TestResetKeepsFactorLockout(t *testing.T) {
	c := &clock{t: time.Now().Add(time.Minute)} // after the signing key's NotBefore
	e := newMailEnv(t, mailOpts{clock: c})
	reset := func(user, addr string) {
		t.Helper()
		before := e.smtp.Count(addr)
		call(t, "POST", e.URL+"/api/password/forgot", "", map[string]string{"username": user})
		m := e.next(t, addr, subjReset, before)
		r := call(t, "POST", e.URL+"/api/password/reset", "", map[string]string{"token": linkToken(t, m.Link(t, "/reset")), "new_password": "a brand new password"})
		if r.status != 204 {
			t.Fatalf("reset %s: %d %s", user, r.status, r.raw)
		}
	}
	for _, totp := range []bool{false, true} {
		user := map[bool]string{false: "bob", true: "alice"}[totp]
		addr := user + "@example.com"
		register(t, e.URL, user, "old password")
		tok := login(t, e.URL, user, "old password")
		e.verifyEmail(t, tok, "old password", addr)
		guess := map[string]string{"password": "wrong password"}
		if totp {
			r := call(t, "POST", e.URL+"/api/mfa/totp", tok, nil)
			secret := r.body["secret"].(string)
			code, _ := auth.TOTPCode(secret, c.Now())
			if r := call(t, "POST", e.URL+"/api/mfa/totp/confirm", tok, map[string]string{"code": code, "password": "old password"}); r.status != 200 {
				t.Fatalf("confirm: %d %s", r.status, r.raw)
			}
			wrong := "000000"
			for d := time.Duration(-2); d <= 2; d++ {
				if near, _ := auth.TOTPCode(secret, c.Now().Add(d*30*time.Second)); near == wrong {
					wrong = "999999"
				}
			}
			guess = map[string]string{"code": wrong}
		}
		for i := 0; ; i++ {
			r := call(t, "DELETE", e.URL+"/api/email", tok, guess)
			if r.status == 429 {
				break
			} else if r.status != 401 || i > 20 {
				t.Fatalf("guess %d: %d %s", i, r.status, r.raw)
			}
		}
		reset(user, addr)
		r := call(t, "POST", e.URL+"/api/login", "", map[string]string{"username": user, "password": "a brand new password"})
		if want := map[bool]int{false: 200, true: 429}[totp]; r.status != want {
			t.Fatalf("%s (TOTP %v) logging in after the reset: %d %s; want %d", user, totp, r.status, r.raw, want)
		}
	}
}

// TestEmailLinksBound: a link is bound to its account and its address: a
// verification link of a replaced request fails, an expired reset link
// fails, and a reset link sets only its own account's password.
func TestEmailLinksBound(t *testing.T) {
	c := &clock{t: time.Now().Add(time.Minute)} // after the signing key's NotBefore
	e := newMailEnv(t, mailOpts{clock: c})
	register(t, e.URL, "alice", "alice password")
	register(t, e.URL, "bob", "bob password")
	alice := login(t, e.URL, "alice", "alice password")
	call(t, "PUT", e.URL+"/api/email", alice, map[string]string{"email": "first@example.com", "password": "alice password"})
	first := e.waitMail(t, "first@example.com", subjVerify)
	e.verifyEmail(t, alice, "alice password", "second@example.com")
	r := call(t, "POST", e.URL+"/api/email/verify", "", map[string]string{"token": linkToken(t, first.Link(t, "/verify-email"))})
	if r.status != 400 || r.body["code"] != gatehouse.EINVALIDLINK {
		t.Fatalf("link of a replaced request: %d %s", r.status, r.raw)
	}

	call(t, "POST", e.URL+"/api/password/forgot", "", map[string]string{"username": "ALICE"})
	resetTok := linkToken(t, e.waitMail(t, "second@example.com", subjReset).Link(t, "/reset"))
	c.Add(31 * time.Minute)
	r = call(t, "POST", e.URL+"/api/password/reset", "", map[string]string{"token": resetTok, "new_password": "a new password"})
	if r.status != 400 || r.body["code"] != gatehouse.EINVALIDLINK {
		t.Fatalf("expired reset link: %d %s", r.status, r.raw)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 43), resetTok + "x"} {
		r := call(t, "POST", e.URL+"/api/password/reset", "", map[string]string{"token": bad, "new_password": "a new password"})
		if r.status != 400 || r.body["code"] != gatehouse.EINVALIDLINK {
			t.Errorf("reset with token %q: %d %s", bad, r.status, r.raw)
		}
	}
	c.Add(-31 * time.Minute)
	call(t, "POST", e.URL+"/api/password/forgot", "", map[string]string{"username": "alice"})
	m := e.smtp.Wait("second@example.com", 10*time.Second, func(m smtptest.Message) bool {
		return m.Header("Subject") == subjReset && !strings.Contains(string(m.Raw), resetTok)
	})
	r = call(t, "POST", e.URL+"/api/password/reset", "", map[string]string{"token": linkToken(t, m.Link(t, "/reset")), "new_password": "alice's new password"})
	if r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.raw)
	}
	login(t, e.URL, "bob", "bob password")
	login(t, e.URL, "alice", "alice's new password")
}

// TestForgotNoEnumeration: the answer to a reset request is the same,
// byte for byte, for an account with an address, one without, and none;
// only the first gets mail.
func TestForgotNoEnumeration(t *testing.T) {
	e := newMailEnv(t, mailOpts{})
	register(t, e.URL, "alice", "alice password")
	register(t, e.URL, "bob", "bob password")
	e.verifyEmail(t, login(t, e.URL, "alice", "alice password"), "alice password", "alice@example.com")

	var first []byte
	for _, body := range []map[string]string{
		{"username": "alice"}, {"username": "bob"}, {"username": "nobody"},
		{"email": "alice@example.com"}, {"email": "nobody@example.com"},
	} {
		start := time.Now()
		r := call(t, "POST", e.URL+"/api/password/forgot", "", body)
		if r.status != 202 {
			t.Fatalf("forgot %v: %d %s", body, r.status, r.raw)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("forgot %v took %s", body, d)
		}
		if first == nil {
			first = r.raw
		} else if !bytes.Equal(r.raw, first) {
			t.Fatalf("forgot %v answered %s, the first %s", body, r.raw, first)
		}
	}
	if err := e.email.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.smtp.Wait("alice@example.com", 10*time.Second, func(m smtptest.Message) bool { return m.Header("Subject") == subjReset })
	deadline := time.Now().Add(5 * time.Second)
	for e.smtp.Count("alice@example.com") < 3 && time.Now().Before(deadline) { // verify + two resets
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(e.smtp.Messages()); n != 3 {
		t.Fatalf("%d messages delivered, want 3 (alice's verification and two resets)", n)
	}
	want := []string{"no_account", "no_account", "no_email", "sent", "sent"}
	var reasons []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		events, err := e.db.AuditEvents(context.Background(), gatehouse.AuditFilter{Types: []string{gatehouse.AuditPasswordResetRequested}})
		if err != nil {
			t.Fatal(err)
		}
		reasons = nil
		for _, ev := range events {
			reasons = append(reasons, ev.Reason)
		}
		slices.Sort(reasons)
		if slices.Equal(reasons, want) {
			break
		}
	}
	if !slices.Equal(reasons, want) {
		t.Fatalf("audit reasons = %v, want %v", reasons, want)
	}
	for _, body := range []map[string]string{{}, {"username": "alice", "email": "alice@example.com"}} {
		if r := call(t, "POST", e.URL+"/api/password/forgot", "", body); r.status != 400 {
			t.Errorf("forgot %v: %d %s; want 400", body, r.status, r.raw)
		}
	}
}

// TestForgotThrottled: per client address, with Retry-After; per account,
// silently (the answer stays 202, no more mail).
func TestForgotThrottled(t *testing.T) {
	e := newMailEnv(t, mailOpts{resetAddress: gatehouse.ThrottleRule{Limit: 8, Window: time.Hour}})
	register(t, e.URL, "alice", "alice password")
	e.verifyEmail(t, login(t, e.URL, "alice", "alice password"), "alice password", "alice@example.com")
	for range 7 {
		if r := call(t, "POST", e.URL+"/api/password/forgot", "", map[string]string{"username": "alice"}); r.status != 202 {
			t.Fatalf("forgot: %d %s", r.status, r.raw)
		}
	}
	r := call(t, "POST", e.URL+"/api/password/forgot", "", map[string]string{"username": "nobody"})
	if r.status != 202 {
		t.Fatalf("8th request from the address: %d", r.status)
	}
	r = call(t, "POST", e.URL+"/api/password/forgot", "", map[string]string{"username": "nobody"})
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("9th request from the address: %d %s", r.status, r.raw)
	}
	if err := e.email.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); e.smtp.Count("alice@example.com") < 6 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	var queued int
	if err := e.db.SQL().QueryRow(`SELECT COUNT(*) FROM mail_outbox WHERE recipient = ?`, "alice@example.com").Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if n := e.smtp.Count("alice@example.com"); n != 1+5 || queued != 1+5 {
		t.Fatalf("alice got %d messages (%d queued), want 6: verification and 5 resets, the account's limit", n, queued)
	}
}

// TestSMTPDownThenBack: with the mail server down the request is answered
// at once, and the mail arrives once the server is back.
func TestSMTPDownThenBack(t *testing.T) {
	e := newMailEnv(t, mailOpts{})
	register(t, e.URL, "alice", "alice password")
	tok := login(t, e.URL, "alice", "alice password")
	e.smtp.Stop()
	start := time.Now()
	r := call(t, "PUT", e.URL+"/api/email", tok, map[string]string{"email": "alice@example.com", "password": "alice password"})
	if r.status != 202 {
		t.Fatalf("PUT with SMTP down: %d %s", r.status, r.raw)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the request waited %s on the mail server", d)
	}
	time.Sleep(400 * time.Millisecond) // a few failed attempts
	var attempts int
	if err := e.db.SQL().QueryRow(`SELECT attempts FROM mail_outbox`).Scan(&attempts); err != nil || attempts == 0 {
		t.Fatalf("attempts while down = %d, %v", attempts, err)
	}
	e.smtp.Restart()
	m := e.waitMail(t, "alice@example.com", subjVerify)
	r = call(t, "POST", e.URL+"/api/email/verify", "", map[string]string{"token": linkToken(t, m.Link(t, "/verify-email"))})
	if r.status != 200 {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
}

// TestLoginWithEmail: with LOGIN_WITH_EMAIL a verified address logs in,
// without regard to case; without it, it does not. A verified address
// belongs to one account, without regard to case.
func TestLoginWithEmail(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[on], func(t *testing.T) {
			e := newMailEnv(t, mailOpts{loginWithEmail: on})
			register(t, e.URL, "alice", "alice password")
			register(t, e.URL, "bob", "bob password")
			e.verifyEmail(t, login(t, e.URL, "alice", "alice password"), "alice password", "Alice@Example.com")
			r := call(t, "POST", e.URL+"/api/login", "", map[string]string{"username": "alice@example.COM", "password": "alice password"})
			if want := map[bool]int{true: 200, false: 401}[on]; r.status != want {
				t.Fatalf("login by email: %d %s; want %d", r.status, r.raw, want)
			}
			if on && r.body["user"].(map[string]any)["username"] != "alice" {
				t.Fatalf("logged in as %v", r.body["user"])
			}
			if r := call(t, "POST", e.URL+"/api/login", "", map[string]string{"username": "alice@example.com", "password": "wrong password"}); r.status != 401 {
				t.Fatalf("wrong password by email: %d", r.status)
			}
			bob := login(t, e.URL, "bob", "bob password")
			before := e.smtp.Count("alice@example.com")
			call(t, "PUT", e.URL+"/api/email", bob, map[string]string{"email": "ALICE@example.com", "password": "bob password"})
			m := e.next(t, "ALICE@example.com", subjVerify, before)
			r = call(t, "POST", e.URL+"/api/email/verify", "", map[string]string{"token": linkToken(t, m.Link(t, "/verify-email"))})
			if r.status != 409 || r.body["code"] != gatehouse.EEMAILTAKEN {
				t.Fatalf("bob verifying alice's address: %d %s", r.status, r.raw)
			}
		})
	}
}

// TestLoginWithEmailThrottle: with LOGIN_WITH_EMAIL, guesses by address
// count on the username's throttle, and a locked username does not log in
// by its address either, which answers like a wrong password, not 429.
func TestLoginWithEmailThrottle(t *testing.T) {
	e := newMailEnv(t, mailOpts{loginWithEmail: true})
	register(t, e.URL, "alice", "alice password")
	e.verifyEmail(t, login(t, e.URL, "alice", "alice password"), "alice password", "alice@example.com")
	byAddr := map[string]string{"username": "alice@example.com", "password": "wrong password"}
	for i := range 5 {
		if r := call(t, "POST", e.URL+"/api/login", "", byAddr); r.status != 401 {
			t.Fatalf("wrong guess %d by address: %d %s", i, r.status, r.raw)
		}
	}
	byName := map[string]string{"username": "alice", "password": "wrong password"}
	for i := range 5 {
		if r := call(t, "POST", e.URL+"/api/login", "", byName); r.status != 401 {
			t.Fatalf("wrong guess %d by username: %d %s", i, r.status, r.raw)
		}
	}
	// 10 guesses in all: the username is locked.
	if r := call(t, "POST", e.URL+"/api/login", "", map[string]string{"username": "alice", "password": "alice password"}); r.status != 429 {
		t.Fatalf("locked username: %d %s; want 429", r.status, r.raw)
	}
	r := call(t, "POST", e.URL+"/api/login", "", map[string]string{"username": "alice@example.com", "password": "alice password"})
	if r.status != 401 || r.body["code"] != gatehouse.ECREDENTIALS {
		t.Fatalf("right password by address while the username is locked: %d %s; want 401 invalid_credentials", r.status, r.raw)
	}
}

// TestSecurityNotices: a password change and a new second factor are
// mailed to the verified address.
func TestSecurityNotices(t *testing.T) {
	e := newMailEnv(t, mailOpts{})
	register(t, e.URL, "alice", "alice password")
	tok := login(t, e.URL, "alice", "alice password")
	u := e.verifyEmail(t, tok, "alice password", "alice@example.com")
	if r := call(t, "POST", e.URL+"/api/password", tok, map[string]string{"current_password": "alice password", "new_password": "another password"}); r.status != 204 {
		t.Fatalf("change password: %d %s", r.status, r.raw)
	}
	e.waitMail(t, "alice@example.com", subjChanged)
	e.svc.Record(context.Background(), gatehouse.AuditEvent{Type: gatehouse.AuditFactorAdded, UserID: u["id"].(string), Username: "alice", Reason: "totp"})
	m := e.waitMail(t, "alice@example.com", subjFactor)
	if text, _ := m.Part("text/plain"); !strings.Contains(text, "(totp)") {
		t.Fatalf("factor notice:\n%s", text)
	}
}

// TestMailOff: without mail, the email endpoints answer 503
// mail_unavailable, and a user is exactly as before.
func TestMailOff(t *testing.T) {
	e := newMailEnv(t, mailOpts{off: true})
	register(t, e.URL, "alice", "alice password")
	tok := login(t, e.URL, "alice", "alice password")
	for _, tc := range []struct {
		method, path, bearer string
		body                 any
	}{
		{"PUT", "/api/email", tok, map[string]string{"email": "a@example.com"}},
		{"DELETE", "/api/email", tok, nil},
		{"POST", "/api/email/verify", "", map[string]string{"token": "x"}},
		{"POST", "/api/password/forgot", "", map[string]string{"username": "alice"}},
		{"POST", "/api/password/reset", "", map[string]string{"token": "x", "new_password": "a new password"}},
	} {
		r := call(t, tc.method, e.URL+tc.path, tc.bearer, tc.body)
		if r.status != 503 || r.body["code"] != gatehouse.EMAILUNAVAILABLE {
			t.Errorf("%s %s: %d %s; want 503 mail_unavailable", tc.method, tc.path, r.status, r.raw)
		}
	}
	me := call(t, "GET", e.URL+"/api/me", tok, nil)
	if ks := userKeys(me.body["user"].(map[string]any)); !slices.Equal(ks, []string{"created_at", "id", "username"}) {
		t.Fatalf("User has keys %v", ks)
	}
}
