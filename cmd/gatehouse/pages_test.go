package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// pageClient keeps cookies and does not follow redirects.
func pageClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func formToken(t *testing.T, c *http.Client, page string) string {
	t.Helper()
	resp, err := c.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := csrfRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("GET %s = %d without a CSRF token", page, resp.StatusCode)
	}
	return string(m[1])
}

// TestPagesAcrossInstances loads the register form from one instance and
// sends it to another on the same store, as behind a load balancer, and
// after a restart: the CSRF key is the same everywhere.
func TestPagesAcrossInstances(t *testing.T) {
	for _, mode := range []string{"EdDSA", "HS256"} {
		t.Run(mode, func(t *testing.T) {
			vars := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "g.db")}
			if mode == "HS256" {
				vars["JWT_SECRET"] = strings.Repeat("k", 32)
			}
			env := testEnv(t, vars)
			g1 := start(t, env)
			c := pageClient()
			tok := formToken(t, c, g1.url+"/register")
			g2 := start(t, env) // cookies for 127.0.0.1 go to every port
			form := url.Values{"username": {"nina"}, "password": {"ninas password"}, "csrf_token": {tok}}
			resp, err := c.PostForm(g2.url+"/register", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/main" {
				t.Fatalf("form from instance 1 sent to instance 2 = %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			// The session works on both.
			for _, g := range []*instance{g1, g2} {
				resp, err := c.Get(g.url + "/main")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s/main = %d", g.url, resp.StatusCode)
				}
			}
		})
	}
}

// TestCORSConfig opens the API to a configured origin and no other.
func TestCORSConfig(t *testing.T) {
	g := start(t, testEnv(t, map[string]string{"CORS_ALLOWED_ORIGINS": "http://localhost:5173, https://App.Example.com/"}))
	for origin, want := range map[string]string{
		"http://localhost:5173":   "http://localhost:5173",
		"https://app.example.com": "https://app.example.com",
		"http://evil.example":     "",
	} {
		req, _ := http.NewRequest("OPTIONS", g.url+"/api/me", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want || resp.StatusCode != 204 {
			t.Errorf("preflight from %s = %d Allow-Origin %q, want 204 %q", origin, resp.StatusCode, got, want)
		}
	}
}
