package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPageCSRF posts every form without the right token, or from another
// site, and checks the 403 page and that nothing happened.
func TestPageCSRF(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	alice := env.client(t)
	alice.register("alice", pw)
	mainToken := alice.token("/main")

	anon := env.client(t)
	anonToken := anon.token("/login")

	// bob's token is valid for bob's cookie and session, not alice's.
	bob := env.client(t)
	bob.register("bob", pw)
	bobToken := bob.token("/main")

	creds := func(tok string) url.Values {
		v := url.Values{"username": {"alice"}, "password": {pw}}
		if tok != "-" {
			v.Set("csrf_token", tok)
		}
		return v
	}
	withTok := func(tok string, kv ...string) url.Values {
		v := url.Values{}
		if tok != "-" {
			v.Set("csrf_token", tok)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}
	sameSite := map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://sub.example"}
	oldBrowser := map[string]string{"Sec-Fetch-Site": "", "Origin": "http://evil.example"}
	tests := []struct {
		name   string
		c      *client
		path   string
		form   url.Values
		header map[string]string
	}{
		{name: "login without token", c: anon, path: "/login", form: creds("-")},
		{name: "login with wrong token", c: anon, path: "/login", form: creds("AAAA" + anonToken[4:])},
		{name: "login with empty token", c: anon, path: "/login", form: creds("")},
		{name: "login cross-site with a good token", c: anon, path: "/login", form: creds(anonToken), header: crossSite},
		{name: "login from a sibling site", c: anon, path: "/login", form: creds(anonToken), header: sameSite},
		{name: "login with foreign Origin and no Sec-Fetch-Site", c: anon, path: "/login", form: creds(anonToken), header: oldBrowser},
		{name: "register without token", c: anon, path: "/register", form: url.Values{"username": {"carol"}, "password": {pw}}},
		{name: "logout without token", c: alice, path: "/logout", form: withTok("-")},
		{name: "logout with the anonymous token", c: alice, path: "/logout", form: withTok(anonToken)},
		{name: "logout with another user's token", c: alice, path: "/logout", form: withTok(bobToken)},
		{name: "logout cross-site", c: alice, path: "/logout", form: withTok(mainToken, "scope", "global"), header: crossSite},
		{name: "password without token", c: alice, path: "/password", form: withTok("-", "current_password", pw, "new_password", "something else entirely")},
		{name: "password cross-site", c: alice, path: "/password", form: withTok(mainToken, "current_password", pw, "new_password", "something else entirely"), header: crossSite},
		{name: "revoke with wrong token", c: alice, path: "/sessions/x/revoke", form: withTok(strings.ToUpper(mainToken))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.c.post(tt.path, tt.form, tt.header)
			if p.StatusCode != http.StatusForbidden {
				t.Fatalf("status = %d, want 403; Location %q", p.StatusCode, p.Header.Get("Location"))
			}
			if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type = %q, want a page", ct)
			}
			if !strings.Contains(p.Body, "This form was refused") {
				t.Errorf("the page does not say why")
			}
			if len(p.Cookies()) > 0 && tt.path == "/login" {
				for _, ck := range p.Cookies() {
					if ck.Name == "gh_at" {
						t.Errorf("a refused login set a session cookie")
					}
				}
			}
		})
	}
	// Nothing happened: alice and bob are still signed in, with their
	// passwords, and carol does not exist.
	for _, c := range []*client{alice, bob} {
		if p := c.get("/main"); p.StatusCode != 200 {
			t.Errorf("a refused form ended a session (%d)", p.StatusCode)
		}
	}
	alice2 := env.client(t)
	alice2.login("alice", pw)
	if p := anon.submit("/login", "/login", url.Values{"username": {"carol"}, "password": {pw}}); p.StatusCode != 401 {
		t.Errorf("carol was registered by a refused form (login = %d)", p.StatusCode)
	}
	// And the same forms with their tokens work.
	if p := alice.post("/logout", withTok(mainToken), nil); p.StatusCode != 303 {
		t.Errorf("logout with its token = %d", p.StatusCode)
	}
}

// TestPageCSRFTokenPerBrowser: a token is tied to the browser's cookie, so
// one taken from another browser does not verify.
func TestPageCSRFTokenPerBrowser(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	a, b := env.client(t), env.client(t)
	tokA := a.token("/login")
	b.token("/login") // b gets its own cookie
	form := url.Values{"username": {"alice"}, "password": {pw}, "csrf_token": {tokA}}
	if p := b.post("/register", form, nil); p.StatusCode != 403 {
		t.Fatalf("another browser's token = %d, want 403", p.StatusCode)
	}
	if p := a.post("/register", form, nil); p.StatusCode != 303 {
		t.Fatalf("the browser's own token = %d, want 303", p.StatusCode)
	}
}
