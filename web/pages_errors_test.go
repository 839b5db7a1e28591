package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// wantFormError checks an error page: the status, the message in plain
// words, a page and not JSON, and the username kept in its input.
func wantFormError(t *testing.T, p *page, status int, msg, username string) {
	t.Helper()
	if p.StatusCode != status {
		t.Errorf("status = %d, want %d", p.StatusCode, status)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want a page", ct)
	}
	if !strings.Contains(p.Body, `role="alert"`) || !strings.Contains(p.Body, msg) {
		t.Errorf("the page does not say %q", msg)
	}
	if username != "" && !strings.Contains(p.Body, `value="`+username+`"`) {
		t.Errorf("the username %q is not kept in the form", username)
	}
	for _, leak := range []string{`"code":`, "goroutine", "sqldb", "SELECT", ".go:"} {
		if strings.Contains(p.Body, leak) {
			t.Errorf("the page leaks %q", leak)
		}
	}
}

// TestPageFormErrors sends every mistake a person can make to the forms.
func TestPageFormErrors(t *testing.T) {
	env := newPageEnv(t, pageOpts{})
	env.client(t).register("alice", pw)
	signedIn := env.client(t)
	signedIn.login("alice", pw)
	anon := env.client(t)
	cred := func(u, p string) url.Values { return url.Values{"username": {u}, "password": {p}} }
	tests := []struct {
		name     string
		c        *client
		from     string
		path     string
		form     url.Values
		status   int
		msg      string
		username string
	}{
		{name: "wrong password", c: anon, from: "/login", path: "/login", form: cred("alice", "wrong password!"), status: 401, msg: "Wrong username or password.", username: "alice"},
		{name: "unknown user", c: anon, from: "/login", path: "/login", form: cred("nobody", pw), status: 401, msg: "Wrong username or password.", username: "nobody"},
		{name: "empty password", c: anon, from: "/login", path: "/login", form: cred("alice", ""), status: 400, msg: "Please fill in every field.", username: "alice"},
		{name: "username taken", c: anon, from: "/register", path: "/register", form: cred("Alice", pw), status: 409, msg: "That username is already taken.", username: "Alice"},
		{name: "password too short", c: anon, from: "/register", path: "/register", form: cred("bob", "short"), status: 422, msg: "Password must be 8 to 256 characters long.", username: "bob"},
		{name: "invalid username", c: anon, from: "/register", path: "/register", form: cred("bob smith", pw), status: 422, msg: "Username may contain only letters", username: "bob smith"},
		{name: "username too short", c: anon, from: "/register", path: "/register", form: cred("bo", pw), status: 422, msg: "Username must be 3 to 32 characters long.", username: "bo"},
		{name: "wrong current password", c: signedIn, from: "/main", path: "/password", form: url.Values{"current_password": {"not it at all"}, "new_password": {"a new long password"}}, status: 401, msg: "Your current password is wrong."},
		{name: "weak new password", c: signedIn, from: "/main", path: "/password", form: url.Values{"current_password": {pw}, "new_password": {"short"}}, status: 422, msg: "Password must be 8 to 256 characters long."},
		{name: "revoke an ended session", c: signedIn, from: "/main", path: "/sessions/01a215a5-ad9a-7bff-a5bc-21836092c5fa/revoke", status: 404, msg: "That session had already ended."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.c.submit(tt.from, tt.path, tt.form)
			wantFormError(t, p, tt.status, tt.msg, tt.username)
		})
	}
	t.Run("password is username", func(t *testing.T) {
		p := anon.submit("/register", "/register", cred("robert", "Robert12")) // not equal: registers
		if p.StatusCode != 303 {
			t.Fatalf("register robert = %d", p.StatusCode)
		}
		p = env.client(t).submit("/register", "/register", cred("roberta1", "ROBERTA1"))
		wantFormError(t, p, 422, "Password must not be the username.", "roberta1")
	})
	t.Run("too much text", func(t *testing.T) {
		c := env.client(t)
		form := cred("alice", strings.Repeat("x", 70_000))
		form.Set("csrf_token", c.token("/login"))
		p := c.post("/login", form, nil)
		if p.StatusCode != 413 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("oversized form = %d %s", p.StatusCode, p.Header.Get("Content-Type"))
		}
	})
	// The mistakes changed nothing: alice's password is the same.
	env.client(t).login("alice", pw)
}

// TestPageBusy fills the hashing pool: a login is shed with 503, a
// Retry-After and a page that says to try again.
func TestPageBusy(t *testing.T) {
	pool := auth.NewPool(1, 1, 20*time.Millisecond)
	env := newPageEnv(t, pageOpts{pool: pool})
	env.client(t).register("alice", pw)
	release := holdPool(t, pool)
	defer release()
	c := env.client(t)
	p := c.submit("/login", "/login", url.Values{"username": {"alice"}, "password": {pw}})
	wantFormError(t, p, http.StatusServiceUnavailable, "The service is unavailable right now.", "alice")
	if p.Header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
}

// holdPool takes the pool's only slot until release is called.
func holdPool(t *testing.T, pool *auth.Pool) (release func()) {
	t.Helper()
	started, done := make(chan struct{}), make(chan struct{})
	go pool.Do(context.Background(), func() { close(started); <-done })
	<-started
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

// TestPageStoreDown puts a TCP proxy between gatehouse and PostgreSQL and
// stops it: the pages say the service is unavailable, with 503.
func TestPageStoreDown(t *testing.T) {
	dsn := testenv.DSN(t, storetest.PostgresEnv)
	u, err := url.Parse(storetest.FreshServerURL(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.addr
	env := newPageEnv(t, pageOpts{storeURL: u.String()})
	c := env.client(t)
	c.register("alice", pw)
	mainToken := c.token("/main")
	proxy.stop()

	anon := env.client(t)
	p := anon.submit("/login", "/login", url.Values{"username": {"alice"}, "password": {pw}})
	wantFormError(t, p, 503, "The service is unavailable right now.", "alice")
	// The signed-in page needs the store for the session list.
	p = c.get("/main")
	wantFormError(t, p, 503, "The service is unavailable right now.", "")
	p = c.post("/password", url.Values{"csrf_token": {mainToken}, "current_password": {pw}, "new_password": {"a new long password"}}, nil)
	wantFormError(t, p, 503, "The service is unavailable right now.", "")
}

// tcpProxy forwards loopback connections to a database server until
// stopped, when it closes them all and refuses new ones.
type tcpProxy struct {
	addr  string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
