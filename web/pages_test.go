package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const pw = "correct horse battery staple"

// TestPageHeaders checks the security headers of every kind of page, and
// no-store on every page (they carry user data or a CSRF token).
func TestPageHeaders(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	c := env.client(t)
	c.register("alice", pw)
	anon := env.client(t)
	tests := []struct {
		name    string
		c       *client
		path    string
		status  int
		noStore bool
	}{
		{name: "login", c: anon, path: "/login", status: 200, noStore: true},
		{name: "register", c: anon, path: "/register", status: 200, noStore: true},
		{name: "main", c: c, path: "/main", status: 200, noStore: true},
		{name: "root", c: anon, path: "/", status: 303, noStore: true},
		{name: "main without session", c: anon, path: "/main", status: 303},
		{name: "unknown page", c: anon, path: "/nowhere", status: 404, noStore: true},
		{name: "stylesheet", c: anon, path: "/static/style.css", status: 200},
		{name: "missing static", c: anon, path: "/static/nope.css", status: 404, noStore: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.c.get(tt.path)
			if p.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", p.StatusCode, tt.status)
			}
			h := p.Header
			for k, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "same-origin",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			csp := h.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			// Scripts only from our own files (passkeys.js): no inline
			// script, no eval, nothing fetched.
			if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") ||
				strings.Contains(csp, "connect-src") || strings.Count(csp, "script-src") != 1 {
				t.Errorf("CSP allows more scripts than our own files: %q", csp)
			}
			if tt.noStore && h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", h.Get("Cache-Control"))
			}
			if tt.status == 200 && tt.path != "/static/style.css" && !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type = %q", h.Get("Content-Type"))
			}
		})
	}
}

// TestStaticAssets checks that the stylesheet the pages link to is served
// from the binary, cacheable for good under its fingerprint only.
func TestStaticAssets(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	c := env.client(t)
	login := c.get("/login").Body
	for _, name := range []string{"style.css", "favicon.svg"} {
		i := strings.Index(login, "/static/"+name+"?v=")
		if i < 0 {
			t.Fatalf("login page does not link %s", name)
		}
		href := login[i:]
		href = href[:strings.IndexByte(href, '"')]
		p := c.get(href)
		if p.StatusCode != 200 || len(p.Body) < 100 {
			t.Fatalf("GET %s = %d, %d bytes", href, p.StatusCode, len(p.Body))
		}
		if cc := p.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s Cache-Control = %q, want immutable", href, cc)
		}
		want := map[string]string{"style.css": "text/css", "favicon.svg": "image/svg+xml"}[name]
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, want) {
			t.Errorf("%s Content-Type = %q, want %s", href, ct, want)
		}
		if cc := c.get("/static/" + name + "?v=old").Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("stale fingerprint Cache-Control = %q, want no-cache", cc)
		}
	}
	for _, path := range []string{"/static/", "/static/..%2fpages.go", "/static/templates"} {
		if p := c.get(path); p.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", path, p.StatusCode)
		}
	}
}

// TestPageRedirects walks the redirects of API.md's "Web pages".
func TestPageRedirects(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	c := env.client(t)
	wantRedirect := func(p *page, to string) {
		t.Helper()
		if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != to {
			t.Fatalf("got %d Location %q, want 303 %s", p.StatusCode, p.Header.Get("Location"), to)
		}
	}
	wantRedirect(c.get("/"), "/login")
	wantRedirect(c.get("/main"), "/login")
	c.register("alice", pw) // 303 /main, checked inside
	wantRedirect(c.get("/"), "/main")
	wantRedirect(c.get("/login"), "/main")
	wantRedirect(c.get("/register"), "/main")
	if p := c.get("/main"); p.StatusCode != 200 || !strings.Contains(p.Body, "alice") {
		t.Fatalf("/main = %d, without the username", p.StatusCode)
	}
	wantRedirect(c.submit("/main", "/logout", nil), "/login")
	wantRedirect(c.get("/main"), "/login")
	p := c.get("/login")
	if p.StatusCode != 200 || !strings.Contains(p.Body, "You have been logged out.") {
		t.Fatalf("/login after logout = %d, without the notice", p.StatusCode)
	}
	c.login("alice", pw)
	wantRedirect(c.get("/"), "/main")
}

// TestPageCookies checks the flags of the session and CSRF cookies over
// plain HTTP and over HTTPS.
func TestPageCookies(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[tls]
		t.Run(name, func(t *testing.T) {
			env := newPageEnv(t, pageOpts{tls: tls})
			c := env.client(t)
			form := url.Values{"username": {"alice"}, "password": {pw}, "csrf_token": {c.token("/register")}}
			p := c.post("/register", form, nil)
			if p.StatusCode != 303 {
				t.Fatalf("register = %d %s", p.StatusCode, p.Body)
			}
			prefix := map[bool]string{false: "", true: "__Host-"}[tls]
			got := map[string]*http.Cookie{}
			for _, ck := range p.Cookies() {
				got[ck.Name] = ck
			}
			for _, base := range []string{"gh_at", "gh_rt"} {
				ck := got[prefix+base]
				if ck == nil {
					t.Fatalf("no %s cookie in %v", prefix+base, p.Header.Values("Set-Cookie"))
				}
				if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.Secure != tls {
					t.Errorf("%s: HttpOnly=%v SameSite=%v Path=%q Domain=%q Secure=%v", ck.Name, ck.HttpOnly, ck.SameSite, ck.Path, ck.Domain, ck.Secure)
				}
				if ck.MaxAge <= 0 {
					t.Errorf("%s: Max-Age = %d", ck.Name, ck.MaxAge)
				}
			}
			if got[prefix+"gh_at"].MaxAge != int((15 * time.Minute).Seconds()) {
				t.Errorf("access cookie Max-Age = %d, want the token's 900 s", got[prefix+"gh_at"].MaxAge)
			}
			if got[prefix+"gh_rt"].MaxAge != int((24 * time.Hour).Seconds()) {
				t.Errorf("refresh cookie Max-Age = %d, want the session's 86400 s", got[prefix+"gh_rt"].MaxAge)
			}
			if c.cookie(prefix+"gh_csrf") == "" {
				t.Errorf("no %sgh_csrf cookie", prefix)
			}
			if p := c.get("/main"); p.StatusCode != 200 {
				t.Fatalf("/main = %d", p.StatusCode)
			}
			p = c.submit("/main", "/logout", nil)
			for _, ck := range p.Cookies() {
				if (ck.Name == prefix+"gh_at" || ck.Name == prefix+"gh_rt") && ck.MaxAge >= 0 {
					t.Errorf("logout leaves cookie %s (Max-Age %d)", ck.Name, ck.MaxAge)
				}
			}
		})
	}
}

// TestPageSessionIsAPISession: a page login is a session of the API, and a
// page logout revokes it like the API's logout.
func TestPageSessionIsAPISession(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	c := env.client(t)
	c.register("alice", pw)
	at := c.cookie("gh_at")
	status, body := env.api(t, "GET", "/api/sessions", at)
	if status != 200 {
		t.Fatalf("GET /api/sessions with the page's token = %d %s", status, body)
	}
	var list struct {
		Sessions []struct {
			ID        string `json:"id"`
			UserAgent string `json:"user_agent"`
			IP        string `json:"ip"`
			Current   bool   `json:"current"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Sessions) != 1 || !list.Sessions[0].Current || !strings.Contains(list.Sessions[0].UserAgent, "Firefox") || list.Sessions[0].IP != "127.0.0.1" {
		t.Fatalf("sessions = %+v", list.Sessions)
	}
	main := c.get("/main").Body
	if !strings.Contains(main, "Firefox on Linux") || !strings.Contains(main, "127.0.0.1") || !strings.Contains(main, list.Sessions[0].ID) {
		t.Errorf("main page does not show the session's device, address and id")
	}
	c.submit("/main", "/logout", nil)
	if status, _ := env.api(t, "GET", "/api/me", at); status != 401 {
		t.Errorf("the page's access token after page logout = %d, want 401", status)
	}
}

// TestPageRefresh lets the access token expire: the page renews it through
// the refresh token without the user noticing, and replaying the rotated
// refresh cookie ends the session, as in the API.
func TestPageRefresh(t *testing.T) {
	clk := &clock{t: time.Now()}
	env := newPageEnv(t, pageOpts{clock: clk})
	c := env.client(t)
	c.register("alice", pw)
	oldAT, oldRT := c.cookie("gh_at"), c.cookie("gh_rt")

	clk.Add(16 * time.Minute) // past the 15-minute access token
	if status, _ := env.api(t, "GET", "/api/me", oldAT); status != 401 {
		t.Fatalf("the old access token still works (%d): the test does not test renewal", status)
	}
	p := c.get("/main")
	if p.StatusCode != 200 || !strings.Contains(p.Body, "alice") {
		t.Fatalf("/main after expiry = %d, want 200 with the page", p.StatusCode)
	}
	newAT, newRT := c.cookie("gh_at"), c.cookie("gh_rt")
	if newAT == oldAT || newRT == oldRT || newAT == "" || newRT == "" {
		t.Fatalf("cookies not renewed")
	}
	if status, _ := env.api(t, "GET", "/api/me", newAT); status != 200 {
		t.Fatalf("renewed access token = %d", status)
	}
	if p := c.get("/main"); p.StatusCode != 200 || c.cookie("gh_rt") != newRT {
		t.Fatalf("a valid access cookie should not rotate the refresh token again (%d)", p.StatusCode)
	}

	// Someone replays the rotated refresh cookie: the whole session ends.
	thief := env.client(t)
	thief.setCookie("gh_rt", oldRT)
	if p := thief.get("/main"); p.StatusCode != 303 || p.Header.Get("Location") != "/login" {
		t.Fatalf("replayed refresh cookie = %d %s, want 303 /login", p.StatusCode, p.Header.Get("Location"))
	}
	if status, _ := env.api(t, "GET", "/api/me", newAT); status != 401 {
		t.Errorf("after a replay the session's access token = %d, want 401", status)
	}
	if p := c.get("/main"); p.StatusCode != 303 || p.Header.Get("Location") != "/login" {
		t.Errorf("the rightful browser after the replay = %d, want 303 /login", p.StatusCode)
	}
}
