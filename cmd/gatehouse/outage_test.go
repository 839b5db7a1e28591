package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// serverDialects are the stores that can become unreachable while
// gatehouse runs. SQLite cannot: it is a file opened inside the process,
// with no connection to lose; its failures (a lock held past busy_timeout
// by another process, a full disk) are mapped to EUNAVAILABLE in sqldb.
var serverDialects = []string{"mysql", "postgres"}

// serverEnv names the variable that gives each server's test DSN.
var serverEnv = map[string]string{"mysql": storetest.MySQLEnv, "postgres": storetest.PostgresEnv}

func eachServer(t *testing.T, fn func(t *testing.T, db string)) {
	for _, d := range serverDialects {
		t.Run(d, func(t *testing.T) { fn(t, storetest.FreshURL(t, d)) })
	}
}

// wantUnavailable checks for the 503 problem a client may retry.
func wantUnavailable(t *testing.T, what string, r response) {
	t.Helper()
	wantProblem(t, what, r, http.StatusServiceUnavailable, "unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
	if strings.Contains(string(r.raw), "127.0.0.1") || strings.Contains(string(r.raw), "dial") {
		t.Errorf("%s: the problem shows the cause: %s", what, r.raw)
	}
}

// TestStoreOutage cuts the database away from a running gatehouse: every
// request that needs the store is 503 unavailable, /readyz 503, /healthz
// 200; once the database is back gatehouse serves again, without restart.
func TestStoreOutage(t *testing.T) { eachServer(t, testStoreOutage) }

func testStoreOutage(t *testing.T, db string) {
	proxy := newProxy(t, db)
	g := start(t, storeEnv(t, proxy.url(t, db), nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", g.logs)
		}
	})
	register(t, g.url, "alice", "alices password")
	a := login(t, g.url, "alice", "alices password")
	wantStatus(t, "main before", call(t, "GET", g.url+"/api/main", a.access, nil), 200)

	proxy.cut()
	wantUnavailable(t, "register", call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "bob", "password": "bobs password"}))
	wantUnavailable(t, "login", call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "alice", "password": "alices password"}))
	wantUnavailable(t, "refresh", call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": a.refresh}))
	wantUnavailable(t, "sessions", call(t, "GET", g.url+"/api/sessions", a.access, nil))
	wantUnavailable(t, "logout", call(t, "POST", g.url+"/api/logout", a.access, nil))
	wantProblem(t, "readyz", call(t, "GET", g.url+"/readyz", "", nil), 503, "unavailable")
	wantStatus(t, "healthz", call(t, "GET", g.url+"/healthz", "", nil), 200)
	// Verifying a token needs no store, and the user's name and id are
	// remembered since the first request: the protected route still answers.
	wantStatus(t, "main", call(t, "GET", g.url+"/api/main", a.access, nil), 200)

	proxy.restore()
	waitReady(t, g.url)
	register(t, g.url, "bob", "bobs password")
	login(t, g.url, "alice", "alices password")
	// The refresh that failed did not rotate the token; the logout that
	// failed did not end the session.
	r := call(t, "POST", g.url+"/api/token/refresh", "", map[string]string{"refresh_token": a.refresh})
	wantStatus(t, "refresh after outage", r, 200)
	wantStatus(t, "logout after outage", call(t, "POST", g.url+"/api/logout", r.str("access_token"), nil), 204)
}

// TestStoreStall: the database stops answering without closing anything,
// as in a network partition. Requests that need it are answered 503 once
// REQUEST_TIMEOUT runs out, not held until the client gives up; when the
// network heals, gatehouse serves again by itself.
func TestStoreStall(t *testing.T) { eachServer(t, testStoreStall) }

func testStoreStall(t *testing.T, db string) {
	proxy := newProxy(t, db)
	g := start(t, storeEnv(t, proxy.url(t, db), map[string]string{"REQUEST_TIMEOUT": "2s"}))
	register(t, g.url, "erin", "erins password")
	e := login(t, g.url, "erin", "erins password")

	proxy.stall()
	wantUnavailable(t, "login", call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "erin", "password": "erins password"}))
	wantUnavailable(t, "register", call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "frank", "password": "franks password"}))
	wantUnavailable(t, "sessions", call(t, "GET", g.url+"/api/sessions", e.access, nil))
	wantProblem(t, "readyz", call(t, "GET", g.url+"/readyz", "", nil), 503, "unavailable")
	wantStatus(t, "healthz", call(t, "GET", g.url+"/healthz", "", nil), 200)

	proxy.restore()
	waitReady(t, g.url)
	register(t, g.url, "frank", "franks password")
	wantStatus(t, "sessions after the stall", call(t, "GET", g.url+"/api/sessions", e.access, nil), 200)
}

// TestStartWhileStoreDown starts gatehouse against a database that does
// not answer: it listens at once, answers 503 (healthz 200, readyz 503),
// retries in the background and serves when the database comes up.
func TestStartWhileStoreDown(t *testing.T) { eachServer(t, testStartWhileStoreDown) }

func testStartWhileStoreDown(t *testing.T, db string) {
	proxy := newProxy(t, db)
	proxy.cut()
	g := launch(t, storeEnv(t, proxy.url(t, db), nil))
	wantStatus(t, "healthz", call(t, "GET", g.url+"/healthz", "", nil), 200)
	wantUnavailable(t, "readyz", call(t, "GET", g.url+"/readyz", "", nil))
	wantUnavailable(t, "register", call(t, "POST", g.url+"/api/register", "", map[string]string{"username": "carol", "password": "carols password"}))
	wantUnavailable(t, "jwks", call(t, "GET", g.url+"/.well-known/jwks.json", "", nil))
	// Restore only once a failed attempt has been logged: on a busy machine
	// the first attempt may still be connecting when the test gets here.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(g.logs.String(), "store unavailable") {
		if time.Now().After(deadline) {
			t.Fatalf("the wait for the store was not logged:\n%s", g.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}

	proxy.restore()
	waitReady(t, g.url)
	register(t, g.url, "carol", "carols password")
	p := login(t, g.url, "carol", "carols password")
	wantStatus(t, "main", call(t, "GET", g.url+"/api/main", p.access, nil), 200)
}

// TestStartWrongPort: nothing listens where DATABASE_URL points. Gatehouse
// answers 503 and logs why, until stopped (or until something answers
// there, as TestStartWhileStoreDown shows).
func TestStartWrongPort(t *testing.T) {
	for _, db := range []string{
		"mysql://root@127.0.0.1:1/gatehouse",
		"postgres://postgres@127.0.0.1:1/gatehouse?sslmode=disable",
	} {
		t.Run(db[:strings.Index(db, ":")], func(t *testing.T) {
			g := launch(t, storeEnv(t, db, nil))
			wantStatus(t, "healthz", call(t, "GET", g.url+"/healthz", "", nil), 200)
			wantUnavailable(t, "readyz", call(t, "GET", g.url+"/readyz", "", nil))
			wantUnavailable(t, "login", call(t, "POST", g.url+"/api/login", "", map[string]string{"username": "dave", "password": "daves password"}))
			waitLog(t, g, "store unavailable")
		})
	}
}

// TestStartRefusedStops: a database that answers but refuses (it does not
// exist, the path cannot be opened) will not cure itself by waiting, so
// the start fails at once with the reason.
func TestStartRefusedStops(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			db := "sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "g.db")
			if env, ok := serverEnv[d]; ok {
				u, err := url.Parse(testenv.DSN(t, env))
				if err != nil {
					t.Fatal(err)
				}
				u.Path = "/gh_no_such_database"
				db = u.String()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr strings.Builder
			err := run(ctx, []string{"serve"}, storeEnv(t, db, nil), strings.NewReader(""), &stdout, &stderr)
			if err == nil || ctx.Err() != nil {
				t.Fatalf("run = %v (ctx %v), want a start failure", err, ctx.Err())
			}
			if exitCode(err) != 1 || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q (exit %d): want one line, exit 1", err, exitCode(err))
			}
			t.Logf("start failed as it should: %v", err)
		})
	}
}

// waitLog waits until the instance's log holds s.
func waitLog(t *testing.T, g *instance, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(g.logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log never showed %q:\n%s", s, g.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
