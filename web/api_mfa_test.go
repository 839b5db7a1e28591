package web_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/web"
)

// mfaEnv is a server whose auth service runs on a settable clock, so that
// TOTP steps and challenge lifetimes pass without waiting.
type mfaEnv struct {
	t    *testing.T
	base string
	clk  *clock
	svc  *auth.Service
}

func newMFAEnv(t *testing.T, th auth.Throttling) *mfaEnv {
	t.Helper()
	clk := &clock{t: time.Now()}
	srv, svc := newServerOpts(t, nil, func(c *auth.Config, _ *web.Deps) {
		c.Now, c.Throttling = clk.Now, th
	})
	return &mfaEnv{t: t, base: srv.URL, clk: clk, svc: svc}
}

// pair is a decoded TokenPair.
type pair struct{ access, refresh string }

func (e *mfaEnv) login(username, password string) (pair, response) {
	e.t.Helper()
	r := call(e.t, "POST", e.base+"/api/login", "", map[string]string{"username": username, "password": password})
	return pairOf(r), r
}

func pairOf(r response) pair {
	a, _ := r.body["access_token"].(string)
	rt, _ := r.body["refresh_token"].(string)
	return pair{a, rt}
}

// code is the TOTP code of secret at the env's clock.
func (e *mfaEnv) code(secret string) string {
	e.t.Helper()
	c, err := auth.TOTPCode(secret, e.clk.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// enable turns TOTP on for the user of access, whose password is
// password, and returns the secret and the recovery codes.
func (e *mfaEnv) enable(access, password string) (secret string, codes []string) {
	e.t.Helper()
	r := call(e.t, "POST", e.base+"/api/mfa/totp", access, nil)
	if r.status != 201 {
		e.t.Fatalf("enrol: %d %s", r.status, r.raw)
	}
	secret = r.body["secret"].(string)
	r = call(e.t, "POST", e.base+"/api/mfa/totp/confirm", access, map[string]string{"code": e.code(secret), "password": password})
	if r.status != 200 {
		e.t.Fatalf("confirm: %d %s", r.status, r.raw)
	}
	for _, c := range r.body["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	e.clk.Add(30 * time.Second) // the confirming code is spent; the next step's is not
	return secret, codes
}

// challenge logs in with the password and returns the challenge.
func (e *mfaEnv) challenge(username, password string) string {
	e.t.Helper()
	_, r := e.login(username, password)
	wantMFAProblem(e.t, r, 403, gatehouse.ESECONDFACTORREQUIRED)
	ch, _ := r.body["challenge"].(string)
	return ch
}

func (e *mfaEnv) second(body map[string]string) response {
	e.t.Helper()
	return call(e.t, "POST", e.base+"/api/login/second-factor", "", body)
}

func wantMFAProblem(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.body["code"] != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

// amrOf returns the amr claim of an access token (read, not verified: the
// server verifies it on every call below).
func amrOf(t *testing.T, access string) []string {
	t.Helper()
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", access)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AMR []string `json:"amr"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.AMR
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.raw, status)
	}
}

// TestNoSecondFactorUnchanged: a user without a second factor logs in as
// API.md says, with amr ["pwd"], and /api/mfa says nothing is enrolled.
// A pending, unconfirmed enrolment changes nothing either.
func TestNoSecondFactorUnchanged(t *testing.T) {
	e := newMFAEnv(t, auth.Throttling{})
	register(t, e.base, "alice", "correct horse")
	p, r := e.login("alice", "correct horse")
	wantStatus(t, r, 200)
	if got := amrOf(t, p.access); !slices.Equal(got, []string{"pwd"}) {
		t.Errorf("amr = %v, want [pwd]", got)
	}
	r = call(t, "GET", e.base+"/api/mfa", p.access, nil)
	if r.status != 200 || r.body["totp_enabled"] != false || r.body["totp_pending"] != false || len(r.body["methods"].([]any)) != 0 {
		t.Fatalf("GET /api/mfa = %d %s", r.status, r.raw)
	}
	r = call(t, "POST", e.base+"/api/mfa/totp", p.access, nil)
	wantStatus(t, r, 201)
	if !strings.HasPrefix(r.body["otpauth_uri"].(string), "otpauth://totp/gatehouse:alice?") ||
		!strings.HasPrefix(r.body["qr_code"].(string), "data:image/png;base64,") {
		t.Fatalf("enrolment = %s", r.raw)
	}
	p2, r := e.login("alice", "correct horse")
	wantStatus(t, r, 200)
	if r := call(t, "GET", e.base+"/api/mfa", p2.access, nil); r.body["totp_pending"] != true {
		t.Fatalf("pending not shown: %s", r.raw)
	}
	if r := call(t, "POST", e.base+"/api/token/refresh", "", map[string]string{"refresh_token": p.refresh}); r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
}

// TestTOTPLogin walks enrolment and the two-step login with every way the
// second step can fail.
func TestTOTPLogin(t *testing.T) {
	e := newMFAEnv(t, auth.Throttling{})
	register(t, e.base, "alice", "correct horse")
	p, _ := e.login("alice", "correct horse")
	other, _ := e.login("alice", "correct horse")

	r := call(t, "POST", e.base+"/api/mfa/totp", p.access, nil)
	secret := r.body["secret"].(string)
	r = call(t, "POST", e.base+"/api/mfa/totp/confirm", p.access, map[string]string{"code": "000000", "password": "correct horse"})
	if r.body["code"] == nil {
		t.Fatal("no problem code")
	}
	if e.code(secret) != "000000" {
		wantMFAProblem(t, r, 401, gatehouse.EINVALIDSECONDFACTOR)
	}
	secret, codes := e.enable(p.access, "correct horse") // a new enrolment replaces the pending one
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	// Confirming revoked the other session, not this one.
	wantMFAProblem(t, call(t, "GET", e.base+"/api/me", other.access, nil), 401, gatehouse.EINVALIDTOKEN)
	wantStatus(t, call(t, "GET", e.base+"/api/me", p.access, nil), 200)
	wantMFAProblem(t, call(t, "POST", e.base+"/api/mfa/totp", p.access, nil), 409, gatehouse.EFACTOREXISTS)

	// First step: no token, a challenge.
	_, r = e.login("alice", "correct horse")
	wantMFAProblem(t, r, 403, gatehouse.ESECONDFACTORREQUIRED)
	if r.body["access_token"] != nil || r.body["expires_in"] != float64(300) ||
		!slices.Equal(r.body["methods"].([]any), []any{"totp", "recovery_code"}) || len(r.body["challenge"].(string)) < 40 {
		t.Fatalf("first step = %s", r.raw)
	}
	ch := r.body["challenge"].(string)

	// Malformed second steps.
	wantMFAProblem(t, e.second(map[string]string{"challenge": ch}), 400, gatehouse.EMALFORMED)
	wantMFAProblem(t, e.second(map[string]string{"challenge": ch, "totp_code": "1", "recovery_code": "2"}), 400, gatehouse.EMALFORMED)
	wantMFAProblem(t, e.second(map[string]string{"totp_code": "123456"}), 400, gatehouse.EMALFORMED)
	wantMFAProblem(t, e.second(map[string]string{"challenge": "ghc_nope", "totp_code": "123456"}), 401, gatehouse.EINVALIDCHALLENGE)

	// A wrong code keeps the challenge; the right one opens a session.
	wrong := "000000"
	if e.code(secret) == wrong {
		wrong = "111111"
	}
	wantMFAProblem(t, e.second(map[string]string{"challenge": ch, "totp_code": wrong}), 401, gatehouse.EINVALIDSECONDFACTOR)
	code := e.code(secret)
	r = e.second(map[string]string{"challenge": ch, "totp_code": code})
	wantStatus(t, r, 200)
	if r.header.Get("Cache-Control") != "no-store" || r.body["token_type"] != "Bearer" || r.body["user"].(map[string]any)["username"] != "alice" {
		t.Fatalf("TokenPair = %s", r.raw)
	}
	mfa := pairOf(r)
	if got := amrOf(t, mfa.access); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Errorf("amr = %v", got)
	}
	wantStatus(t, call(t, "GET", e.base+"/api/me", mfa.access, nil), 200)
	r = call(t, "POST", e.base+"/api/token/refresh", "", map[string]string{"refresh_token": mfa.refresh})
	wantStatus(t, r, 200)
	if got := amrOf(t, pairOf(r).access); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Errorf("amr after refresh = %v", got)
	}

	// The stolen challenge, used again: refused.
	wantMFAProblem(t, e.second(map[string]string{"challenge": ch, "totp_code": code}), 401, gatehouse.EINVALIDCHALLENGE)
	// The same code on a fresh challenge: a replay, refused.
	wantMFAProblem(t, e.second(map[string]string{"challenge": e.challenge("alice", "correct horse"), "totp_code": code}), 401, gatehouse.EINVALIDSECONDFACTOR)

	// An expired challenge.
	ch = e.challenge("alice", "correct horse")
	e.clk.Add(5*time.Minute + time.Second)
	wantMFAProblem(t, e.second(map[string]string{"challenge": ch, "totp_code": e.code(secret)}), 401, gatehouse.EINVALIDCHALLENGE)

	// Five wrong codes end a challenge.
	ch = e.challenge("alice", "correct horse")
	e.clk.Add(30 * time.Second)
	for range auth.MaxChallengeAttempts {
		wantMFAProblem(t, e.second(map[string]string{"challenge": ch, "recovery_code": "aaaa-aaaa-aaaa"}), 401, gatehouse.EINVALIDSECONDFACTOR)
	}
	wantMFAProblem(t, e.second(map[string]string{"challenge": ch, "totp_code": e.code(secret)}), 401, gatehouse.EINVALIDCHALLENGE)
}

// TestRecoveryCodeLogin: a recovery code works once and revokes the
// user's other sessions; regenerating replaces the codes.
func TestRecoveryCodeLogin(t *testing.T) {
	e := newMFAEnv(t, auth.Throttling{})
	register(t, e.base, "alice", "correct horse")
	p, _ := e.login("alice", "correct horse")
	secret, codes := e.enable(p.access, "correct horse")

	r := e.second(map[string]string{"challenge": e.challenge("alice", "correct horse"), "recovery_code": strings.ToUpper(codes[0])})
	wantStatus(t, r, 200)
	rec := pairOf(r)
	if got := amrOf(t, rec.access); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Errorf("amr = %v", got)
	}
	wantMFAProblem(t, call(t, "GET", e.base+"/api/me", p.access, nil), 401, gatehouse.EINVALIDTOKEN)
	wantStatus(t, call(t, "GET", e.base+"/api/me", rec.access, nil), 200)
	wantMFAProblem(t, e.second(map[string]string{"challenge": e.challenge("alice", "correct horse"), "recovery_code": codes[0]}), 401, gatehouse.EINVALIDSECONDFACTOR)
	if r := call(t, "GET", e.base+"/api/mfa", rec.access, nil); r.body["recovery_codes_left"] != float64(9) {
		t.Fatalf("status = %s", r.raw)
	}

	// Regenerate: needs exactly one proof; the old codes stop working.
	wantMFAProblem(t, call(t, "POST", e.base+"/api/mfa/recovery-codes", rec.access, map[string]string{}), 400, gatehouse.EMALFORMED)
	wantMFAProblem(t, call(t, "POST", e.base+"/api/mfa/recovery-codes", rec.access, map[string]string{"password": "wrong password"}), 401, gatehouse.ECREDENTIALS)
	r = call(t, "POST", e.base+"/api/mfa/recovery-codes", rec.access, map[string]string{"code": e.code(secret)})
	wantStatus(t, r, 200)
	fresh := r.body["recovery_codes"].([]any)
	wantMFAProblem(t, e.second(map[string]string{"challenge": e.challenge("alice", "correct horse"), "recovery_code": codes[1]}), 401, gatehouse.EINVALIDSECONDFACTOR)
	wantStatus(t, e.second(map[string]string{"challenge": e.challenge("alice", "correct horse"), "recovery_code": fresh[1].(string)}), 200)
}

// TestDisableTOTP: removing the factor needs a fresh code or the password,
// revokes the other sessions, and logins need the password only again.
func TestDisableTOTP(t *testing.T) {
	e := newMFAEnv(t, auth.Throttling{})
	register(t, e.base, "alice", "correct horse")
	p, _ := e.login("alice", "correct horse")
	secret, _ := e.enable(p.access, "correct horse")
	r := e.second(map[string]string{"challenge": e.challenge("alice", "correct horse"), "totp_code": e.code(secret)})
	other := pairOf(r)
	e.clk.Add(30 * time.Second)

	del := func(body map[string]string) response {
		return call(t, "DELETE", e.base+"/api/mfa/totp", p.access, body)
	}
	wantMFAProblem(t, del(map[string]string{"code": "1", "password": "x"}), 400, gatehouse.EMALFORMED)
	wantMFAProblem(t, del(map[string]string{"password": "not the password"}), 401, gatehouse.ECREDENTIALS)
	wantStatus(t, del(map[string]string{"password": "correct horse"}), 204)
	wantMFAProblem(t, call(t, "GET", e.base+"/api/me", other.access, nil), 401, gatehouse.EINVALIDTOKEN)
	wantMFAProblem(t, del(map[string]string{"password": "correct horse"}), 404, gatehouse.ENOTFOUND)
	_, r = e.login("alice", "correct horse")
	wantStatus(t, r, 200)

	// Again, off with a code this time.
	secret, _ = e.enable(p.access, "correct horse")
	wantStatus(t, del(map[string]string{"code": e.code(secret)}), 204)
	_, r = e.login("alice", "correct horse")
	wantStatus(t, r, 200)
}

// TestSecondFactorThrottled: second-step attempts count on the username's
// login throttle, which the right password alone does not reset.
func TestSecondFactorThrottled(t *testing.T) {
	th := auth.Throttling{LoginUser: gatehouse.ThrottleRule{Limit: 4, Window: 15 * time.Minute, MaxWindow: time.Hour}}
	e := newMFAEnv(t, th)
	register(t, e.base, "alice", "correct horse")
	p, _ := e.login("alice", "correct horse")
	secret, _ := e.enable(p.access, "correct horse")
	ch := e.challenge("alice", "correct horse") // attempt 1
	for range 3 {                               // attempts 2 to 4
		wantMFAProblem(t, e.second(map[string]string{"challenge": ch, "recovery_code": "aaaa-aaaa-aaaa"}), 401, gatehouse.EINVALIDSECONDFACTOR)
	}
	r := e.second(map[string]string{"challenge": ch, "totp_code": e.code(secret)})
	wantMFAProblem(t, r, 429, gatehouse.ETOOMANYREQUESTS)
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	_, r = e.login("alice", "correct horse")
	wantMFAProblem(t, r, 429, gatehouse.ETOOMANYREQUESTS)
	e.clk.Add(16 * time.Minute) // the window passes; the challenge is gone by now
	wantMFAProblem(t, e.second(map[string]string{"challenge": ch, "totp_code": e.code(secret)}), 401, gatehouse.EINVALIDCHALLENGE)
	wantStatus(t, e.second(map[string]string{"challenge": e.challenge("alice", "correct horse"), "totp_code": e.code(secret)}), 200)
}

// TestMFAAudit: the factor events reach the audit trail.
func TestMFAAudit(t *testing.T) {
	e := newMFAEnv(t, auth.Throttling{})
	register(t, e.base, "alice", "correct horse")
	p, _ := e.login("alice", "correct horse")
	_, codes := e.enable(p.access, "correct horse")
	e.second(map[string]string{"challenge": e.challenge("alice", "correct horse"), "recovery_code": "aaaa-aaaa-aaaa"})
	r := e.second(map[string]string{"challenge": e.challenge("alice", "correct horse"), "recovery_code": codes[0]})
	rec := pairOf(r)
	wantStatus(t, call(t, "DELETE", e.base+"/api/mfa/totp", rec.access, map[string]string{"password": "correct horse"}), 204)
	r = call(t, "GET", e.base+"/api/audit", rec.access, nil)
	wantStatus(t, r, 200)
	var got []string
	for _, ev := range r.body["events"].([]any) {
		m := ev.(map[string]any)
		got = append(got, m["type"].(string)+":"+m["reason"].(string))
	}
	for _, want := range []string{"factor_added:totp", "second_factor_failed:recovery_code", "recovery_code_used:recovery_codes", "login:recovery_code", "factor_removed:totp"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit trail %v has no %s", got, want)
		}
	}
}

// TestChallengeRaced: one challenge sent at once from several places (a
// stolen one racing the user's own) opens exactly one session, each with
// a code that would otherwise be good.
func TestChallengeRaced(t *testing.T) {
	e := newMFAEnv(t, auth.Throttling{})
	register(t, e.base, "alice", "correct horse")
	p, _ := e.login("alice", "correct horse")
	_, codes := e.enable(p.access, "correct horse")
	ch := e.challenge("alice", "correct horse")
	statuses := make(chan int, 4)
	for i := range 4 {
		go func() {
			body := map[string]string{"challenge": ch, "recovery_code": codes[i]}
			statuses <- call(t, "POST", e.base+"/api/login/second-factor", "", body).status
		}()
	}
	ok := 0
	for range 4 {
		switch st := <-statuses; st {
		case 200:
			ok++
		case 401:
		default:
			t.Errorf("status %d", st)
		}
	}
	if ok != 1 {
		t.Fatalf("%d logins from one challenge, want 1", ok)
	}
}

// TestTOTPConfirmNeedsPassword: turning TOTP on needs the password besides
// the first code, so that a stolen access token cannot enrol the thief's
// authenticator (and get the recovery codes).
func TestTOTPConfirmNeedsPassword(t *testing.T) {
	e := newMFAEnv(t, auth.Throttling{})
	register(t, e.base, "alice", "correct horse")
	p, _ := e.login("alice", "correct horse")
	r := call(t, "POST", e.base+"/api/mfa/totp", p.access, nil)
	wantStatus(t, r, 201)
	secret := r.body["secret"].(string)
	confirm := e.base + "/api/mfa/totp/confirm"

	wantMFAProblem(t, call(t, "POST", confirm, p.access, map[string]string{"code": e.code(secret)}), 400, gatehouse.EMALFORMED)
	wantMFAProblem(t, call(t, "POST", confirm, p.access, map[string]string{"code": e.code(secret), "password": "wrong horse"}), 401, gatehouse.ECREDENTIALS)
	st := call(t, "GET", e.base+"/api/mfa", p.access, nil)
	if st.body["totp_enabled"] != false || st.body["totp_pending"] != true {
		t.Fatalf("after refused confirmations: %s, want TOTP still pending", st.raw)
	}
	r = call(t, "POST", confirm, p.access, map[string]string{"code": e.code(secret), "password": "correct horse"})
	wantStatus(t, r, 200)
	if st := call(t, "GET", e.base+"/api/mfa", p.access, nil); st.body["totp_enabled"] != true {
		t.Fatalf("after confirming: %s", st.raw)
	}
}
