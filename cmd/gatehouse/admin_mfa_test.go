package main

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// TestCLIResetMFA: an operator removes the second factor of a user who
// lost it; the user's sessions end and the password alone logs in again.
func TestCLIResetMFA(t *testing.T) {
	env := testEnv(t, nil)
	runJSON(t, env, "alices password\n", "user", "add", "alice")
	g := start(t, env)
	p := login(t, g.url, "alice", "alices password")

	if v := runJSON(t, env, "", "user", "reset-mfa", "alice"); v["removed"] != false {
		t.Fatalf("reset-mfa without a factor = %v", v)
	}
	r := call(t, "POST", g.url+"/api/mfa/totp", p.access, nil)
	secret, _ := r.body["secret"].(string)
	code, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatalf("enrol: %d %s: %v", r.status, r.raw, err)
	}
	if r := call(t, "POST", g.url+"/api/mfa/totp/confirm", p.access, map[string]string{"code": code, "password": "alices password"}); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.raw)
	}
	wantProblem(t, "login with TOTP on", call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "alice", "password": "alices password"}), 403, "second_factor_required")

	v := runJSON(t, env, "", "user", "reset-mfa", "alice")
	if v["removed"] != true || v["revoked_sessions"] != float64(1) {
		t.Fatalf("reset-mfa = %v", v)
	}
	waitStatus(t, g.url+"/api/me", p.access, 401)
	login(t, g.url, "alice", "alices password")
}
