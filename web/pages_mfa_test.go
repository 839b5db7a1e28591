package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

var (
	secretRE = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`)
	codesRE  = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
)

// TestPagesTOTP walks TOTP through the pages: enrol on /main (QR code
// and secret), confirm (recovery codes shown once), log in with a code
// and with a recovery code, regenerate, turn off.
func TestPagesTOTP(t *testing.T) {
	clk := &clock{t: time.Now()}
	e := newPageEnv(t, pageOpts{clock: clk})
	c := e.client(t)
	c.register("alice", "correct horse")
	code := func(secret string) string {
		s, err := auth.TOTPCode(secret, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	if p := c.get("/main"); !strings.Contains(p.Body, "Set up authenticator app") {
		t.Fatalf("/main has no two-factor card: %s", p.Body)
	}
	p := c.submit("/main", "/mfa/totp", nil)
	m := secretRE.FindStringSubmatch(p.Body)
	if p.StatusCode != 200 || m == nil || !strings.Contains(p.Body, `src="data:image/png;base64,`) || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("enrol: %d %s", p.StatusCode, p.Body)
	}
	secret := m[1]
	p = c.submit("/main", "/mfa/totp/confirm", url.Values{"code": {"12"}, "password": {"correct horse"}})
	if p.StatusCode != 401 || !strings.Contains(p.Body, "wrong or has already been used") || !strings.Contains(p.Body, secret) {
		t.Fatalf("wrong confirm code: %d %s", p.StatusCode, p.Body)
	}
	p = c.submit("/main", "/mfa/totp/confirm", url.Values{"code": {code(secret)}})
	if p.StatusCode != 400 || !strings.Contains(p.Body, secret) {
		t.Fatalf("confirm without the password: %d %s", p.StatusCode, p.Body)
	}
	p = c.submit("/main", "/mfa/totp/confirm", url.Values{"code": {code(secret)}, "password": {"wrong horse"}})
	if p.StatusCode != 401 || !strings.Contains(p.Body, "That password is wrong.") || !strings.Contains(p.Body, secret) ||
		!strings.Contains(p.Body, `id="mfa_password" name="password" type="password" autocomplete="current-password" required
            aria-invalid="true"`) {
		t.Fatalf("confirm with a wrong password: %d %s", p.StatusCode, p.Body)
	}
	p = c.submit("/main", "/mfa/totp/confirm", url.Values{"code": {code(secret)}, "password": {"correct horse"}})
	codes := codesRE.FindAllStringSubmatch(p.Body, -1)
	if p.StatusCode != 200 || len(codes) != 10 || strings.Contains(p.Body, secret) {
		t.Fatalf("confirm: %d, %d codes: %s", p.StatusCode, len(codes), p.Body)
	}
	if p := c.get("/main"); codesRE.MatchString(p.Body) || !strings.Contains(p.Body, "10 recovery codes left") {
		t.Fatalf("codes shown twice, or status missing: %s", p.Body)
	}
	clk.Add(30 * time.Second)

	// A new browser: the password leads to the second-factor form.
	b := e.client(t)
	p = b.submit("/login", "/login", url.Values{"username": {"alice"}, "password": {"correct horse"}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/login/second-factor" || b.cookie("gh_at") != "" {
		t.Fatalf("login: %d %s", p.StatusCode, p.Header.Get("Location"))
	}
	if ck := b.cookie("gh_2fa"); !strings.HasPrefix(ck, "ghc_") {
		t.Fatalf("challenge cookie = %q", ck)
	}
	if p := b.get("/main"); p.StatusCode != 303 || p.Header.Get("Location") != "/login" {
		t.Fatalf("/main before the second step: %d", p.StatusCode)
	}
	p = b.submit("/login/second-factor", "/login/second-factor", url.Values{"totp_code": {"000000"}})
	if p.StatusCode != 401 || !strings.Contains(p.Body, "wrong or has already been used") {
		t.Fatalf("wrong code: %d %s", p.StatusCode, p.Body)
	}
	// Without the form's token: refused.
	if p := b.post("/login/second-factor", url.Values{"totp_code": {code(secret)}}, nil); p.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF token: %d", p.StatusCode)
	}
	p = b.submit("/login/second-factor", "/login/second-factor", url.Values{"totp_code": {code(secret)}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/main" || b.cookie("gh_2fa") != "" {
		t.Fatalf("second step: %d %s %s", p.StatusCode, p.Header.Get("Location"), p.Body)
	}
	if p := b.get("/main"); p.StatusCode != 200 || !strings.Contains(p.Body, "alice") {
		t.Fatalf("/main after the second step: %d", p.StatusCode)
	}

	// A recovery code, in a third browser: the other sessions end.
	r := e.client(t)
	r.submit("/login", "/login", url.Values{"username": {"alice"}, "password": {"correct horse"}})
	p = r.submit("/login/second-factor", "/login/second-factor", url.Values{"recovery_code": {html.UnescapeString(codes[0][1])}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/main" {
		t.Fatalf("recovery code: %d %s", p.StatusCode, p.Body)
	}
	if p := b.get("/main"); p.StatusCode != 303 {
		t.Fatalf("the other browser is still signed in: %d", p.StatusCode)
	}

	// An expired challenge goes back to /login with a word why.
	x := e.client(t)
	x.submit("/login", "/login", url.Values{"username": {"alice"}, "password": {"correct horse"}})
	clk.Add(6 * time.Minute)
	p = x.submit("/login/second-factor", "/login/second-factor", url.Values{"totp_code": {code(secret)}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/login" || !strings.Contains(x.get("/login").Body, "took too long") {
		t.Fatalf("expired challenge: %d %s", p.StatusCode, p.Header.Get("Location"))
	}

	// New recovery codes need the password or a code; then turn it off.
	p = r.submit("/main", "/mfa/recovery-codes", url.Values{"code_or_password": {"not my password"}})
	if p.StatusCode != 401 || !strings.Contains(p.Body, "password is wrong") {
		t.Fatalf("regenerate with a wrong password: %d %s", p.StatusCode, p.Body)
	}
	p = r.submit("/main", "/mfa/recovery-codes", url.Values{"code_or_password": {"correct horse"}})
	if p.StatusCode != 200 || len(codesRE.FindAllString(p.Body, -1)) != 10 {
		t.Fatalf("regenerate: %d %s", p.StatusCode, p.Body)
	}
	p = r.submit("/main", "/mfa/totp/disable", url.Values{"code_or_password": {code(secret)}})
	if p.StatusCode != 303 || !strings.Contains(r.get("/main").Body, "Set up authenticator app") {
		t.Fatalf("disable: %d %s", p.StatusCode, p.Body)
	}
	e.client(t).login("alice", "correct horse") // the password alone again
}
