package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/storetest"
)

func TestRefreshRotationAndReplay(t *testing.T) { storetest.Each(t, testRefreshRotationAndReplay) }

func testRefreshRotationAndReplay(t *testing.T, db string) {
	g := start(t, storeEnv(t, db, nil))
	register(t, g.url, "bob", "bobs password")
	p := login(t, g.url, "bob", "bobs password")

	r := call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": p.refresh})
	wantStatus(t, "first refresh", r, 200)
	next := pair{access: r.str("access_token"), refresh: r.str("refresh_token")}
	if next.refresh == p.refresh {
		t.Fatal("refresh token was not rotated")
	}

	// The rotated token again: refused, and the whole session dies.
	wantProblem(t, "replay", call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": p.refresh}), 401, "invalid_refresh_token")
	wantProblem(t, "newest refresh after replay", call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": next.refresh}), 401, "invalid_refresh_token")
	wantProblem(t, "access after replay", call(t, "GET", g.url+"/api/main", next.access, nil), 401, "invalid_token")
	wantProblem(t, "first access after replay", call(t, "GET", g.url+"/api/main", p.access, nil), 401, "invalid_token")

	// Another session of the same user is untouched.
	other := login(t, g.url, "bob", "bobs password")
	wantStatus(t, "other session", call(t, "GET", g.url+"/api/main", other.access, nil), 200)

	for _, bad := range []string{"", "ghr_", "not-a-token", strings.Repeat("A", 10000), other.access} {
		wantProblem(t, "bogus refresh", call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": bad}), 401, "invalid_refresh_token")
	}
	wantProblem(t, "refresh token as access token", call(t, "GET", g.url+"/api/main", other.refresh, nil), 401, "invalid_token")
}

func TestLogoutScopes(t *testing.T) { storetest.Each(t, testLogoutScopes) }

func testLogoutScopes(t *testing.T, db string) {
	g := start(t, storeEnv(t, db, nil))
	register(t, g.url, "carol", "carols password")
	tests := []struct {
		name         string
		body         any
		selfAlive    bool
		othersAlive  bool
		refreshAlive bool
	}{
		{name: "default is local", body: nil, selfAlive: false, othersAlive: true},
		{name: "local", body: map[string]string{"scope": "local"}, selfAlive: false, othersAlive: true},
		{name: "others", body: map[string]string{"scope": "others"}, selfAlive: true, othersAlive: false},
		{name: "global", body: map[string]string{"scope": "global"}, selfAlive: false, othersAlive: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self, o1, o2 := login(t, g.url, "carol", "carols password"), login(t, g.url, "carol", "carols password"), login(t, g.url, "carol", "carols password")
			wantStatus(t, "logout", call(t, "POST", g.url+"/api/logout", self.access, tt.body), http.StatusNoContent)
			check := func(who string, p pair, alive bool) {
				t.Helper()
				want := 401
				if alive {
					want = 200
				}
				wantStatus(t, who+" access", call(t, "GET", g.url+"/api/me", p.access, nil), want)
				wantStatus(t, who+" refresh", call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": p.refresh}), want)
			}
			check("self", self, tt.selfAlive)
			check("other 1", o1, tt.othersAlive)
			check("other 2", o2, tt.othersAlive)
		})
	}
	p := login(t, g.url, "carol", "carols password")
	wantProblem(t, "bad scope", call(t, "POST", g.url+"/api/logout", p.access, map[string]string{"scope": "everything"}), 400, "malformed_request")
	wantStatus(t, "still logged in after bad scope", call(t, "GET", g.url+"/api/me", p.access, nil), 200)
}

func TestSessionsListAndDelete(t *testing.T) { storetest.Each(t, testSessionsListAndDelete) }

func testSessionsListAndDelete(t *testing.T, db string) {
	g := start(t, storeEnv(t, db, nil))
	register(t, g.url, "dave", "daves password")
	register(t, g.url, "erin", "erins password")
	a, b := login(t, g.url, "dave", "daves password"), login(t, g.url, "dave", "daves password")
	e := login(t, g.url, "erin", "erins password")

	r := call(t, "GET", g.url+"/api/sessions", a.access, nil)
	wantStatus(t, "sessions", r, 200)
	list, _ := r.body["sessions"].([]any)
	if len(list) != 2 {
		t.Fatalf("sessions = %s, want 2", r.raw)
	}
	var currentID, otherID string
	for _, s := range list {
		m := s.(map[string]any)
		for _, k := range []string{"id", "created_at", "last_used_at", "expires_at", "user_agent", "ip"} {
			if _, ok := m[k].(string); !ok {
				t.Errorf("session lacks %s: %v", k, m)
			}
		}
		if m["ip"] != "127.0.0.1" {
			t.Errorf("session ip = %v", m["ip"])
		}
		if m["current"] == true {
			currentID = m["id"].(string)
		} else {
			otherID = m["id"].(string)
		}
	}
	if currentID == "" || otherID == "" {
		t.Fatalf("want one current and one other session: %s", r.raw)
	}

	// Another user's session is not found, and stays alive.
	wantProblem(t, "delete other's session", call(t, "DELETE", g.url+"/api/sessions/"+otherID, e.access, nil), 404, "not_found")
	wantStatus(t, "victim alive", call(t, "GET", g.url+"/api/me", b.access, nil), 200)

	wantStatus(t, "delete own", call(t, "DELETE", g.url+"/api/sessions/"+otherID, a.access, nil), 204)
	wantProblem(t, "deleted session's token", call(t, "GET", g.url+"/api/me", b.access, nil), 401, "invalid_token")
	wantProblem(t, "delete again", call(t, "DELETE", g.url+"/api/sessions/"+otherID, a.access, nil), 404, "not_found")
	wantProblem(t, "delete unknown", call(t, "DELETE", g.url+"/api/sessions/nope", a.access, nil), 404, "not_found")
	r = call(t, "GET", g.url+"/api/sessions", a.access, nil)
	if list, _ := r.body["sessions"].([]any); len(list) != 1 {
		t.Errorf("sessions after delete = %s, want 1", r.raw)
	}
}

func TestPasswordChange(t *testing.T) { storetest.Each(t, testPasswordChange) }

func testPasswordChange(t *testing.T, db string) {
	g := start(t, storeEnv(t, db, nil))
	register(t, g.url, "frank", "franks password")
	self, other := login(t, g.url, "frank", "franks password"), login(t, g.url, "frank", "franks password")

	wantProblem(t, "wrong current", call(t, "POST", g.url+"/api/password", self.access, map[string]string{"current_password": "wrong password", "new_password": "franks new password"}), 401, "invalid_credentials")
	wantProblem(t, "weak new", call(t, "POST", g.url+"/api/password", self.access, map[string]string{"current_password": "franks password", "new_password": "short"}), 422, "weak_password")
	wantProblem(t, "missing field", call(t, "POST", g.url+"/api/password", self.access, map[string]string{"current_password": "franks password"}), 400, "malformed_request")
	wantStatus(t, "others alive before change", call(t, "GET", g.url+"/api/me", other.access, nil), 200)

	wantStatus(t, "change", call(t, "POST", g.url+"/api/password", self.access, map[string]string{"current_password": "franks password", "new_password": "franks new password"}), 204)
	wantStatus(t, "self alive", call(t, "GET", g.url+"/api/me", self.access, nil), 200)
	wantProblem(t, "other revoked", call(t, "GET", g.url+"/api/me", other.access, nil), 401, "invalid_token")
	wantProblem(t, "other refresh revoked", call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": other.refresh}), 401, "invalid_refresh_token")
	wantProblem(t, "old password", call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "frank", "password": "franks password"}), 401, "invalid_credentials")
	login(t, g.url, "frank", "franks new password")
}

func TestPasswordRules(t *testing.T) { storetest.Each(t, testPasswordRules) }

func testPasswordRules(t *testing.T, db string) {
	g := start(t, storeEnv(t, db, nil))
	long := strings.Repeat("p", 80)
	register(t, g.url, "grace", long+"A")
	wantProblem(t, "differs after byte 72", call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "grace", "password": long + "B"}), 401, "invalid_credentials")
	login(t, g.url, "grace", long+"A")

	register(t, g.url, "heidi", "caf\u00e9 au lait")
	login(t, g.url, "heidi", "cafe\u0301 au lait")

	wantProblem(t, "password = username", call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "ivan.ivanov", "password": "Ivan.Ivanov"}), 422, "weak_password")
	wantProblem(t, "short", call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "ivan", "password": "1234567"}), 422, "weak_password")
	wantProblem(t, "too long", call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "ivan", "password": strings.Repeat("x", 257)}), 422, "weak_password")
	wantProblem(t, "bad username", call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "iv an", "password": "good password"}), 422, "invalid_username")
	wantProblem(t, "short username", call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "iv", "password": "good password"}), 422, "invalid_username")
}

// TestUnknownUserLooksLikeWrongPassword checks status and body; timing is
// the dummy hash's job (auth tests) and issue 5's statistical test.
func TestUnknownUserLooksLikeWrongPassword(t *testing.T) {
	storetest.Each(t, testUnknownUserLooksLikeWrongPassword)
}

func testUnknownUserLooksLikeWrongPassword(t *testing.T, db string) {
	g := start(t, storeEnv(t, db, nil))
	register(t, g.url, "judy", "judys password")
	wrong := call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "judy", "password": "not judys password"})
	unknown := call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "nobody", "password": "not judys password"})
	wantProblem(t, "wrong password", wrong, 401, "invalid_credentials")
	if string(wrong.raw) != string(unknown.raw) || wrong.status != unknown.status {
		t.Errorf("unknown user answered %d %s, wrong password %d %s", unknown.status, unknown.raw, wrong.status, wrong.raw)
	}
}

// TestRestartKeepsTokens checks that EdDSA keys live in the store: a token
// issued before a restart still verifies after it, and so does a
// revocation made before it.
func TestRestartKeepsTokens(t *testing.T) { storetest.Each(t, testRestartKeepsTokens) }

func testRestartKeepsTokens(t *testing.T, db string) {
	env := storeEnv(t, db, nil)
	g := start(t, env)
	register(t, g.url, "kate", "kates password")
	alive, dead := login(t, g.url, "kate", "kates password"), login(t, g.url, "kate", "kates password")
	wantStatus(t, "logout", call(t, "POST", g.url+"/api/logout", dead.access, nil), 204)
	jwks := call(t, "GET", g.url+"/.well-known/jwks.json", "", nil)
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}

	g2 := start(t, env)
	wantStatus(t, "token from before restart", call(t, "GET", g2.url+"/api/main", alive.access, nil), 200)
	wantProblem(t, "revoked before restart", call(t, "GET", g2.url+"/api/main", dead.access, nil), 401, "invalid_token")
	if jwks2 := call(t, "GET", g2.url+"/.well-known/jwks.json", "", nil); string(jwks2.raw) != string(jwks.raw) {
		t.Errorf("JWKS changed across restart:\n%s\n%s", jwks.raw, jwks2.raw)
	}
}

func TestHS256Mode(t *testing.T) { storetest.Each(t, testHS256Mode) }

func testHS256Mode(t *testing.T, db string) {
	secret := strings.Repeat("s", 32)
	g := start(t, storeEnv(t, db, map[string]string{"JWT_SECRET": secret}))
	register(t, g.url, "leo", "leos password")
	p := login(t, g.url, "leo", "leos password")
	wantStatus(t, "main", call(t, "GET", g.url+"/api/main", p.access, nil), 200)
	r := call(t, "GET", g.url+"/.well-known/jwks.json", "", nil)
	if keys, ok := r.body["keys"].([]any); !ok || len(keys) != 0 {
		t.Errorf("JWKS in HS256 mode = %s, want an empty set", r.raw)
	}
	if strings.Contains(g.logs.String(), secret) {
		t.Error("the secret reached the log")
	}
}

func TestConfigErrorsStopTheStart(t *testing.T) {
	tests := []struct {
		name, variable, value string
	}{
		{name: "short JWT_SECRET", variable: "JWT_SECRET", value: strings.Repeat("s", 31)},
		{name: "bad BCRYPT_COST", variable: "BCRYPT_COST", value: "99"},
		{name: "bad ACCESS_TOKEN_TTL", variable: "ACCESS_TOKEN_TTL", value: "soon"},
		{name: "bad REFRESH_TOKEN_TTL", variable: "REFRESH_TOKEN_TTL", value: "-1h"},
		{name: "bad PASSWORD_HASH", variable: "PASSWORD_HASH", value: "md5"},
		{name: "wildcard CORS_ALLOWED_ORIGINS", variable: "CORS_ALLOWED_ORIGINS", value: "*"},
		{name: "CORS origin with a path", variable: "CORS_ALLOWED_ORIGINS", value: "http://localhost:5173,https://app.example.com/app"},
		{name: "zero DB_MAX_OPEN_CONNS", variable: "DB_MAX_OPEN_CONNS", value: "0"},
		{name: "bad DB_MAX_IDLE_CONNS", variable: "DB_MAX_IDLE_CONNS", value: "many"},
		{name: "short DB_CONN_MAX_LIFETIME", variable: "DB_CONN_MAX_LIFETIME", value: "1s"},
		{name: "bad REQUEST_TIMEOUT", variable: "REQUEST_TIMEOUT", value: "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			err := run(context.Background(), nil, testEnv(t, map[string]string{tt.variable: tt.value}), strings.NewReader(""), &stdout, &stderr)
			if err == nil {
				t.Fatal("run started with invalid configuration")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.variable) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s", msg, tt.variable)
			}
			if exitCode(err) != 3 {
				t.Errorf("exit code %d, want 3", exitCode(err))
			}
			if tt.variable == "JWT_SECRET" && strings.Contains(msg, tt.value) {
				t.Errorf("error shows the secret: %q", msg)
			}
		})
	}
}

func TestHashUpgradeOnLogin(t *testing.T) { storetest.Each(t, testHashUpgradeOnLogin) }

func testHashUpgradeOnLogin(t *testing.T, db string) {
	g := start(t, storeEnv(t, db, nil))
	register(t, g.url, "mallory", "mallorys password")
	g.stop()

	g2 := start(t, storeEnv(t, db, map[string]string{"BCRYPT_COST": "5"}))
	before := userHash(t, db, "mallory")
	login(t, g2.url, "mallory", "mallorys password")
	after := userHash(t, db, "mallory")
	if !strings.Contains(before, "$2a$04$") || !strings.Contains(after, "$2a$05$") {
		t.Errorf("hash before %q after %q: want cost 4 upgraded to 5", before, after)
	}
	login(t, g2.url, "mallory", "mallorys password")
}
