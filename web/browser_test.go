package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse/gatehouse/auth"
)

// TestBrowserFlow is the whole life of a page session in a real browser:
// register, land on /main, reload, a second browser logs in and both see
// two sessions, the second revokes the first, logs out, and Back shows
// nothing of the user. Neither browser logs a console error.
func TestBrowserFlow(t *testing.T) {
	clk := &clock{t: time.Now()}
	env := newPageEnv(t, pageOpts{clock: clk})
	a := newBrowser(t, env.URL)

	if st := a.open("/"); st != 200 || a.path() != "/login" {
		t.Fatalf("/ = %d at %s, want the login page", st, a.path())
	}
	if st := a.register("alice", pw); st != 200 || a.path() != "/main" {
		t.Fatalf("register = %d at %s, want /main", st, a.path())
	}
	if got := a.text("h1"); got != "Welcome, alice" {
		t.Fatalf("h1 = %q", got)
	}
	if st := step(a, chromedp.NavigateResponse(env.URL+"/main")); st.Status != 200 {
		t.Fatalf("reload = %d", st.Status)
	}
	step(a, chromedp.Reload())
	if a.path() != "/main" || !strings.Contains(a.text(".whoami"), "alice") {
		t.Fatalf("after reload at %s, without the username", a.path())
	}
	if n := len(eval[[]string](a, `[...document.querySelectorAll(".session")].map(e => e.id)`)); n != 1 {
		t.Fatalf("a sees %d sessions, want 1", n)
	}

	// The access token expires; the next page renews it unnoticed.
	before := a.cookie("gh_at")
	clk.Add(16 * time.Minute)
	if st := a.open("/main"); st != 200 || a.path() != "/main" {
		t.Fatalf("/main after the access token expired = %d at %s", st, a.path())
	}
	if after := a.cookie("gh_at"); after == before || after == "" {
		t.Fatalf("access cookie not renewed")
	}

	b := newBrowser(t, env.URL)
	if st := b.login("alice", pw); st != 200 || b.path() != "/main" {
		t.Fatalf("second browser login = %d at %s", st, b.path())
	}
	a.open("/main")
	for name, br := range map[string]*browser{"a": a, "b": b} {
		if n := eval[int](br, `document.querySelectorAll(".session").length`); n != 2 {
			t.Fatalf("browser %s sees %d sessions, want 2", name, n)
		}
		if n := eval[int](br, `document.querySelectorAll(".session.is-current").length`); n != 1 {
			t.Fatalf("browser %s marks %d sessions as its own, want 1", name, n)
		}
	}

	// b revokes a's session: the one that is not b's.
	if st := b.click(".session:not(.is-current) button"); st != 200 || b.path() != "/main" {
		t.Fatalf("revoke = %d at %s", st, b.path())
	}
	if got := b.text(".notice"); got != "The session has been revoked." {
		t.Errorf("notice = %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll(".session").length`); n != 1 {
		t.Errorf("after revoking, b sees %d sessions", n)
	}
	if st := a.open("/main"); st != 200 || a.path() != "/login" {
		t.Fatalf("a after revocation = %d at %s, want /login", st, a.path())
	}
	if got := a.text(".notice"); got != "Your session has ended. Please log in again." {
		t.Errorf("a's notice = %q", got)
	}

	// b logs out, then goes Back: nothing of alice may show.
	if st := b.click(".topbar form button"); st != 200 || b.path() != "/login" {
		t.Fatalf("logout = %d at %s", st, b.path())
	}
	step(b, chromedp.NavigateBack())
	if p := b.path(); p != "/login" {
		t.Errorf("Back after logout shows %s, want /login", p)
	}
	if body := b.text("body"); strings.Contains(body, "alice") {
		t.Errorf("Back after logout shows the user's data:\n%s", body)
	}

	for name, br := range map[string]*browser{"a": a, "b": b} {
		if errs := br.consoleErrors(nil); len(errs) > 0 {
			t.Errorf("browser %s console errors:\n%s", name, strings.Join(errs, "\n"))
		}
	}

	// The console check can fail: an inline style, which the CSP forbids,
	// is reported.
	eval[bool](a, `document.head.insertAdjacentHTML("beforeend", "<style>body{color:red}</style>") || true`)
	if !a.waitConsole(func(m chromedp.ConsoleMessage) bool { return strings.Contains(m.Text, "Content Security Policy") }) {
		t.Errorf("a CSP violation did not reach the console listener; got %q", a.consoleErrors(nil))
	}
}

// formCase is one mistake made in a browser form.
type formCase struct {
	name     string
	path     string // the form's page
	fields   map[string]string
	status   int
	msg      string
	alertSel string // where the message shows
	focus    string // the input focused for correction
	keep     string // the username kept in its input ("" : not checked)
}

// TestBrowserErrors makes each mistake in the browser: the form comes back
// with the message in plain words, the right status, the username kept and
// the input to correct focused and marked invalid.
func TestBrowserErrors(t *testing.T) {
	pool := auth.NewPool(1, 1, 50*time.Millisecond)
	env := newPageEnv(t, pageOpts{pool: pool})
	env.client(t).register("alice", pw)
	b := newBrowser(t, env.URL)
	cases := []formCase{
		{name: "wrong password", path: "/login", fields: map[string]string{"#username": "alice", "#password": "not the password"},
			status: 401, msg: "Wrong username or password.", alertSel: "#form-error", focus: "password", keep: "alice"},
		{name: "unknown user", path: "/login", fields: map[string]string{"#username": "nobody", "#password": pw},
			status: 401, msg: "Wrong username or password.", alertSel: "#form-error", focus: "password", keep: "nobody"},
		{name: "username taken", path: "/register", fields: map[string]string{"#username": "ALICE", "#password": pw},
			status: 409, msg: "That username is already taken. Please choose another one.", alertSel: "#form-error", focus: "username", keep: "ALICE"},
		{name: "password too short", path: "/register", fields: map[string]string{"#username": "bob", "#password": "short"},
			status: 422, msg: "Password must be 8 to 256 characters long.", alertSel: "#form-error", focus: "password", keep: "bob"},
		{name: "invalid username", path: "/register", fields: map[string]string{"#username": "bob smith", "#password": pw},
			status: 422, msg: "Username may contain only letters A-Z and a-z, digits, '.', '_' and '-'.", alertSel: "#form-error", focus: "username", keep: "bob smith"},
		{name: "password is the username", path: "/register", fields: map[string]string{"#username": "bobby123", "#password": "BOBBY123"},
			status: 422, msg: "Password must not be the username.", alertSel: "#form-error", focus: "password", keep: "bobby123"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b.t = t
			b.open(tc.path)
			runFormCase(t, b, tc)
		})
	}
	b.t = t
	// The password form of the main page.
	if st := b.login("alice", pw); st != 200 || b.path() != "/main" {
		t.Fatalf("login = %d at %s", st, b.path())
	}
	for _, tc := range []formCase{
		{name: "wrong current password", fields: map[string]string{"#current_password": "not it at all", "#new_password": "a new long password"},
			status: 401, msg: "Your current password is wrong.", alertSel: "#pw-error", focus: "current_password"},
		{name: "new password too short", fields: map[string]string{"#current_password": pw, "#new_password": "short"},
			status: 422, msg: "Password must be 8 to 256 characters long.", alertSel: "#pw-error", focus: "new_password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.t = t
			b.open("/main")
			tc.path = "/main"
			runFormCase(t, b, tc)
		})
	}
	t.Run("service busy", func(t *testing.T) {
		b.t = t
		b.open("/main")
		if st := b.click(".topbar form button"); st != 200 || b.path() != "/login" {
			t.Fatalf("logout = %d at %s", st, b.path())
		}
		b.fill("#username", "alice")
		b.fill("#password", pw)
		release := holdPool(t, pool) // every hashing slot is taken
		defer release()
		if st := b.press("#password", kb.Enter); st != 503 {
			t.Errorf("status = %d, want 503", st)
		}
		if got := b.text("#form-error"); got != "The service is unavailable right now. Please try again in a moment." {
			t.Errorf("message = %q", got)
		}
		if got := eval[string](b, `document.getElementById("username").value`); got != "alice" {
			t.Errorf("username = %q, want it kept", got)
		}
	})
	b.t = t
	if errs := b.consoleErrors(expectedStatus); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

func runFormCase(t *testing.T, b *browser, tc formCase) {
	t.Helper()
	var last string
	for sel, v := range tc.fields {
		b.fill(sel, v)
		last = sel
	}
	// Submit with the Enter key in an input, as a keyboard user would.
	st := b.press(last, kb.Enter)
	if st != tc.status {
		t.Errorf("status = %d, want %d", st, tc.status)
	}
	if got := b.text(tc.alertSel); got != tc.msg {
		t.Errorf("message = %q, want %q", got, tc.msg)
	}
	if got := waitFocus(b, "input#"+tc.focus); got != "input#"+tc.focus {
		t.Errorf("focus on %s, want input#%s", got, tc.focus)
	}
	if got := eval[string](b, `document.getElementById("`+tc.focus+`").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("%s aria-invalid = %q", tc.focus, got)
	}
	if got := eval[string](b, `document.getElementById("`+tc.focus+`").getAttribute("aria-describedby") || ""`); !strings.Contains(got, strings.TrimPrefix(tc.alertSel, "#")) {
		t.Errorf("%s aria-describedby = %q, want it to name the message", tc.focus, got)
	}
	if tc.keep != "" {
		if got := eval[string](b, `document.getElementById("username").value`); got != tc.keep {
			t.Errorf("username = %q, want %q kept", got, tc.keep)
		}
	}
	if live := eval[int](b, `document.querySelectorAll("[aria-live] [role=alert]").length`); live != 1 {
		t.Errorf("%d alerts in a live region, want 1", live)
	}
	if b.path() != tc.path && tc.path != "/main" {
		t.Errorf("at %s, want the form again at %s", b.path(), tc.path)
	}
}

// expectedStatus skips the browser's own report of a form page answered
// with an error status on purpose ("Failed to load resource: the server
// responded with a status of 401"): the page itself is what the test
// checks. A failed stylesheet or icon is still an error.
func expectedStatus(m chromedp.ConsoleMessage) bool {
	return m.Source == "network" && strings.Contains(m.Text, "the server responded with a status of") &&
		!strings.Contains(m.URL, "/static/")
}

// TestBrowserCSRF sends forms without their token, with a wrong one, and
// from another site with a good one: each gets the 403 page, and the
// session is untouched.
func TestBrowserCSRF(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	b := newBrowser(t, env.URL)
	if st := b.register("alice", pw); st != 200 {
		t.Fatalf("register = %d", st)
	}
	stillSignedIn := func() {
		t.Helper()
		if st := b.open("/main"); st != 200 || b.path() != "/main" {
			t.Fatalf("the refused form ended the session: %d at %s", st, b.path())
		}
	}
	wantRefused := func(st int) {
		t.Helper()
		if st != 403 {
			t.Errorf("status = %d, want 403", st)
		}
		if got := b.text(".alert"); !strings.HasPrefix(got, "This form was refused") {
			t.Errorf("page says %q", got)
		}
	}

	// The log-out form without its token.
	eval[bool](b, `document.querySelector(".topbar input[name=csrf_token]").remove() || true`)
	wantRefused(b.click(".topbar form button"))
	stillSignedIn()

	// "Log out everywhere" with a wrong token.
	eval[bool](b, `(document.querySelector(".card-danger input[name=csrf_token]").value = "A".repeat(43)) && true`)
	wantRefused(b.click(".card-danger button"))
	stillSignedIn()

	// From another site (localhost is not the same site as 127.0.0.1),
	// with a token that is right for this browser and session.
	token := eval[string](b, `document.querySelector("input[name=csrf_token]").value`)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>win a prize</title>
<form method="post" action="%s/logout"><input type="hidden" name="csrf_token" value="%s">
<input type="hidden" name="scope" value="global"><button id="go">Claim</button></form>`, env.URL, html.EscapeString(token))
	}))
	defer evil.Close()
	if st := b.visit(strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)); st != 200 {
		t.Fatalf("the other site = %d", st)
	}
	wantRefused(b.click("#go"))
	stillSignedIn()

	// The login form without its token, in a browser without a session.
	c := newBrowser(t, env.URL)
	c.open("/login")
	eval[bool](c, `document.querySelector("input[name=csrf_token]").remove() || true`)
	c.fill("#username", "alice")
	c.fill("#password", pw)
	if st := c.click("button[type=submit]"); st != 403 || !strings.HasPrefix(c.text(".alert"), "This form was refused") {
		t.Errorf("login without token = %d %q", st, c.text(".alert"))
	}
	if st := c.open("/main"); c.path() != "/login" {
		t.Errorf("a login without token signed in: %d at %s", st, c.path())
	}
}

// TestBrowserKeyboardNoJS registers, walks the main page and logs out with
// the keyboard alone, in a browser whose JavaScript is switched off.
func TestBrowserKeyboardNoJS(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	b := newBrowser(t, env.URL)
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	step(b, chromedp.Navigate(`data:text/html,<title>off</title><script>document.title="on"</script>`))
	if title := step(b, chromedp.Title()); title != "off" {
		t.Fatalf("JavaScript still runs (title %q)", title)
	}
	if st := b.open("/register"); st != 200 {
		t.Fatalf("/register = %d", st)
	}
	// autofocus puts the cursor in the username.
	if got := waitFocus(b, "input#username"); got != "input#username" {
		t.Fatalf("focus on load = %s, want input#username", got)
	}
	step(b, chromedp.KeyEvent("carol"))
	tab(b)
	step(b, chromedp.KeyEvent(pw))
	if st := b.pressFocused(kb.Enter); st != 200 || b.path() != "/main" {
		t.Fatalf("register by keyboard = %d at %s", st, b.path())
	}
	// Tab order on the main page: skip link, brand, log out, the session's
	// revoke, two-factor set-up, the password form, log out everywhere.
	want := []string{
		"a.skip-link", "a.brand", "button:Log out", "button:Revoke", "button:Set up authenticator app",
		"input#current_password", "input#new_password", "button:Change password", "button:Log out everywhere",
	}
	for i, w := range want {
		tab(b)
		if got := focused(b); got != w {
			t.Fatalf("Tab %d focuses %s, want %s", i+1, got, w)
		}
	}
	// Shift+Tab back to the log-out button and press it.
	for range 6 {
		step(b, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	}
	if got := focused(b); got != "button:Log out" {
		t.Fatalf("after Shift+Tab focus is on %s", got)
	}
	if st := b.pressFocused(kb.Enter); st != 200 || b.path() != "/login" {
		t.Fatalf("log out by keyboard = %d at %s", st, b.path())
	}
	if errs := b.consoleErrors(nil); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// waitFocus waits until want (as focused describes it) has the focus, and
// returns what has it at the end. The browser applies autofocus when it
// next renders, which may come after the load event.
func waitFocus(b *browser, want string) string {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	got := focused(b)
	for got != want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		got = focused(b)
	}
	return got
}

// tab presses the Tab key.
func tab(b *browser) { step(b, chromedp.KeyEvent(kb.Tab)) }

// focused describes the focused element: tag#id, tag.class, or
// button:label.
func focused(b *browser) string {
	return eval[string](b, `(() => {
		const e = document.activeElement;
		const tag = e.tagName.toLowerCase();
		if (tag === "button") return "button:" + e.textContent.trim();
		if (e.id) return tag + "#" + e.id;
		return tag + "." + e.classList[0];
	})()`)
}
