package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

const (
	svcID     = "billing"
	svcSecret = "a+secret/with%-and-more-than-16"
)

// serviceServer is a server with one service client and one user, alice,
// logged in.
type serviceServer struct {
	url    string
	svc    *auth.Service
	access string
	pair   *auth.TokenPair
}

func newServiceServer(t *testing.T, clients []web.ServiceClient) *serviceServer {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "web.db"), sqldb.Options{})
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
		Tokens:     token.New(keys, token.Options{Issuer: "https://auth.example/", Audience: "gatehouse", TTL: 15 * time.Minute}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.NewServer(web.Deps{Auth: svc, Keys: keys, Store: db, ServiceClients: clients}))
	t.Cleanup(srv.Close)
	if _, err := svc.Register(ctx, "alice", "alices password"); err != nil {
		t.Fatal(err)
	}
	s := &serviceServer{url: srv.URL, svc: svc}
	s.login(t)
	return s
}

func (s *serviceServer) login(t *testing.T) *auth.TokenPair {
	t.Helper()
	p, err := s.svc.Login(context.Background(), "alice", "alices password", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	s.pair, s.access = p, p.AccessToken
	return p
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// post sends a form-encoded body with the given Basic credentials (user
// "" for none).
func post(t *testing.T, url, user, pass, contentType, body string) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	json.Unmarshal(b, &r.body)
	return r
}

const form = "application/x-www-form-urlencoded"

func TestIntrospection(t *testing.T) {
	s := newServiceServer(t, []web.ServiceClient{{ID: svcID, Secret: svcSecret}, {ID: "other", Secret: "another-long-secret"}})
	u := s.url + "/oauth/introspect"
	tok := "token=" + url.QueryEscape(s.access)
	for _, tc := range []struct {
		name        string
		user, pass  string
		contentType string
		body        string
		status      int
		code, oauth string // of the problem document
		active      bool
	}{
		{name: "no credentials", contentType: form, body: tok, status: 401, code: "invalid_credentials", oauth: "invalid_client"},
		{name: "wrong secret", user: svcID, pass: svcSecret + "x", contentType: form, body: tok, status: 401, code: "invalid_credentials", oauth: "invalid_client"},
		{name: "another client's secret", user: svcID, pass: "another-long-secret", contentType: form, body: tok, status: 401, code: "invalid_credentials", oauth: "invalid_client"},
		{name: "JSON body", user: svcID, pass: svcSecret, contentType: "application/json", body: `{"token":"x"}`, status: 415, code: "unsupported_media_type", oauth: "invalid_request"},
		{name: "latin1 form", user: svcID, pass: svcSecret, contentType: form + "; charset=latin1", body: tok, status: 415, code: "unsupported_media_type", oauth: "invalid_request"},
		{name: "no token", user: svcID, pass: svcSecret, contentType: form, body: "token_type_hint=access_token", status: 400, code: "malformed_request", oauth: "invalid_request"},
		{name: "token twice", user: svcID, pass: svcSecret, contentType: form, body: tok + "&" + tok, status: 400, code: "malformed_request", oauth: "invalid_request"},
		{name: "bad escape", user: svcID, pass: svcSecret, contentType: form, body: "token=%zz", status: 400, code: "malformed_request", oauth: "invalid_request"},
		{name: "too large", user: svcID, pass: svcSecret, contentType: form, body: "token=" + strings.Repeat("a", 70_000), status: 413, code: "payload_too_large", oauth: "invalid_request"},
		{name: "garbage token", user: svcID, pass: svcSecret, contentType: form, body: "token=garbage", status: 200},
		{name: "refresh token", user: svcID, pass: svcSecret, contentType: form, body: "token=" + s.pair.RefreshToken, status: 200},
		{name: "valid", user: svcID, pass: svcSecret, contentType: form, body: tok + "&token_type_hint=access_token&extra=ignored", status: 200, active: true},
		{name: "form-encoded credentials", user: svcID, pass: url.QueryEscape(svcSecret), contentType: form, body: tok, status: 200, active: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, u, tc.user, tc.pass, tc.contentType, tc.body)
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if tc.code != "" {
				if r.body["code"] != tc.code || r.body["error"] != tc.oauth || r.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("problem = %s, want code %s and error %s", r.raw, tc.code, tc.oauth)
				}
				if tc.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("WWW-Authenticate = %q, want Basic", r.header.Get("WWW-Authenticate"))
				}
				return
			}
			if r.body["active"] != tc.active || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("body = %s, Cache-Control %q; want active %v, no-store", r.raw, r.header.Get("Cache-Control"), tc.active)
			}
			if !tc.active && len(r.body) != 1 {
				t.Errorf("inactive answer says more than active: %s", r.raw)
			}
			if tc.active && (r.body["username"] != "alice" || r.body["sid"] != s.pair.Session.ID || r.body["iss"] != "https://auth.example/" || r.body["exp"] == nil) {
				t.Errorf("active answer = %s", r.raw)
			}
		})
	}

	t.Run("after logout", func(t *testing.T) {
		req, _ := http.NewRequest("POST", s.url+"/api/logout", nil)
		req.Header.Set("Authorization", "Bearer "+s.access)
		if r := do(t, req); r.status != 204 {
			t.Fatalf("logout = %d", r.status)
		}
		if r := post(t, u, svcID, svcSecret, form, tok); r.body["active"] != false {
			t.Errorf("introspection after logout = %s, want inactive", r.raw)
		}
	})
}

func TestRevocationEndpoint(t *testing.T) {
	s := newServiceServer(t, []web.ServiceClient{{ID: svcID, Secret: svcSecret}})
	u := s.url + "/oauth/revoke"
	me := func(access string) int {
		req, _ := http.NewRequest("GET", s.url+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		return do(t, req).status
	}
	if r := post(t, u, "", "", form, "token="+s.access); r.status != 401 || r.body["error"] != "invalid_client" {
		t.Fatalf("without credentials: %d %s", r.status, r.raw)
	}
	if me(s.access) != 200 {
		t.Fatal("the token was revoked by an unauthenticated request")
	}
	for name, tok := range map[string]func() string{
		"access token":  func() string { return s.login(t).AccessToken },
		"refresh token": func() string { return s.login(t).RefreshToken },
	} {
		t.Run(name, func(t *testing.T) {
			raw := tok()
			access := s.access
			if me(access) != 200 {
				t.Fatal("fresh token refused")
			}
			r := post(t, u, svcID, svcSecret, form, "token="+url.QueryEscape(raw))
			if r.status != 200 || r.raw != "" {
				t.Fatalf("revoke = %d %q, want 200 and no body", r.status, r.raw)
			}
			if got := me(access); got != 401 {
				t.Errorf("access token after revoking its session's %s: %d, want 401", name, got)
			}
		})
	}
	for _, body := range []string{"token=garbage", "token=" + url.QueryEscape(s.access), "token=ghr_nope"} {
		if r := post(t, u, svcID, svcSecret, form, body); r.status != 200 {
			t.Errorf("revoke %s = %d %s, want 200: nothing to revoke is no error", body, r.status, r.raw)
		}
	}
}

func TestRevocationFeedEndpoint(t *testing.T) {
	s := newServiceServer(t, []web.ServiceClient{{ID: svcID, Secret: svcSecret}})
	get := func(query, user, pass string) reply {
		req, _ := http.NewRequest("GET", s.url+"/api/revocations"+query, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		return do(t, req)
	}
	if r := get("", "", ""); r.status != 401 || r.body["code"] != "invalid_credentials" || r.body["error"] != nil {
		t.Fatalf("without credentials: %d %s", r.status, r.raw)
	}
	for _, q := range []string{"?after=abc", "?after=-1", "?after=+1", "?after=1&after=2", "?after=99999999999999999999"} {
		if r := get(q, svcID, svcSecret); r.status != 400 || r.body["code"] != "malformed_request" {
			t.Errorf("%s: %d %s, want 400 malformed_request", q, r.status, r.raw)
		}
	}
	r := get("", svcID, svcSecret)
	if r.status != 200 || r.raw != "{\"revocations\":[],\"next\":0}\n" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("empty feed = %d %q", r.status, r.raw)
	}
	if err := s.svc.RevokeToken(context.Background(), s.access); err != nil {
		t.Fatal(err)
	}
	var feed struct {
		Revocations []struct {
			Seq   int64
			SID   string
			Until string
		}
		Next int64
	}
	r = get("?after=0", svcID, svcSecret)
	if err := json.Unmarshal([]byte(r.raw), &feed); err != nil || len(feed.Revocations) != 1 {
		t.Fatalf("feed after a revocation = %s", r.raw)
	}
	e := feed.Revocations[0]
	until, err := time.Parse(time.RFC3339, e.Until)
	if e.SID != s.pair.Session.ID || e.Seq != feed.Next || err != nil || until.Before(time.Now().Add(15*time.Minute)) {
		t.Errorf("entry = %+v, next %d; want sid %s, seq = next, until past the token's exp", e, feed.Next, s.pair.Session.ID)
	}
}

func TestServiceEndpointsOffWithoutClients(t *testing.T) {
	s := newServiceServer(t, nil)
	for _, tc := range []struct{ method, path string }{
		{"POST", "/oauth/introspect"}, {"GET", "/oauth/introspect"}, {"POST", "/oauth/revoke"}, {"GET", "/api/revocations"},
	} {
		req, _ := http.NewRequest(tc.method, s.url+tc.path, strings.NewReader("token=x"))
		req.Header.Set("Content-Type", form)
		req.SetBasicAuth(svcID, svcSecret)
		if r := do(t, req); r.status != 404 || r.body["code"] != "not_found" {
			t.Errorf("%s %s without SERVICE_CLIENTS = %d %s, want 404", tc.method, tc.path, r.status, r.raw)
		}
	}
}

func TestMetadata(t *testing.T) {
	for _, tc := range []struct {
		name    string
		clients []web.ServiceClient
	}{{"without clients", nil}, {"with clients", []web.ServiceClient{{ID: svcID, Secret: svcSecret}}}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServiceServer(t, tc.clients)
			req, _ := http.NewRequest("GET", s.url+"/.well-known/oauth-authorization-server", nil)
			r := do(t, req)
			if r.status != 200 || r.header.Get("Cache-Control") != "public, max-age=300" {
				t.Fatalf("metadata = %d, Cache-Control %q", r.status, r.header.Get("Cache-Control"))
			}
			if r.body["issuer"] != "https://auth.example/" || r.body["jwks_uri"] != "https://auth.example/.well-known/jwks.json" {
				t.Errorf("metadata = %s", r.raw)
			}
			_, has := r.body["introspection_endpoint"]
			if has != (tc.clients != nil) {
				t.Errorf("introspection_endpoint present = %v with clients %v: %s", has, tc.clients, r.raw)
			}
			if tc.clients != nil && (r.body["revocation_endpoint"] != "https://auth.example/oauth/revoke" || r.body["revocation_feed_endpoint"] != "https://auth.example/api/revocations") {
				t.Errorf("metadata = %s", r.raw)
			}
			req, _ = http.NewRequest("GET", s.url+"/.well-known/jwks.json", nil)
			if r := do(t, req); r.header.Get("Cache-Control") != "public, max-age=300" {
				t.Errorf("JWKS Cache-Control = %q", r.header.Get("Cache-Control"))
			}
		})
	}
}

func TestParseServiceClients(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		fail bool
	}{
		{in: "", n: 0},
		{in: "a:0123456789abcdef", n: 1},
		{in: " a:0123456789abcdef , b:0123456789abcdef:with:colons ,", n: 2},
		{in: "a:short", fail: true},
		{in: "a0123456789abcdef", fail: true},
		{in: ":0123456789abcdef", fail: true},
		{in: "a:0123456789abcdef,a:0123456789abcdeg", fail: true},
	} {
		got, err := web.ParseServiceClients(tc.in)
		if (err != nil) != tc.fail || len(got) != tc.n {
			t.Errorf("ParseServiceClients(%q) = %v, %v; want %d clients, failure %v", tc.in, got, err, tc.n, tc.fail)
		}
	}
}
