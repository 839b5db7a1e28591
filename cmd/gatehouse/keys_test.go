package main

import (
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestCLIKeys rotates by hand while an instance runs: a second instance
// signs with the new key at once, and the first, never restarted, takes its
// tokens (it reloads the keys on the unknown kid).
func TestCLIKeys(t *testing.T) {
	env := testEnv(t, nil)
	out, _, err := runCLI(t, env, "", "keys", "list")
	if err != nil || strings.Count(out, "signing") != 1 || !strings.Contains(out, "every 720h0m0s") {
		t.Fatalf("keys list: %q, %v", out, err)
	}
	first := start(t, env)
	register(t, first.url, "kim", "kims password")

	out, _, err = runCLI(t, env, "", "keys", "rotate", "-now")
	if err != nil || !strings.Contains(out, "new signing key") || strings.Count(out, " retired ") != 1 {
		t.Fatalf("keys rotate -now: %q, %v", out, err)
	}
	second := start(t, env)
	p := login(t, second.url, "kim", "kims password")
	wantStatus(t, "first instance, token of the new key", call(t, "GET", first.url+"/api/me", p.access, nil), 200)

	out, _, err = runCLI(t, env, "", "keys", "rotate")
	_, table, _ := strings.Cut(out, "KID")
	if err != nil || strings.Count(table, " next ") != 1 || strings.Count(table, " signing ") != 1 || strings.Count(table, " retired ") != 1 {
		t.Fatalf("keys rotate: %q, %v", out, err)
	}
	r := call(t, "GET", first.url+"/.well-known/jwks.json", "", nil)
	if r.header.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("JWKS Cache-Control = %q", r.header.Get("Cache-Control"))
	}
}

func TestCLIKeysUsage(t *testing.T) {
	env := testEnv(t, nil)
	for _, args := range [][]string{{"keys"}, {"keys", "bogus"}, {"keys", "list", "x"}, {"keys", "rotate", "x"}, {"keys", "rotate", "-later"}} {
		if _, _, err := runCLI(t, env, "", args...); exitCode(err) != 2 {
			t.Errorf("%v: err %v, want a usage error (exit 2)", args, err)
		}
	}
	if _, stderr, err := runCLI(t, env, "", "keys", "-h"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "rotate") {
		t.Errorf("keys -h: %v, %q", err, stderr)
	}
	hs := testEnv(t, map[string]string{"JWT_SECRET": strings.Repeat("k", 32), "KEY_ROTATION_INTERVAL": "0"})
	if out, _, err := runCLI(t, hs, "", "keys", "list"); err != nil || !strings.Contains(out, "JWT_SECRET") {
		t.Errorf("keys list in HS256 mode: %q, %v, want the kid and a note naming JWT_SECRET", out, err)
	}
}

func TestServiceConfig(t *testing.T) {
	for _, tc := range []struct{ variable, value string }{
		{"KEY_ROTATION_INTERVAL", "5m"},
		{"KEY_ROTATION_INTERVAL", "often"},
		{"SERVICE_CLIENTS", "svc:tooshort-secret"[:len("svc:tooshort")]},
		{"SERVICE_CLIENTS", "svc-without-secret-0123456789"},
	} {
		var stdout, stderr strings.Builder
		err := run(context.Background(), nil, testEnv(t, map[string]string{tc.variable: tc.value}), strings.NewReader(""), &stdout, &stderr)
		if exitCode(err) != 3 || !strings.Contains(err.Error(), tc.variable) {
			t.Errorf("%s=%q: %v, want a configuration error naming it", tc.variable, tc.value, err)
		}
		if tc.variable == "SERVICE_CLIENTS" && strings.Contains(err.Error(), "tooshort") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	out, _, err := runCLI(t, testEnv(t, map[string]string{"KEY_ROTATION_INTERVAL": "0"}), "", "keys", "list")
	if err != nil || !strings.Contains(out, "rotation is off") {
		t.Errorf("KEY_ROTATION_INTERVAL=0: %q, %v", out, err)
	}
}
