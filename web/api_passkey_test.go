package web_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/webauthntest"
	"github.com/gatehouse/gatehouse/web"
)

// passkeyOrigin is the page origin the software authenticator claims; the
// test server is configured for it (the ceremonies never look at the
// address the test server listens on).
const passkeyOrigin = "http://localhost:8080"

// newPasskeyServer is a test server with passkeys on, whose service runs
// on clock c.
func newPasskeyServer(t *testing.T, c *clock) *httptest.Server {
	t.Helper()
	return newServerEdit(t, func(cfg *auth.Config, _ *web.Deps) {
		cfg.Passkeys = auth.PasskeyConfig{RPID: "localhost", Origins: []string{passkeyOrigin}}
		if c != nil {
			cfg.Now = c.Now
		}
	})
}

// registerPasskey runs the API registration for the bearer with a new
// software authenticator and returns it and the answer.
func registerPasskey(t *testing.T, base, bearer, name string) (*webauthntest.Authenticator, response) {
	t.Helper()
	a := webauthntest.New(passkeyOrigin)
	cred := beginPasskey(t, base, bearer, a)
	return a, call(t, "POST", base+"/api/mfa/passkeys/register/finish", bearer, map[string]any{"name": name, "credential": cred, "password": "correct horse battery"})
}

// beginPasskey begins a registration and lets a answer its options.
func beginPasskey(t *testing.T, base, bearer string, a *webauthntest.Authenticator) json.RawMessage {
	t.Helper()
	r := call(t, "POST", base+"/api/mfa/passkeys/register/begin", bearer, nil)
	if r.status != 200 {
		t.Fatalf("register/begin: %d %s", r.status, r.raw)
	}
	pk, _ := r.body["publicKey"].(map[string]any)
	rp, _ := pk["rp"].(map[string]any)
	if rp["id"] != "localhost" || pk["challenge"] == "" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("register/begin answered %s", r.raw)
	}
	cred, err := a.Create(r.raw)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func wantPasskeyProblem(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.body["code"] != code || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
}

func TestPasskeyAPI(t *testing.T) {
	c := &clock{t: time.Now()}
	srv := newPasskeyServer(t, c)
	base := srv.URL
	register(t, base, "alice", "correct horse battery")
	register(t, base, "bob", "correct horse battery")
	other := login(t, base, "alice", "correct horse battery")
	tok := login(t, base, "alice", "correct horse battery")
	bob := login(t, base, "bob", "correct horse battery")
	const pw = "correct horse battery"

	if r := call(t, "GET", base+"/api/mfa/passkeys", tok, nil); r.status != 200 || string(r.raw) != "{\"passkeys\":[]}\n" {
		t.Fatalf("empty list: %d %s", r.status, r.raw)
	}
	a := webauthntest.New(passkeyOrigin)
	cred := beginPasskey(t, base, tok, a)
	r := call(t, "POST", base+"/api/mfa/passkeys/register/finish", tok, map[string]any{"name": "Laptop", "credential": cred, "password": pw})
	if r.status != 201 {
		t.Fatalf("register/finish: %d %s", r.status, r.raw)
	}
	pk := r.body["passkey"].(map[string]any)
	id, _ := pk["id"].(string)
	if pk["name"] != "Laptop" || id == "" || pk["last_used_at"] != nil || pk["created_at"] == "" {
		t.Fatalf("passkey = %v", pk)
	}
	if r := call(t, "GET", base+"/api/me", other, nil); r.status != 401 {
		t.Fatalf("another session of alice after adding a passkey: %d, want 401", r.status)
	}
	if r := call(t, "GET", base+"/api/me", tok, nil); r.status != 200 {
		t.Fatalf("the session that added the passkey: %d", r.status)
	}
	list := call(t, "GET", base+"/api/mfa/passkeys", tok, nil)
	if ps := list.body["passkeys"].([]any); len(ps) != 1 || ps[0].(map[string]any)["id"] != id {
		t.Fatalf("list = %s", list.raw)
	}

	finish := base + "/api/mfa/passkeys/register/finish"
	item := base + "/api/mfa/passkeys/" + id
	tests := []struct {
		name, method, url, bearer string
		body                      any
		status                    int
		code                      string
	}{
		{"finish replayed", "POST", finish, tok, map[string]any{"credential": cred, "password": pw}, 400, "invalid_passkey"},
		{"finish by another user", "POST", finish, bob, map[string]any{"credential": beginPasskeyRaw(t, base, tok), "password": pw}, 400, "invalid_passkey"},
		{"finish without credential", "POST", finish, tok, map[string]any{"name": "x", "password": pw}, 400, "malformed_request"},
		{"finish without proof", "POST", finish, tok, map[string]any{"credential": cred}, 400, "malformed_request"},
		{"finish with code and password", "POST", finish, tok, map[string]any{"credential": cred, "code": "123456", "password": pw}, 400, "malformed_request"},
		{"finish with junk", "POST", finish, tok, map[string]any{"credential": "junk", "password": pw}, 400, "invalid_passkey"},
		{"finish, unknown field", "POST", finish, tok, map[string]any{"credential": cred, "password": pw, "admin": true}, 400, "malformed_request"},
		{"finish, name too long", "POST", finish, tok, map[string]any{"credential": cred, "password": pw, "name": string(make([]rune, 65))}, 400, "malformed_request"},
		{"delete without a body", "DELETE", item, tok, nil, 415, "unsupported_media_type"},
		{"delete without proof", "DELETE", item, tok, map[string]any{}, 400, "malformed_request"},
		{"delete with a wrong password", "DELETE", item, tok, map[string]any{"password": "wrong password!"}, 401, "invalid_credentials"},
		{"delete with a wrong code", "DELETE", item, tok, map[string]any{"code": "123456"}, 401, "invalid_second_factor"},
		{"begin without token", "POST", base + "/api/mfa/passkeys/register/begin", "", nil, 401, "invalid_token"},
		{"list without token", "GET", base + "/api/mfa/passkeys", "", nil, 401, "invalid_token"},
		{"rename another's", "PATCH", item, bob, map[string]any{"name": "mine"}, 404, "not_found"},
		{"delete another's", "DELETE", item, bob, map[string]any{"password": pw}, 404, "not_found"},
		{"rename without name", "PATCH", item, tok, map[string]any{}, 400, "malformed_request"},
		{"rename unknown", "PATCH", base + "/api/mfa/passkeys/nope", tok, map[string]any{"name": "x"}, 404, "not_found"},
		{"wrong method", "GET", item, tok, nil, 405, "method_not_allowed"},
		{"begin wrong method", "GET", base + "/api/mfa/passkeys/register/begin", tok, nil, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPasskeyProblem(t, call(t, tt.method, tt.url, tt.bearer, tt.body), tt.status, tt.code)
		})
	}

	if l := call(t, "GET", base+"/api/mfa/passkeys", tok, nil); len(l.body["passkeys"].([]any)) != 1 {
		t.Fatalf("after refused changes: %s, want the one passkey", l.raw)
	}

	t.Run("finish with a wrong password", func(t *testing.T) {
		cred := beginPasskey(t, base, tok, webauthntest.New(passkeyOrigin))
		wantPasskeyProblem(t, call(t, "POST", finish, tok, map[string]any{"credential": cred, "password": "wrong password!"}), 401, "invalid_credentials")
		if l := call(t, "GET", base+"/api/mfa/passkeys", tok, nil); len(l.body["passkeys"].([]any)) != 1 {
			t.Fatalf("after a wrong password: %s, want the one passkey", l.raw)
		}
	})
	t.Run("expired ceremony", func(t *testing.T) {
		cred := beginPasskey(t, base, tok, webauthntest.New(passkeyOrigin))
		c.Add(5*time.Minute + time.Second)
		wantPasskeyProblem(t, call(t, "POST", finish, tok, map[string]any{"credential": cred, "password": pw}), 400, "invalid_passkey")
	})
	t.Run("rename and delete", func(t *testing.T) {
		if r := call(t, "PATCH", item, tok, map[string]any{"name": "Work laptop"}); r.status != 204 {
			t.Fatalf("rename: %d %s", r.status, r.raw)
		}
		l := call(t, "GET", base+"/api/mfa/passkeys", tok, nil)
		if n := l.body["passkeys"].([]any)[0].(map[string]any)["name"]; n != "Work laptop" {
			t.Fatalf("name after rename = %v", n)
		}
		third := loginWithPasskey(t, base, "alice", "correct horse battery", a)
		if r := call(t, "DELETE", item, tok, map[string]any{"password": pw}); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		wantPasskeyProblem(t, call(t, "DELETE", item, tok, map[string]any{"password": pw}), 404, "not_found")
		if r := call(t, "GET", base+"/api/me", third, nil); r.status != 401 {
			t.Fatalf("another session after removing a passkey: %d, want 401", r.status)
		}
	})
}

// beginPasskeyRaw begins a registration for bearer and answers it with a
// new authenticator, for presenting elsewhere.
func beginPasskeyRaw(t *testing.T, base, bearer string) json.RawMessage {
	t.Helper()
	return beginPasskey(t, base, bearer, webauthntest.New(passkeyOrigin))
}

// TestPasskeyAPIOff: a server without passkeys answers 404 on their API.
func TestPasskeyAPIOff(t *testing.T) {
	srv := newServer(t)
	register(t, srv.URL, "alice", "correct horse battery")
	tok := login(t, srv.URL, "alice", "correct horse battery")
	wantPasskeyProblem(t, call(t, "POST", srv.URL+"/api/mfa/passkeys/register/begin", tok, nil), 404, "not_found")
	wantPasskeyProblem(t, call(t, "GET", srv.URL+"/api/mfa/passkeys", tok, nil), 404, "not_found")
}
