package web_test

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// screenshots makes TestScreenshots write the README's pictures:
//
//	go test ./web -run TestScreenshots -screenshots
var screenshots = flag.Bool("screenshots", false, "write the pages' screenshots to docs/ (TestScreenshots)")

// TestScreenshots drives the real browser to the login page and to the
// main page of a user signed in on three devices, and takes their
// pictures, in light and dark. Without -screenshots they go to a temporary
// directory and are only checked to be whole PNGs of the page's size.
func TestScreenshots(t *testing.T) {
	dir := t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "docs")
	}
	env := newPageEnv(t, pageOpts{})
	// Two other devices signed in, so the session list shows more than
	// this browser.
	for _, ua := range []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
	} {
		c := env.client(t)
		c.ua = ua
		if ua[13] == 'i' {
			c.register("alice", pw)
		} else {
			c.login("alice", pw)
		}
	}
	b := newBrowser(t, env.URL)
	shots := []struct {
		file  string
		path  string
		dark  bool
		width int64
		wrong bool // send a wrong password first
	}{
		{"login.png", "/login", false, 1280, false},
		{"login-dark.png", "/login", true, 1280, false},
		{"login-error.png", "/login", false, 1280, true},
		{"main.png", "/main", false, 1280, false},
		{"main-dark.png", "/main", true, 1280, false},
		{"main-phone.png", "/main", false, 390, false},
	}
	for _, s := range shots {
		if s.path == "/main" && b.path() != "/main" {
			if st := b.login("alice", pw); st != 200 || b.path() != "/main" {
				t.Fatalf("login = %d at %s", st, b.path())
			}
		}
		scheme := "light"
		if s.dark {
			scheme = "dark"
		}
		if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			t.Fatal(err)
		}
		height := int64(800)
		if s.width < 800 {
			height = 844
		}
		step(b, chromedp.EmulateViewport(s.width, height))
		if st := b.open(s.path); st != 200 {
			t.Fatalf("%s = %d", s.path, st)
		}
		if s.wrong {
			b.fill("#username", "alice")
			b.fill("#password", "not my password")
			if st := b.press("#password", kb.Enter); st != 401 {
				t.Fatalf("wrong password = %d", st)
			}
		}
		// Nothing focused, so no focus ring in the picture.
		eval[bool](b, `document.activeElement.blur() || true`)
		img := step(b, chromedp.FullScreenshot(100))
		cfg, err := png.DecodeConfig(bytes.NewReader(img))
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", s.file, err)
		}
		if int64(cfg.Width) != s.width || int64(cfg.Height) < height {
			t.Errorf("%s: %dx%d, want %d wide (nothing wider than the screen) and at least %d high", s.file, cfg.Width, cfg.Height, s.width, height)
		}
		if err := os.WriteFile(filepath.Join(dir, s.file), img, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%dx%d)", filepath.Join(dir, s.file), cfg.Width, cfg.Height)
	}
}
