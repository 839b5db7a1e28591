package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sqldb"
)

// TestNoSecretInLogs runs every flow, failures included, through the real
// server at LOG_LEVEL=debug in both formats, then searches the whole log
// for every secret the flows handled: passwords, access and refresh
// tokens (and a JWT's signature alone), the HS256 secret or the stored
// EdDSA private keys, the password hashes and the refresh-token hashes.
func TestNoSecretInLogs(t *testing.T) {
	for _, tc := range []struct{ format, secret string }{
		{"json", "an HS256 secret of forty bytes, at least!"},
		{"text", ""}, // EdDSA: the private keys live in the store
	} {
		t.Run(tc.format, func(t *testing.T) {
			env := testEnv(t, map[string]string{"LOG_LEVEL": "debug", "LOG_FORMAT": tc.format, "JWT_SECRET": tc.secret})
			g := start(t, env)
			secrets := secretFlows(t, g.url)
			g.stop()
			secrets = append(secrets, storedSecrets(t, env("DATABASE_URL"))...)
			if tc.secret != "" {
				secrets = append(secrets, tc.secret)
			}
			logs := g.logs.String()
			for _, want := range []string{"alice", "POST /api/token/refresh", "refresh_replayed", "request_id"} {
				if !strings.Contains(logs, want) { // the log does record the flows
					t.Fatalf("the log lacks %q:\n%s", want, logs)
				}
			}
			if !strings.Contains(logs, `level=DEBUG`) && !strings.Contains(logs, `"level":"DEBUG"`) {
				t.Fatalf("no debug line: the test would not see what debug logs\n%s", logs)
			}
			for _, s := range secrets {
				if len(s) < 8 {
					t.Fatalf("secret %q too short to search for", s)
				}
				if strings.Contains(logs, s) {
					t.Errorf("the log contains a secret: %q", s)
				}
			}
			t.Logf("%d log lines searched for %d secrets", strings.Count(logs, "\n"), len(secrets))
		})
	}
}

// secretFlows runs the flows and returns every secret they handled.
func secretFlows(t *testing.T, base string) []string {
	t.Helper()
	pw, newPW, wrongPW := "first secret password", "second secret password", "wrong secret password"
	secrets := []string{pw, newPW, wrongPW}
	register(t, base, "alice", pw)
	call(t, "POST", base+"/api/register", "", map[string]string{"username": "alice", "password": "taken secret password"})
	call(t, "POST", base+"/api/register", "", map[string]string{"username": "bob", "password": "bob"}) // weak
	call(t, "POST", base+"/api/login", "", map[string]string{"username": "alice", "password": wrongPW})
	call(t, "POST", base+"/api/login", "", map[string]string{"username": "unknown secret name", "password": pw})
	call(t, "POST", base+"/api/login", "", map[string]string{"username": "alice", "password": pw, "extra": pw}) // unknown field
	p := login(t, base, "alice", pw)
	q := login(t, base, "alice", pw)
	secrets = append(secrets, "taken secret password", "unknown secret name")
	secrets = append(secrets, tokenSecrets(p)...)
	secrets = append(secrets, tokenSecrets(q)...)
	call(t, "GET", base+"/api/main", p.access, nil)
	call(t, "GET", base+"/api/me?access_token="+p.access, "", nil) // token in the query: refused
	call(t, "GET", base+"/api/me", p.access+"x", nil)              // forged
	r := call(t, "POST", base+"/api/token/refresh", "", map[string]string{"refresh_token": p.refresh})
	next := pair{access: r.str("access_token"), refresh: r.str("refresh_token")}
	secrets = append(secrets, tokenSecrets(next)...)
	call(t, "POST", base+"/api/token/refresh", "", map[string]string{"refresh_token": p.refresh}) // replay
	call(t, "POST", base+"/api/token/refresh", "", map[string]string{"refresh_token": "ghr_" + strings.Repeat("A", 43)})
	call(t, "POST", base+"/api/password", q.access, map[string]string{"current_password": wrongPW, "new_password": newPW})
	call(t, "POST", base+"/api/password", q.access, map[string]string{"current_password": pw, "new_password": newPW})
	call(t, "GET", base+"/api/audit", q.access, nil)
	call(t, "GET", base+"/api/sessions", q.access, nil)
	call(t, "DELETE", base+"/api/sessions/nonexistent", q.access, nil)
	call(t, "POST", base+"/api/logout", q.access, map[string]string{"scope": "global"})
	call(t, "POST", base+"/api/logout", q.access, nil) // after logout
	return secrets
}

// tokenSecrets is a pair's tokens, the JWT's signature alone and the
// refresh token's hash in the forms it could be printed.
func tokenSecrets(p pair) []string {
	h := sha256.Sum256([]byte(p.refresh))
	out := []string{p.access, p.refresh, p.access[strings.LastIndexByte(p.access, '.')+1:],
		strings.TrimPrefix(p.refresh, "ghr_"), hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:])}
	return out
}

// storedSecrets reads the password hashes and private keys from the store.
func storedSecrets(t *testing.T, url string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, url, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	users, err := db.ListUsers(ctx)
	if err != nil || len(users) == 0 {
		t.Fatalf("users: %v %v", users, err)
	}
	for _, u := range users {
		out = append(out, u.PasswordHash, u.PasswordHash[len(u.PasswordHash)-31:]) // the whole hash, and its digest
	}
	keys, err := db.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		out = append(out, base64.RawURLEncoding.EncodeToString(k.Private[:32]), base64.StdEncoding.EncodeToString(k.Private), hex.EncodeToString(k.Private[:32]))
	}
	return out
}
