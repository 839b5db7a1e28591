package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/webauthntest"
)

var (
	optionsRE   = regexp.MustCompile(`data-options="([^"]+)"`)
	passkeyIDRE = regexp.MustCompile(`action="/passkeys/([^/"]+)/delete"`)
)

// TestPasskeyPages adds, renames and removes a passkey through the main
// page's forms, with the software authenticator standing in for the
// browser's script.
func TestPasskeyPages(t *testing.T) {
	env := newPageEnv(t, pageOpts{passkeys: true})
	c := env.client(t)
	c.register("alice", "correct horse battery")
	other := env.client(t)
	other.login("alice", "correct horse battery")

	main := c.get("/main")
	if !strings.Contains(main.Body, `id="passkeys"`) || !strings.Contains(main.Body, `action="/passkeys/register"`) ||
		!strings.Contains(main.Body, `src="/static/passkeys.js?v=`) {
		t.Fatalf("/main has no passkey section: %s", main.Body)
	}

	p := c.submit("/main", "/passkeys/register", url.Values{"name": {"Laptop"}})
	m := optionsRE.FindStringSubmatch(p.Body)
	if p.StatusCode != 200 || m == nil || !strings.Contains(p.Body, `id="passkey-create"`) {
		t.Fatalf("POST /passkeys/register: %d, no options: %s", p.StatusCode, p.Body)
	}
	a := webauthntest.New(env.LocalURL)
	cred, err := a.Create([]byte(html.UnescapeString(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	tok := csrfRE.FindStringSubmatch(p.Body)[1]
	finish := url.Values{"csrf_token": {tok}, "name": {"Laptop"}, "credential": {string(cred)}, "password": {"wrong password!"}}
	if r := c.post("/passkeys/register/finish", finish, nil); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, "That password is wrong.") {
		t.Fatalf("finish with a wrong password: %d %s", r.StatusCode, r.Body)
	}
	finish.Del("password")
	if r := c.post("/passkeys/register/finish", finish, nil); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("finish without the password: %d %s", r.StatusCode, r.Body)
	}
	finish.Set("password", "correct horse battery")

	// Without the form's token, or from another site, it is refused.
	noToken := url.Values{"name": {"Laptop"}, "credential": {string(cred)}}
	if r := c.post("/passkeys/register/finish", noToken, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("finish without a CSRF token: %d", r.StatusCode)
	}
	if r := c.post("/passkeys/register/finish", finish, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("finish from another site: %d", r.StatusCode)
	}

	r := c.post("/passkeys/register/finish", finish, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/main" {
		t.Fatalf("finish: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	main = c.get("/main")
	if !strings.Contains(main.Body, "Your passkey has been added.") || !strings.Contains(main.Body, `<p class="device passkey-name">Laptop</p>`) {
		t.Fatalf("/main after adding: %s", main.Body)
	}
	if st := other.get("/main"); st.StatusCode != http.StatusSeeOther {
		t.Fatalf("another session of alice after adding a passkey: %d, want a redirect to /login", st.StatusCode)
	}

	// The same answer again: the ceremony is spent.
	finish.Set("csrf_token", c.token("/main"))
	if r := c.post("/passkeys/register/finish", finish, nil); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "begin again") {
		t.Fatalf("finish replayed: %d %s", r.StatusCode, r.Body)
	}

	id := passkeyIDRE.FindStringSubmatch(main.Body)[1]
	if r := c.submit("/main", "/passkeys/"+id+"/rename", url.Values{"name": {"Work laptop"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", r.StatusCode, r.Body)
	}
	if r := c.submit("/main", "/passkeys/"+id+"/rename", url.Values{"name": {"bad\x01name"}}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("rename to a bad name: %d", r.StatusCode)
	}
	if !strings.Contains(c.get("/main").Body, ">Work laptop</p>") {
		t.Fatal("the rename did not show")
	}
	mallory := env.client(t)
	mallory.register("mallory", "correct horse battery")
	if r := mallory.submit("/main", "/passkeys/"+id+"/delete", url.Values{"password": {"correct horse battery"}}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("mallory removing alice's passkey: %d", r.StatusCode)
	}
	if r := c.submit("/main", "/passkeys/"+id+"/delete", nil); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("delete without the password: %d %s", r.StatusCode, r.Body)
	}
	if r := c.submit("/main", "/passkeys/"+id+"/delete", url.Values{"password": {"wrong password!"}}); r.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(r.Body, "That password is wrong.") || !strings.Contains(r.Body, "Work laptop") {
		t.Fatalf("delete with a wrong password: %d %s", r.StatusCode, r.Body)
	}
	if r := c.submit("/main", "/passkeys/"+id+"/delete", url.Values{"password": {"correct horse battery"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	if main := c.get("/main"); !strings.Contains(main.Body, "The passkey has been removed.") || strings.Contains(main.Body, "Work laptop") {
		t.Fatalf("/main after removing: %s", main.Body)
	}
}

// TestPasskeyPagesOff: without passkeys the main page has no section
// and loads no script.
func TestPasskeyPagesOff(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	c := env.client(t)
	c.register("alice", "correct horse battery")
	if main := c.get("/main"); strings.Contains(main.Body, "passkey") || strings.Contains(main.Body, "<script") {
		t.Fatalf("/main mentions passkeys without them: %s", main.Body)
	}
}
