package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// sessionIDs returns the ids of the revoke forms on a main page, and the
// id of the one marked as this browser's.
func sessionIDs(t *testing.T, body string) (ids []string, current string) {
	t.Helper()
	re := regexp.MustCompile(`(?s)<li class="session( is-current)?">.*?action="/sessions/([^/"]+)/revoke"`)
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[2])
		if m[1] != "" {
			current = m[2]
		}
	}
	return ids, current
}

// TestPageSessions: two browsers see two sessions; one revokes the other,
// which is signed out at once; revoking one's own session logs out.
func TestPageSessions(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	a, b := env.client(t), env.client(t)
	a.register("alice", pw)
	b.login("alice", pw)
	ids, bCurrent := sessionIDs(t, b.get("/main").Body)
	if len(ids) != 2 || bCurrent == "" {
		t.Fatalf("b sees sessions %v, current %q; want 2 with one current", ids, bCurrent)
	}
	aID := ids[0]
	if aID == bCurrent {
		aID = ids[1]
	}
	p := b.submit("/main", "/sessions/"+aID+"/revoke", nil)
	if p.StatusCode != 303 || p.Header.Get("Location") != "/main" {
		t.Fatalf("revoke = %d %s", p.StatusCode, p.Header.Get("Location"))
	}
	if p := b.get("/main"); !strings.Contains(p.Body, "The session has been revoked.") {
		t.Errorf("no confirmation after revoking")
	}
	if p := a.get("/main"); p.StatusCode != 303 || p.Header.Get("Location") != "/login" {
		t.Fatalf("the revoked browser = %d %s, want 303 /login", p.StatusCode, p.Header.Get("Location"))
	}
	if p := a.get("/login"); !strings.Contains(p.Body, "Your session has ended.") {
		t.Errorf("the revoked browser is not told its session ended")
	}
	if ids, _ := sessionIDs(t, b.get("/main").Body); len(ids) != 1 {
		t.Errorf("after revoking, b sees %d sessions, want 1", len(ids))
	}
	p = b.submit("/main", "/sessions/"+bCurrent+"/revoke", nil)
	if p.StatusCode != 303 || p.Header.Get("Location") != "/login" {
		t.Fatalf("revoking one's own session = %d %s, want 303 /login", p.StatusCode, p.Header.Get("Location"))
	}
	if p := b.get("/main"); p.StatusCode != 303 {
		t.Errorf("still signed in after revoking one's own session")
	}
}

// TestPageLogoutEverywhere ends every session of the user.
func TestPageLogoutEverywhere(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	a, b := env.client(t), env.client(t)
	a.register("alice", pw)
	b.login("alice", pw)
	p := b.submit("/main", "/logout", url.Values{"scope": {"global"}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/login" {
		t.Fatalf("logout everywhere = %d %s", p.StatusCode, p.Header.Get("Location"))
	}
	if !strings.Contains(b.get("/login").Body, "You have been logged out everywhere.") {
		t.Errorf("no confirmation")
	}
	for name, c := range map[string]*client{"a": a, "b": b} {
		if p := c.get("/main"); p.StatusCode != 303 {
			t.Errorf("browser %s still signed in (%d)", name, p.StatusCode)
		}
	}
	c := env.client(t)
	c.login("alice", pw)
	if p := c.submit("/main", "/logout", url.Values{"scope": {"sideways"}}); p.StatusCode != 400 {
		t.Errorf("unknown scope = %d, want 400", p.StatusCode)
	}
}

// TestPagePasswordChange changes the password: the other session ends,
// this one goes on, and only the new password logs in.
func TestPagePasswordChange(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	a, b := env.client(t), env.client(t)
	a.register("alice", pw)
	b.login("alice", pw)
	const next = "a brand new passphrase"
	p := a.submit("/main", "/password", url.Values{"current_password": {pw}, "new_password": {next}})
	if p.StatusCode != 303 || p.Header.Get("Location") != "/main" {
		t.Fatalf("change password = %d %s %s", p.StatusCode, p.Header.Get("Location"), p.Body)
	}
	if p := a.get("/main"); p.StatusCode != 200 || !strings.Contains(p.Body, "Your password has been changed.") {
		t.Errorf("this session after the change = %d, or no confirmation", p.StatusCode)
	}
	if p := b.get("/main"); p.StatusCode != 303 {
		t.Errorf("the other session survived the change (%d)", p.StatusCode)
	}
	c := env.client(t)
	if p := c.submit("/login", "/login", url.Values{"username": {"alice"}, "password": {pw}}); p.StatusCode != 401 {
		t.Errorf("old password = %d, want 401", p.StatusCode)
	}
	c.login("alice", next)
}

// TestPageWrongMethodAndUnknownPath: browsers get pages, API clients keep
// getting problem documents.
func TestPageWrongMethodAndUnknownPath(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	c := env.client(t)
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/login", "GET, HEAD, POST"},
		{"DELETE", "/main", "GET, HEAD"},
		{"GET", "/logout", "POST"},
		{"GET", "/password", "POST"},
		{"GET", "/sessions/x/revoke", "POST"},
	} {
		req, _ := http.NewRequest(tc.method, env.URL+tc.path, nil)
		req.Header.Set("Accept", "text/html")
		p := c.do(req)
		if p.StatusCode != 405 || p.Header.Get("Allow") != tc.allow || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s %s = %d Allow %q %s", tc.method, tc.path, p.StatusCode, p.Header.Get("Allow"), p.Header.Get("Content-Type"))
		}
	}
	if p := c.get("/nowhere"); p.StatusCode != 404 || !strings.Contains(p.Body, "There is no page at this address.") {
		t.Errorf("browser 404 = %d", p.StatusCode)
	}
	for _, path := range []string{"/api/nowhere", "/nowhere"} {
		req, _ := http.NewRequest("GET", env.URL+path, nil)
		req.Header.Set("Accept", "application/json")
		if path == "/api/nowhere" {
			req.Header.Set("Accept", "text/html")
		}
		p := c.do(req)
		if p.StatusCode != 404 || p.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s = %d %s, want a problem document", path, p.StatusCode, p.Header.Get("Content-Type"))
		}
	}
}
