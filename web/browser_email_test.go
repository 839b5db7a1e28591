package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserEmail: in a real browser, add an address on /main, follow
// the delivered verification link (which a mail scanner fetched first,
// using nothing up), then forget the password from /login, follow the
// delivered reset link, set a new password and log in with it.
func TestBrowserEmail(t *testing.T) {
	e := newMailEnv(t, mailOpts{})
	b := newBrowser(t, e.URL)
	local := func(link string) string { return strings.Replace(link, "http://gatehouse.test", e.URL, 1) }

	if st := b.register("alice", pw); st != 200 || b.path() != "/main" {
		t.Fatalf("register = %d at %s", st, b.path())
	}
	b.fill("#email", "alice@example.com")
	b.fill("#email_password", "not the password")
	if st := b.click(`form[action="/email"] button`); st != 401 || !strings.Contains(b.text("#email-error"), "current password is wrong") {
		t.Fatalf("email form with a wrong password = %d, error %q", st, b.text("#email-error"))
	}
	if e.smtp.Count("alice@example.com") != 0 {
		t.Fatal("a wrong password sent a verification link")
	}
	b.fill("#email", "alice@example.com")
	b.fill("#email_password", pw)
	if st := b.click(`form[action="/email"] button`); st != 200 || b.path() != "/main" {
		t.Fatalf("email form = %d at %s", st, b.path())
	}
	if got := b.text(".notice"); !strings.Contains(got, "We sent a link") {
		t.Fatalf("notice = %q", got)
	}
	if got := b.text(".email-pending"); !strings.Contains(got, "alice@example.com") {
		t.Fatalf("pending = %q", got)
	}
	link := local(e.next(t, "alice@example.com", subjVerify, 0).Link(t, "/verify-email"))

	// A scanner's GET shows the button and uses nothing up.
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("GET verify link = %d, Referrer-Policy %q", resp.StatusCode, resp.Header.Get("Referrer-Policy"))
	}
	nav := step(b, chromedp.NavigateResponse(link))
	if nav.Status != 200 || nav.Headers["Referrer-Policy"] != "no-referrer" {
		t.Fatalf("verify page = %d, headers %v", nav.Status, nav.Headers)
	}
	if got := eval[string](b, `document.querySelector('meta[name="referrer"]').content`); got != "no-referrer" {
		t.Fatalf("meta referrer = %q", got)
	}
	if st := b.click(`form[action="/verify-email"] button`); st != 200 {
		t.Fatalf("confirm = %d", st)
	}
	if got := b.text(".verified-email"); got != "alice@example.com" {
		t.Fatalf("confirmed %q", got)
	}
	b.open("/main")
	if got := b.text(".email-current"); got != "alice@example.com" {
		t.Fatalf("/main shows %q", got)
	}
	if st := b.click(`.topbar form[action="/logout"] button`); st != 200 || b.path() != "/login" {
		t.Fatalf("logout = %d at %s", st, b.path())
	}

	if st := b.click(`a[href="/forgot"]`); st != 200 || b.path() != "/forgot" {
		t.Fatalf("forgot link = %d at %s", st, b.path())
	}
	b.fill("#username", "alice")
	if st := b.click("button[type=submit]"); st != 200 || !strings.Contains(b.text("h1"), "Check your email") {
		t.Fatalf("forgot form = %d, h1 %q", st, b.text("h1"))
	}
	reset := local(e.next(t, "alice@example.com", subjReset, 0).Link(t, "/reset"))
	if st := b.visit(reset); st != 200 {
		t.Fatalf("reset page = %d", st)
	}
	b.fill("#new_password", "short")
	if st := b.click("button[type=submit]"); st != 422 || !strings.Contains(b.text(".alert"), "8 to 256") {
		t.Fatalf("weak new password = %d, %q", st, b.text(".alert"))
	}
	b.fill("#new_password", "a new password for alice")
	if st := b.click("button[type=submit]"); st != 200 || b.path() != "/login" {
		t.Fatalf("reset = %d at %s", st, b.path())
	}
	if got := b.text(".notice"); !strings.Contains(got, "password has been changed") {
		t.Fatalf("notice = %q", got)
	}
	if st := b.login("alice", "a new password for alice"); st != 200 || b.path() != "/main" {
		t.Fatalf("login with the new password = %d at %s", st, b.path())
	}
	if st := b.visit(reset); st != 200 {
		t.Fatalf("reset page again = %d", st)
	}
	b.fill("#new_password", "yet another password")
	if st := b.click("button[type=submit]"); st != 400 || !strings.Contains(b.text("main"), "already used") {
		t.Fatalf("reused reset link = %d, %q", st, b.text("main"))
	}
	if errs := b.consoleErrors(expectedStatus); len(errs) > 0 {
		t.Fatalf("console: %v", errs)
	}
}
