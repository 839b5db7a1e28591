package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

// clock is a settable clock shared by the token issuer and the auth
// service, so a test can let an access token expire without waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// pageOpts vary the server of a page test.
type pageOpts struct {
	storeURL string     // "" : a fresh SQLite file
	clock    *clock     // nil: time.Now
	pool     *auth.Pool // nil: the default
	cors     []string   // CORS_ALLOWED_ORIGINS
	tls      bool       // serve HTTPS
	passkeys bool       // passkeys on, for pages opened at LocalURL
}

// pageEnv is a gatehouse server for page tests.
type pageEnv struct {
	URL      string
	LocalURL string // the same server as http://localhost:port: WebAuthn refuses IP addresses
	srv      *httptest.Server
	svc      *auth.Service
}

func newPageEnv(t testing.TB, o pageOpts) *pageEnv {
	t.Helper()
	ctx := context.Background()
	if o.storeURL == "" {
		o.storeURL = "sqlite:" + filepath.Join(t.TempDir(), "pages.db")
	}
	db, err := sqldb.Open(ctx, o.storeURL, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now
	if o.clock != nil {
		now = o.clock.Now
	}
	k, err := token.GenerateEd25519(now())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewEdDSA([]*gatehouse.SigningKey{k}, now())
	if err != nil {
		t.Fatal(err)
	}
	// The listener comes first: with passkeys, the service must know the
	// origin the pages are served at.
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	local := "http://localhost:" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	var passkeys auth.PasskeyConfig
	if o.passkeys {
		passkeys = auth.PasskeyConfig{RPID: "localhost", Origins: []string{local}}
	}
	svc, err := auth.New(auth.Config{
		Store:      db,
		Tokens:     token.New(keys, token.Options{Issuer: "http://test", Audience: "gatehouse", TTL: 15 * time.Minute, Now: now, CacheSize: -1}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		Pool:       o.pool,
		RefreshTTL: 24 * time.Hour,
		Now:        now,
		Passkeys:   passkeys,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = web.NewServer(web.Deps{Auth: svc, Keys: keys, Store: db, CORSAllowedOrigins: o.cors})
	if o.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	return &pageEnv{URL: srv.URL, LocalURL: local, srv: srv, svc: svc}
}

// client is a browser-like HTTP client: it keeps cookies, does not follow
// redirects (the tests check them) and sends Origin on its posts as a
// browser does.
type client struct {
	t   testing.TB
	env *pageEnv
	c   *http.Client
	ua  string // User-Agent; "": Firefox on Linux
}

func (e *pageEnv) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	c := new(http.Client)
	*c = *e.srv.Client() // a copy: srv.Client() is one shared client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: t, env: e, c: c}
}

// page is a response with its body read.
type page struct {
	*http.Response
	Body string
}

func (c *client) do(req *http.Request) *page {
	c.t.Helper()
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
		if c.ua != "" {
			req.Header.Set("User-Agent", c.ua)
		}
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &page{Response: resp, Body: string(b)}
}

func (c *client) get(path string) *page {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.env.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	return c.do(req)
}

// post sends a form as a same-origin browser would; extra headers
// override the defaults (an empty value removes one).
func (c *client) post(path string, form url.Values, extra map[string]string) *page {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.env.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.env.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range extra {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return c.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token returns the CSRF token of the forms on the page at path.
func (c *client) token(path string) string {
	c.t.Helper()
	p := c.get(path)
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		c.t.Fatalf("GET %s (%d): no CSRF token in the page", path, p.StatusCode)
	}
	return m[1]
}

// submit posts a form of the page at from to path, with its CSRF token.
func (c *client) submit(from, path string, form url.Values) *page {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", c.token(from))
	return c.post(path, form, nil)
}

// register makes an account through the page and leaves the client signed in.
func (c *client) register(username, password string) {
	c.t.Helper()
	p := c.submit("/register", "/register", url.Values{"username": {username}, "password": {password}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/main" {
		c.t.Fatalf("register %s: %d %s %s", username, p.StatusCode, p.Header.Get("Location"), p.Body)
	}
}

// login signs the client in through the page.
func (c *client) login(username, password string) {
	c.t.Helper()
	p := c.submit("/login", "/login", url.Values{"username": {username}, "password": {password}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/main" {
		c.t.Fatalf("login %s: %d %s %s", username, p.StatusCode, p.Header.Get("Location"), p.Body)
	}
}

// cookie returns the value of the client's cookie name, or "".
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.env.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie replaces a cookie in the client's jar.
func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(c.env.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// api calls the JSON API with a bearer token.
func (e *pageEnv) api(t testing.TB, method, path, bearer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.URL+path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
