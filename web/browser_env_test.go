package web_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds every browser step, so that a hung browser fails the
// test instead of blocking the run; a step normally takes milliseconds.
const stepTimeout = 30 * time.Second

// browser is one headless chromium with a fresh profile: its own cookies,
// cache and history, as separate as another person's browser.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newBrowser starts chromium for base (the server's URL), or skips the test
// without it (fails under GATEHOUSE_TEST_REQUIRE_ALL=1).
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.RequireOrSkip(t, "chromium ("+chromiumPath+")")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base}
	// Console starts the browser, and from then on collects every console
	// call, uncaught exception and browser log entry (CSP violations,
	// failed loads) of the tab.
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// step runs a in the browser within stepTimeout.
func step[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// open loads path and returns the HTTP status of the page it ends on.
func (b *browser) open(path string) int {
	b.t.Helper()
	return b.visit(b.base + path)
}

// visit loads an absolute URL and returns the status of the page it ends on.
func (b *browser) visit(url string) int {
	b.t.Helper()
	return int(step(b, chromedp.NavigateResponse(url)).Status)
}

// click clicks the element sel, which leads to a new page, and returns
// that page's status.
func (b *browser) click(sel string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return int(resp.Status)
}

// press sends key to the element sel, which leads to a new page, and
// returns that page's status.
func (b *browser) press(sel, key string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.SendKeys(chromedp.CSS(sel), key))
	if err != nil {
		b.t.Fatalf("press %q in %s: %v", key, sel, err)
	}
	return int(resp.Status)
}

// pressFocused sends key to whatever has the focus, which leads to a new
// page, and returns that page's status.
func (b *browser) pressFocused(key string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(key))
	if err != nil {
		b.t.Fatalf("press %q: %v", key, err)
	}
	return int(resp.Status)
}

// fill replaces the text of the input sel, typing it as a person would.
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	step(b, chromedp.Steps(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text)))
}

// text returns the visible text of the element sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return step(b, chromedp.Text(chromedp.CSS(sel)))
}

// path returns the path of the page the browser shows.
func (b *browser) path() string {
	b.t.Helper()
	loc := step(b, chromedp.Location())
	return strings.TrimPrefix(loc, b.base)
}

// eval evaluates a JavaScript expression through DevTools (not subject to
// the page's CSP) and returns its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	return step(b, chromedp.Evaluate[T](expr))
}

// register fills in and sends the register form.
func (b *browser) register(username, password string) int {
	b.t.Helper()
	b.open("/register")
	b.fill("#username", username)
	b.fill("#password", password)
	return b.click("button[type=submit]")
}

// login fills in and sends the login form.
func (b *browser) login(username, password string) int {
	b.t.Helper()
	b.open("/login")
	b.fill("#username", username)
	b.fill("#password", password)
	return b.click("button[type=submit]")
}

// cookie returns the value of the browser's cookie name for the server,
// HttpOnly or not, or "".
func (b *browser) cookie(name string) string {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// consoleErrors returns the error and exception messages of the console so
// far, except those skip accepts.
func (b *browser) consoleErrors(skip func(chromedp.ConsoleMessage) bool) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
			continue
		}
		if skip != nil && skip(m) {
			continue
		}
		out = append(out, m.String()+" ("+m.Source+" "+m.URL+")")
	}
	return out
}

// waitConsole waits until the console has a message for which match is
// true, for at most stepTimeout; messages arrive asynchronously.
func (b *browser) waitConsole(match func(chromedp.ConsoleMessage) bool) bool {
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, m := range b.console {
			if match(m) {
				b.mu.Unlock()
				return true
			}
		}
		b.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
