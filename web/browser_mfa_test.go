package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse/gatehouse/auth"
)

// TestBrowserTOTP turns TOTP on from /main in Chromium (reading the secret
// off the page as a person would type it into an app), logs out and logs
// in again through the second-factor form. With -screenshots it writes the
// README's pictures of the enrolment (docs/mfa-enrol.png) and of the
// second-factor form (docs/mfa-login.png).
func TestBrowserTOTP(t *testing.T) {
	dir := t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "docs")
	}
	clk := &clock{t: time.Now()}
	env := newPageEnv(t, pageOpts{clock: clk})
	b := newBrowser(t, env.URL)
	shot := func(file string) {
		t.Helper()
		eval[bool](b, `document.activeElement.blur() || true`)
		img := step(b, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(dir, file), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step(b, chromedp.EmulateViewport(1280, 800))
	if st := b.register("alice", pw); st != 200 || b.path() != "/main" {
		t.Fatalf("register = %d at %s", st, b.path())
	}
	if st := b.click(`#mfa form[action="/mfa/totp"] button`); st != 200 {
		t.Fatalf("set up = %d", st)
	}
	secret := b.text(".secret")
	if !eval[bool](b, `document.querySelector("img.qr").naturalWidth > 100`) {
		t.Fatal("the QR code did not render (CSP?)")
	}
	step(b, chromedp.ScrollIntoView("#mfa"))
	shot("mfa-enrol.png")
	code, err := auth.TOTPCode(secret, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.fill("#mfa_code", code)
	b.fill("#mfa_password", pw)
	if st := b.click(`#mfa form[action="/mfa/totp/confirm"] button`); st != 200 {
		t.Fatalf("confirm = %d", st)
	}
	if n := eval[int](b, `document.querySelectorAll(".codes li").length`); n != 10 {
		t.Fatalf("%d recovery codes shown", n)
	}
	if st := b.click(`.topbar form[action="/logout"] button`); st != 200 || b.path() != "/login" {
		t.Fatalf("logout = %d at %s", st, b.path())
	}

	clk.Add(30 * time.Second)
	if st := b.login("alice", pw); st != 200 || b.path() != "/login/second-factor" {
		t.Fatalf("login = %d at %s", st, b.path())
	}
	shot("mfa-login.png")
	code, _ = auth.TOTPCode(secret, clk.Now())
	b.fill("#totp_code", code)
	if st := b.click(`form button.btn-primary`); st != 200 || b.path() != "/main" {
		t.Fatalf("second step = %d at %s", st, b.path())
	}
	if !strings.Contains(b.text("#mfa .count"), "On") {
		t.Errorf("two-factor card says %q", b.text("#mfa .count"))
	}
}
