package web_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/webauthntest"
	"github.com/gatehouse/gatehouse/web"
)

// newPasskeyMFAEnv is newMFAEnv with passkeys on.
func newPasskeyMFAEnv(t *testing.T, th auth.Throttling) *mfaEnv {
	t.Helper()
	clk := &clock{t: time.Now()}
	srv, svc := newServerOpts(t, nil, func(c *auth.Config, _ *web.Deps) {
		c.Now, c.Throttling = clk.Now, th
		// Ceremonies live a minute, login challenges five: one can
		// expire without the other.
		c.Passkeys = auth.PasskeyConfig{RPID: "localhost", Origins: []string{passkeyOrigin}, Timeout: time.Minute}
	})
	return &mfaEnv{t: t, base: srv.URL, clk: clk, svc: svc}
}

// loginWithPasskey logs in through both steps of the API with a's passkey
// and returns the access token.
func loginWithPasskey(t *testing.T, base, username, password string, a *webauthntest.Authenticator) string {
	t.Helper()
	r := call(t, "POST", base+"/api/login", "", map[string]string{"username": username, "password": password})
	ch, _ := r.body["challenge"].(string)
	if r.status != 403 || ch == "" {
		t.Fatalf("login %s: %d %s, want a challenge", username, r.status, r.raw)
	}
	opts := call(t, "POST", base+"/api/login/second-factor/passkey", "", map[string]string{"challenge": ch})
	resp, err := a.Get(opts.raw)
	if err != nil {
		t.Fatalf("options %d %s: %v", opts.status, opts.raw, err)
	}
	r = call(t, "POST", base+"/api/login/second-factor", "", map[string]any{"challenge": ch, "passkey": json.RawMessage(resp)})
	if r.status != 200 {
		t.Fatalf("second factor: %d %s", r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

// passkeyOptions asks for the assertion options of a login challenge.
func (e *mfaEnv) passkeyOptions(challenge string) response {
	e.t.Helper()
	return call(e.t, "POST", e.base+"/api/login/second-factor/passkey", "", map[string]string{"challenge": challenge})
}

// assertion begins the passkey step of challenge and lets a answer it.
func (e *mfaEnv) assertion(challenge string, a *webauthntest.Authenticator) json.RawMessage {
	e.t.Helper()
	r := e.passkeyOptions(challenge)
	if r.status != 200 {
		e.t.Fatalf("second-factor/passkey: %d %s", r.status, r.raw)
	}
	resp, err := a.Get(r.raw)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func (e *mfaEnv) secondPasskey(challenge string, assertion json.RawMessage) response {
	e.t.Helper()
	return call(e.t, "POST", e.base+"/api/login/second-factor", "", map[string]any{"challenge": challenge, "passkey": assertion})
}

// TestPasskeyLogin: a user with a passkey logs in with the password and
// then the passkey, and gets amr [pwd hwk]; every wrong answer is refused.
func TestPasskeyLogin(t *testing.T) {
	e := newPasskeyMFAEnv(t, auth.Throttling{})
	base := e.base
	register(t, base, "alice", "correct horse battery")
	register(t, base, "bob", "correct horse battery")
	aliceKey, r := registerPasskey(t, base, login(t, base, "alice", "correct horse battery"), "Laptop")
	wantStatus(t, r, 201)
	bobKey, r := registerPasskey(t, base, login(t, base, "bob", "correct horse battery"), "Bob's")
	wantStatus(t, r, 201)

	_, r = e.login("alice", "correct horse battery")
	wantMFAProblem(t, r, 403, gatehouse.ESECONDFACTORREQUIRED)
	if m, _ := r.body["methods"].([]any); len(m) != 1 || m[0] != "passkey" {
		t.Fatalf("methods = %v, want [passkey] (passkeys only)", r.body["methods"])
	}
	ch := r.body["challenge"].(string)
	ok := e.secondPasskey(ch, e.assertion(ch, aliceKey))
	wantStatus(t, ok, 200)
	p := pairOf(ok)
	if amr := amrOf(t, p.access); !slices.Equal(amr, []string{"pwd", "hwk"}) {
		t.Fatalf("amr = %v, want [pwd hwk]", amr)
	}
	if r := call(t, "GET", base+"/api/me", p.access, nil); r.status != 200 {
		t.Fatalf("/api/me with the passkey login's token: %d", r.status)
	}
	refreshed := call(t, "POST", base+"/api/token/refresh", "", map[string]string{"refresh_token": p.refresh})
	if amr := amrOf(t, pairOf(refreshed).access); !slices.Equal(amr, []string{"pwd", "hwk"}) {
		t.Fatalf("amr after refresh = %v", amr)
	}
	t.Run("challenge used twice", func(t *testing.T) {
		wantMFAProblem(t, e.secondPasskey(ch, e.assertionOr(ch, aliceKey)), 401, gatehouse.EINVALIDCHALLENGE)
	})

	tests := []struct {
		name   string
		answer func(ch string) json.RawMessage
	}{
		{"another user's passkey", func(ch string) json.RawMessage { return e.assertion(ch, bobKey) }},
		{"unknown credential", func(ch string) json.RawMessage {
			k := webauthntest.New(passkeyOrigin)
			k.UserHandle = aliceKey.UserHandle
			return e.assertion(ch, k)
		}},
		{"replayed answer", func(string) json.RawMessage {
			first := e.challenge("alice", "correct horse battery")
			resp := e.assertion(first, aliceKey)
			wantStatus(t, e.secondPasskey(first, resp), 200)
			return resp // answered for another challenge, and spent
		}},
		{"old sign count", func(ch string) json.RawMessage {
			aliceKey.SignCount -= 2 // Get adds one: below the stored count
			defer func() { aliceKey.SignCount += 3 }()
			return e.assertion(ch, aliceKey)
		}},
		{"wrong origin", func(ch string) json.RawMessage {
			defer func(o string) { aliceKey.Origin = o }(aliceKey.Origin)
			aliceKey.Origin = "http://evil.example"
			return e.assertion(ch, aliceKey)
		}},
		{"expired ceremony", func(ch string) json.RawMessage {
			resp := e.assertion(ch, aliceKey)
			e.clk.Add(time.Minute + time.Second) // the ceremony's life, not the challenge's
			return resp
		}},
		{"not JSON of a credential", func(string) json.RawMessage { return json.RawMessage(`{"id":"x"}`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := e.challenge("alice", "correct horse battery")
			r := e.secondPasskey(ch, tt.answer(ch))
			wantMFAProblem(t, r, 401, gatehouse.EINVALIDSECONDFACTOR)
			// A wrong answer keeps the challenge for another try.
			wantStatus(t, e.secondPasskey(ch, e.assertion(ch, aliceKey)), 200)
		})
	}

	t.Run("options need a live challenge", func(t *testing.T) {
		wantMFAProblem(t, e.passkeyOptions("ghc_"+string(make([]byte, 43))), 401, gatehouse.EINVALIDCHALLENGE)
		wantMFAProblem(t, e.passkeyOptions("nonsense"), 401, gatehouse.EINVALIDCHALLENGE)
		wantMFAProblem(t, call(t, "POST", base+"/api/login/second-factor/passkey", "", map[string]string{}), 400, gatehouse.EMALFORMED)
	})
	t.Run("two proofs", func(t *testing.T) {
		ch := e.challenge("alice", "correct horse battery")
		r := call(t, "POST", base+"/api/login/second-factor", "", map[string]any{"challenge": ch, "passkey": e.assertion(ch, aliceKey), "totp_code": "123456"})
		wantMFAProblem(t, r, 400, gatehouse.EMALFORMED)
	})
	t.Run("the failures are audited", func(t *testing.T) {
		events, err := e.svc.Store().AuditEvents(t.Context(), gatehouse.AuditFilter{Types: []string{gatehouse.AuditSecondFactorFailed}})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) < 5 || events[0].Reason != auth.MethodPasskey {
			t.Fatalf("second_factor_failed events: %d, newest reason %q", len(events), events[0].Reason)
		}
	})
}

// assertionOr is assertion, but a refusal of the options (the challenge is
// gone) gives an answer signed over nothing that is asked.
func (e *mfaEnv) assertionOr(challenge string, a *webauthntest.Authenticator) json.RawMessage {
	e.t.Helper()
	r := e.passkeyOptions(challenge)
	if r.status == 200 {
		resp, _ := a.Get(r.raw)
		return resp
	}
	resp, _ := a.Sign("localhost", "bm90IGFza2Vk")
	return resp
}

// TestPasskeyAndTOTPLogin: a user with both factors is offered all of
// them, and either one opens the session with its own amr.
func TestPasskeyAndTOTPLogin(t *testing.T) {
	e := newPasskeyMFAEnv(t, auth.Throttling{})
	register(t, e.base, "carol", "correct horse battery")
	access := login(t, e.base, "carol", "correct horse battery")
	key, r := registerPasskey(t, e.base, access, "Phone")
	wantStatus(t, r, 201)
	secret, _ := e.enable(access, "correct horse battery")

	_, r = e.login("carol", "correct horse battery")
	wantMFAProblem(t, r, 403, gatehouse.ESECONDFACTORREQUIRED)
	var methods []string
	for _, m := range r.body["methods"].([]any) {
		methods = append(methods, m.(string))
	}
	if !slices.Equal(methods, []string{"totp", "recovery_code", "passkey"}) {
		t.Fatalf("methods = %v", methods)
	}
	ch := r.body["challenge"].(string)
	ok := e.secondPasskey(ch, e.assertion(ch, key))
	wantStatus(t, ok, 200)
	if amr := amrOf(t, pairOf(ok).access); !slices.Equal(amr, []string{"pwd", "hwk"}) {
		t.Fatalf("amr = %v", amr)
	}
	ch = e.challenge("carol", "correct horse battery")
	ok = e.second(map[string]string{"challenge": ch, "totp_code": e.code(secret)})
	wantStatus(t, ok, 200)
	if amr := amrOf(t, pairOf(ok).access); !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Fatalf("amr = %v", amr)
	}
}

// TestPasskeyRemovedLoginIsPasswordOnly: removing the last passkey (and no
// TOTP) brings back the one-step login of API.md.
func TestPasskeyRemovedLoginIsPasswordOnly(t *testing.T) {
	e := newPasskeyMFAEnv(t, auth.Throttling{})
	register(t, e.base, "dave", "correct horse battery")
	access := login(t, e.base, "dave", "correct horse battery")
	_, r := registerPasskey(t, e.base, access, "Key")
	wantStatus(t, r, 201)
	id := r.body["passkey"].(map[string]any)["id"].(string)
	if r := call(t, "DELETE", e.base+"/api/mfa/passkeys/"+id, access, map[string]string{"password": "correct horse battery"}); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	p, r := e.login("dave", "correct horse battery")
	wantStatus(t, r, 200)
	if amr := amrOf(t, p.access); !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("amr = %v", amr)
	}
}

// TestPasskeyChangesWithTOTPCode: a user with TOTP may prove themselves
// with a fresh code instead of the password to add or remove a passkey.
func TestPasskeyChangesWithTOTPCode(t *testing.T) {
	e := newPasskeyMFAEnv(t, auth.Throttling{})
	register(t, e.base, "erin", "correct horse battery")
	access := login(t, e.base, "erin", "correct horse battery")
	secret, _ := e.enable(access, "correct horse battery")
	cred := beginPasskey(t, e.base, access, webauthntest.New(passkeyOrigin))
	r := call(t, "POST", e.base+"/api/mfa/passkeys/register/finish", access, map[string]any{"credential": cred, "code": e.code(secret)})
	wantStatus(t, r, 201)
	id := r.body["passkey"].(map[string]any)["id"].(string)
	e.clk.Add(30 * time.Second) // that code is spent
	wantStatus(t, call(t, "DELETE", e.base+"/api/mfa/passkeys/"+id, access, map[string]string{"code": e.code(secret)}), 204)
}
