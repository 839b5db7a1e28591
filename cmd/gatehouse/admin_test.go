package main

import (
	"encoding/json"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

// runJSON runs a command with --json and decodes its output.
func runJSON(t *testing.T, env func(string) string, stdin string, args ...string) map[string]any {
	t.Helper()
	out, stderr, err := runCLI(t, env, stdin, append(args, "--json")...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v --json: not JSON: %q", args, out)
	}
	return v
}

// waitStatus polls until GET path with the token answers want (the
// server learns of a CLI's revocation through the store's feed).
func waitStatus(t *testing.T, url, token string, want int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		r := call(t, "GET", url, token, nil)
		if r.status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d, want %d within 3 s", url, r.status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCLIAdmin(t *testing.T) {
	env := testEnv(t, nil)
	v := runJSON(t, env, "alices password\n", "user", "add", "Alice")
	if u := v["user"].(map[string]any); u["username"] != "Alice" || u["locked_at"] != nil {
		t.Fatalf("user add --json = %v", v)
	}
	g := start(t, env)
	p := login(t, g.url, "alice", "alices password")

	v = runJSON(t, env, "", "sessions", "list", "alice")
	if s := v["sessions"].([]any); len(s) != 1 {
		t.Fatalf("sessions list = %v", v)
	}
	v = runJSON(t, env, "", "user", "show", "--json", "alice") // flags before or after the name
	if u := v["user"].(map[string]any); u["active_sessions"] != float64(1) || u["last_login_at"] == nil {
		t.Fatalf("user show = %v", v)
	}

	// Locking revokes the session at once on the running server (through
	// the store's revocation feed) and refuses the right password like a
	// wrong one.
	v = runJSON(t, env, "", "user", "lock", "alice")
	if v["revoked_sessions"] != float64(1) || v["user"].(map[string]any)["locked_at"] == nil {
		t.Fatalf("user lock = %v", v)
	}
	waitStatus(t, g.url+"/api/me", p.access, 401)
	wantProblem(t, "locked login", call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "alice", "password": "alices password"}), 401, "invalid_credentials")
	out, _, err := runCLI(t, env, "", "user", "list")
	if err != nil || !strings.Contains(out, "since ") {
		t.Errorf("user list does not show the lock: %q %v", out, err)
	}
	runJSON(t, env, "", "user", "unlock", "alice")
	p = login(t, g.url, "alice", "alices password")
	login(t, g.url, "alice", "alices password")

	v = runJSON(t, env, "", "sessions", "revoke", "alice", "--all")
	if ids := v["revoked"].([]any); len(ids) != 2 {
		t.Fatalf("sessions revoke --all = %v", v)
	}
	waitStatus(t, g.url+"/api/me", p.access, 401)

	v = runJSON(t, env, "", "keys", "list")
	if keys := v["keys"].([]any); v["algorithm"] != "EdDSA" || len(keys) != 1 || keys[0].(map[string]any)["state"] != "signing" {
		t.Fatalf("keys list = %v", v)
	}
	if strings.Contains(strings.ToLower(mustRun(t, env, "keys", "list", "--json")), "private") {
		t.Error("keys list shows something private")
	}

	g.stop() // flushes the server's audit trail
	v = runJSON(t, env, "", "audit", "--user", "alice", "--limit", "50")
	var types []string
	for _, e := range v["events"].([]any) {
		types = append(types, e.(map[string]any)["type"].(string))
	}
	for _, want := range []string{"registered", "login", "user_locked", "login_failed", "user_unlocked", "session_revoked"} {
		if !slices.Contains(types, want) {
			t.Errorf("audit --user alice lacks %s: %v", want, types)
		}
	}
	v = runJSON(t, env, "", "audit", "--type", "login_failed,user_locked", "--since", "1h")
	for _, e := range v["events"].([]any) {
		ev := e.(map[string]any)
		if ev["type"] != "login_failed" && ev["type"] != "user_locked" {
			t.Errorf("audit --type gave %v", ev)
		}
		if ev["type"] == "login_failed" && ev["reason"] != "locked" {
			t.Errorf("the locked login's reason = %v, want locked", ev["reason"])
		}
	}
	if len(v["events"].([]any)) != 2 {
		t.Errorf("audit --type login_failed,user_locked = %v", v)
	}
	out = mustRun(t, env, "audit", "--limit", "3")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") {
		t.Errorf("audit --limit 3 text = %q", out)
	}
}

func mustRun(t *testing.T, env func(string) string, args ...string) string {
	t.Helper()
	out, stderr, err := runCLI(t, env, "", args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr)
	}
	return out
}

// TestCLIExitCodes: each kind of failure has its own exit code.
func TestCLIExitCodes(t *testing.T) {
	env := testEnv(t, nil)
	mustRun(t, env, "migrate")
	if _, _, err := runCLI(t, env, "nora's password\n", "user", "add", "nora"); err != nil {
		t.Fatal(err)
	}
	down := testEnv(t, map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x?sslmode=disable"})
	tests := []struct {
		name  string
		env   func(string) string
		stdin string
		args  []string
		code  int
	}{
		{"unknown user", env, "", []string{"user", "show", "nobody"}, exitNotFound},
		{"lock unknown user", env, "", []string{"user", "lock", "nobody"}, exitNotFound},
		{"unknown session", env, "", []string{"sessions", "revoke", "nora", "no-such-session"}, exitNotFound},
		{"username taken", env, "another password\n", []string{"user", "add", "NORA"}, exitConflict},
		{"weak password", env, "short\n", []string{"user", "add", "oscar"}, exitInvalid},
		{"invalid username", env, "a good password\n", []string{"user", "add", "o"}, exitInvalid},
		{"database down", down, "", []string{"user", "list"}, exitUnavailable},
		{"bad config", testEnv(t, map[string]string{"BCRYPT_COST": "99"}), "", []string{"user", "list"}, exitConfig},
		{"unknown subcommand", env, "", []string{"user", "frob"}, exitUsage},
		{"no subcommand", env, "", []string{"sessions"}, exitUsage},
		{"too many args", env, "", []string{"user", "show", "a", "b"}, exitUsage},
		{"revoke neither id nor all", env, "", []string{"sessions", "revoke", "nora"}, exitUsage},
		{"revoke both id and all", env, "", []string{"sessions", "revoke", "nora", "x", "--all"}, exitUsage},
		{"unknown type", env, "", []string{"audit", "--type", "nonsense"}, exitUsage},
		{"bad since", env, "", []string{"audit", "--since", "yesterday"}, exitUsage},
		{"bad limit", env, "", []string{"audit", "--limit", "0"}, exitUsage},
		{"unknown flag", env, "", []string{"keys", "list", "--frob"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, tt.env, tt.stdin, tt.args...)
			if got := exitCode(err); got != tt.code {
				t.Errorf("%v: exit %d (%v), want %d", tt.args, got, err, tt.code)
			}
		})
	}
}

// TestCLIAdminHelp: every admin subcommand answers -h with its usage.
func TestCLIAdminHelp(t *testing.T) {
	env := testEnv(t, nil)
	var cmds [][]string
	for _, g := range []struct {
		name string
		cmds []command
	}{{"user", userCommands}, {"sessions", sessionsCommands}, {"keys", keysCommands}} {
		cmds = append(cmds, []string{g.name, "-h"})
		for _, c := range g.cmds {
			cmds = append(cmds, []string{g.name, c.name, "-h"})
		}
	}
	cmds = append(cmds, []string{"audit", "-h"})
	for _, args := range cmds {
		_, stderr, err := runCLI(t, env, "", args...)
		if !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 || !strings.Contains(stderr, "usage: gatehouse "+args[0]) {
			t.Errorf("%v: err %v, stderr %q", args, err, stderr)
		}
		if len(args) == 3 && !strings.Contains(stderr, "-json") {
			t.Errorf("%v: usage does not mention --json: %q", args, stderr)
		}
	}
}
