package verify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
	gtoken "github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/verify"
	"github.com/gatehouse/gatehouse/web"
)

const (
	issuer   = "http://gatehouse.test"
	clientID = "api"
	secret   = "0123456789abcdef-resource-server"
)

// gatehouse is a real gatehouse over SQLite behind httptest, with one
// service client and one user.
type gatehouse struct {
	srv *httptest.Server
	svc *auth.Service
}

func newGatehouse(t testing.TB) *gatehouse {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "g.db"), sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := auth.LoadKeys(ctx, db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(auth.Config{
		Store:      db,
		Tokens:     gtoken.New(keys, gtoken.Options{Issuer: issuer, Audience: "gatehouse", TTL: 15 * time.Minute}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.NewServer(web.Deps{Auth: svc, Keys: keys, Store: db,
		ServiceClients: []web.ServiceClient{{ID: clientID, Secret: secret}}}))
	t.Cleanup(srv.Close)
	if _, err := svc.Register(ctx, "alice", "alices password"); err != nil {
		t.Fatal(err)
	}
	return &gatehouse{srv: srv, svc: svc}
}

func (g *gatehouse) login(t testing.TB) *auth.TokenPair {
	t.Helper()
	p, err := g.svc.Login(context.Background(), "alice", "alices password", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clock is a settable clock for staleness.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newVerifier(t testing.TB, g *gatehouse, edit func(*verify.Config)) *verify.Verifier {
	t.Helper()
	cfg := verify.Config{Issuer: issuer, URL: g.srv.URL, ClientID: clientID, ClientSecret: secret, PollInterval: 10 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	v, err := verify.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	return v
}

// run keeps v following gatehouse until the test ends.
func run(t testing.TB, v *verify.Verifier) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// hello is the protected handler: it answers with the claims' username.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello "+verify.ClaimsFrom(r.Context()).Username)
})

func serve(t *testing.T, h http.Handler, authz string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}

func TestMiddleware(t *testing.T) {
	g := newGatehouse(t)
	v := newVerifier(t, g, nil)
	run(t, v)
	h := v.Middleware(hello)
	p := g.login(t)
	for _, tc := range []struct {
		name, authz string
		status      int
		challenge   string
	}{
		{"valid", "Bearer " + p.AccessToken, 200, ""},
		{"scheme in another case", "bEaReR " + p.AccessToken, 200, ""},
		{"no token", "", 401, "Bearer"},
		{"basic", "Basic YTpi", 401, "Bearer"},
		{"garbage", "Bearer not.a.token", 401, `Bearer error="invalid_token"`},
		{"refresh token", "Bearer " + p.RefreshToken, 401, `Bearer error="invalid_token"`},
		{"tampered", "Bearer " + p.AccessToken[:len(p.AccessToken)-4] + "AAAA", 401, `Bearer error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := serve(t, h, tc.authz)
			if status != tc.status || hdr.Get("WWW-Authenticate") != tc.challenge {
				t.Fatalf("status %d, WWW-Authenticate %q, body %s; want %d, %q", status, hdr.Get("WWW-Authenticate"), body, tc.status, tc.challenge)
			}
			if status == 200 && body != "hello alice" {
				t.Errorf("body = %q: the claims did not reach the handler", body)
			}
			if status == 401 && (hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"code":"invalid_token"`)) {
				t.Errorf("refusal = %s", body)
			}
		})
	}
}

// TestRevocationReachesVerifier: a logout at gatehouse is refused by the
// verifier once it has read the feed, within the 1 s contract.
func TestRevocationReachesVerifier(t *testing.T) {
	g := newGatehouse(t)
	v := newVerifier(t, g, nil)
	run(t, v)
	p := g.login(t)
	if _, err := v.Verify(t.Context(), p.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := g.svc.RevokeToken(t.Context(), p.RefreshToken); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		_, err := v.Verify(t.Context(), p.AccessToken)
		if errors.Is(err, verify.ErrInvalidToken) {
			t.Logf("refused %v after the revocation", time.Since(revoked))
			break
		}
		if time.Since(revoked) > 2*time.Second {
			t.Fatalf("still accepted %v after the revocation (err %v)", time.Since(revoked), err)
		}
		time.Sleep(time.Millisecond)
	}
	if st := v.Stats(); st.Revoked != 1 || st.Cursor < 1 || st.Syncs < 2 {
		t.Errorf("stats = %+v", st)
	}
}

// TestFailsClosed: without a good read of the feed for MaxStaleness, every
// token is refused with 503, and accepted again once gatehouse answers.
func TestFailsClosed(t *testing.T) {
	g := newGatehouse(t)
	c := &clock{t: time.Now()}
	v := newVerifier(t, g, func(cfg *verify.Config) { cfg.Now = c.Now; cfg.MaxStaleness = 5 * time.Second })
	h := v.Middleware(hello)
	p := g.login(t)
	if status, _, _ := serve(t, h, "Bearer "+p.AccessToken); status != 200 {
		t.Fatalf("fresh: %d", status)
	}
	c.Add(5*time.Second + time.Millisecond) // no Run: nothing reads the feed
	status, hdr, body := serve(t, h, "Bearer "+p.AccessToken)
	if status != 503 || hdr.Get("Retry-After") == "" || !strings.Contains(body, `"code":"unavailable"`) {
		t.Fatalf("stale: %d %q %s; want 503 with Retry-After", status, hdr.Get("Retry-After"), body)
	}
	if _, err := v.Verify(t.Context(), "garbage"); !errors.Is(err, verify.ErrInvalidToken) {
		t.Errorf("a bad token while stale: %v, want ErrInvalidToken", err)
	}
	run(t, v) // reads the feed again
	deadline := time.Now().Add(5 * time.Second)
	for {
		if status, _, _ := serve(t, h, "Bearer "+p.AccessToken); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still refusing after Run resumed reading the feed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	g.srv.Close() // gatehouse goes away: the feed cannot be read
	c.Add(6 * time.Second)
	if status, _, _ := serve(t, h, "Bearer "+p.AccessToken); status != 503 {
		t.Errorf("gatehouse down past MaxStaleness: %d, want 503", status)
	}
	if st := v.Stats(); st.Staleness <= 5*time.Second {
		t.Errorf("Stats.Staleness = %v, want past MaxStaleness", st.Staleness)
	}
}

// TestUnknownKidFetchesKeys: a key made after the verifier started is
// learned from the first token naming it; made-up kids fetch at most once
// per KeyRefreshMin.
func TestUnknownKidFetchesKeys(t *testing.T) {
	g := newGatehouse(t)
	c := &clock{t: time.Now()}
	v := newVerifier(t, g, func(cfg *verify.Config) { cfg.Now = c.Now; cfg.MaxStaleness = time.Hour })
	if _, err := g.svc.RotateKey(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	c.Add(6 * time.Second)
	p := g.login(t)
	if _, err := v.Verify(t.Context(), p.AccessToken); err != nil {
		t.Fatalf("token of a new key: %v", err)
	}
	fetches := v.Stats().KeyFetches
	forged := withKid(t, p.AccessToken, "made-up")
	for range 20 {
		if _, err := v.Verify(t.Context(), forged); !errors.Is(err, verify.ErrInvalidToken) {
			t.Fatalf("made-up kid: %v", err)
		}
	}
	if n := v.Stats().KeyFetches - fetches; n != 0 {
		t.Errorf("made-up kids right after a fetch fetched %d times, want 0", n)
	}
	c.Add(5 * time.Second)
	for range 20 {
		v.Verify(t.Context(), forged)
	}
	if n := v.Stats().KeyFetches - fetches; n != 1 {
		t.Errorf("made-up kids after KeyRefreshMin fetched %d times, want 1", n)
	}
}

func withKid(t *testing.T, raw, kid string) string {
	t.Helper()
	_, rest, _ := strings.Cut(raw, ".")
	h, _ := json.Marshal(map[string]string{"alg": "EdDSA", "kid": kid, "typ": "at+jwt"})
	return base64.RawURLEncoding.EncodeToString(h) + "." + rest
}

func TestNewRefusesBadSetup(t *testing.T) {
	g := newGatehouse(t)
	for name, cfg := range map[string]verify.Config{
		"no issuer":    {ClientID: clientID, ClientSecret: secret, URL: g.srv.URL},
		"no secret":    {Issuer: issuer, ClientID: clientID, URL: g.srv.URL},
		"wrong secret": {Issuer: issuer, ClientID: clientID, ClientSecret: secret + "x", URL: g.srv.URL},
		"nothing there": {Issuer: issuer, ClientID: clientID, ClientSecret: secret,
			URL: "http://127.0.0.1:1"},
	} {
		if _, err := verify.New(t.Context(), cfg); err == nil {
			t.Errorf("%s: New = nil error, want one", name)
		}
	}
	cfg := verify.Config{Issuer: "http://another.issuer", URL: g.srv.URL, ClientID: clientID, ClientSecret: secret}
	v, err := verify.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), g.login(t).AccessToken); !errors.Is(err, verify.ErrInvalidToken) {
		t.Errorf("token of another issuer: %v, want ErrInvalidToken", err)
	}
}

// TestImportsNoServer: resource servers import verify; it must not pull in
// gatehouse's server packages (or their database drivers).
func TestImportsNoServer(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/gatehouse/gatehouse/") && path != "github.com/gatehouse/gatehouse/token" {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
