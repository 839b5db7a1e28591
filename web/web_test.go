package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

// newServer returns an httptest server over a fresh SQLite store, with
// metrics and no access log.
func newServer(t testing.TB) *httptest.Server {
	t.Helper()
	srv, _ := newServerWith(t, nil)
	return srv
}

// newServerWith returns an httptest server over a fresh SQLite store that
// logs to log (nil: the default logger, no access log), and its service.
func newServerWith(t testing.TB, log *slog.Logger) (*httptest.Server, *auth.Service) {
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
	m := metrics.New()
	k, err := token.GenerateEd25519(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewEdDSA([]*gatehouse.SigningKey{k}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(auth.Config{
		Store:      db,
		Tokens:     token.New(keys, token.Options{Issuer: "http://test", Audience: "gatehouse", TTL: 15 * time.Minute}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: time.Hour,
		Observer:   m,
		Logger:     log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(context.Background()) })
	srv := httptest.NewServer(web.NewServer(web.Deps{Auth: svc, Keys: keys, Store: db, Logger: log,
		Metrics: m.Handler(), Requests: m, AccessLog: log != nil}))
	t.Cleanup(srv.Close)
	return srv, svc
}

// TestBadInput sends every kind of broken request and checks the problem
// document: never a 500, never a stack trace or SQL.
func TestBadInput(t *testing.T) {
	srv := newServer(t)
	huge := `{"username":"` + strings.Repeat("a", 70_000) + `","password":"x"}`
	deep := strings.Repeat(`{"a":`, 10_000) + "1" + strings.Repeat("}", 10_000)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		header      map[string]string
		status      int
		code        string
	}{
		{name: "no content type", method: "POST", path: "/api/register", body: `{"username":"abc","password":"password1"}`, status: 415, code: "unsupported_media_type"},
		{name: "form content type", method: "POST", path: "/api/login", contentType: "application/x-www-form-urlencoded", body: "username=a&password=b", status: 415, code: "unsupported_media_type"},
		{name: "text/json", method: "POST", path: "/api/login", contentType: "text/json", body: `{}`, status: 415, code: "unsupported_media_type"},
		{name: "latin1 charset", method: "POST", path: "/api/login", contentType: "application/json; charset=latin1", body: `{}`, status: 415, code: "unsupported_media_type"},
		{name: "oversized body", method: "POST", path: "/api/register", contentType: "application/json", body: huge, status: 413, code: "payload_too_large"},
		{name: "malformed JSON", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":`, status: 400, code: "malformed_request"},
		{name: "trailing data", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"abc","password":"password1"} {}`, status: 400, code: "malformed_request"},
		{name: "trailing garbage", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"abc","password":"password1"}x`, status: 400, code: "malformed_request"},
		{name: "unknown field", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"abc","password":"password1","admin":true}`, status: 400, code: "malformed_request"},
		{name: "wrong type", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":123,"password":"password1"}`, status: 400, code: "malformed_request"},
		{name: "array body", method: "POST", path: "/api/login", contentType: "application/json", body: `[1,2]`, status: 400, code: "malformed_request"},
		{name: "null body", method: "POST", path: "/api/login", contentType: "application/json", body: `null`, status: 400, code: "malformed_request"},
		{name: "empty body", method: "POST", path: "/api/login", contentType: "application/json", body: ``, status: 400, code: "malformed_request"},
		{name: "missing field", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"abc"}`, status: 400, code: "malformed_request"},
		{name: "invalid UTF-8", method: "POST", path: "/api/register", contentType: "application/json", body: "{\"username\":\"ab\xffc\",\"password\":\"password1\"}", status: 400, code: "malformed_request"},
		{name: "NUL in username", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"ab\u0000c","password":"password1"}`, status: 422, code: "invalid_username"},
		{name: "deeply nested", method: "POST", path: "/api/login", contentType: "application/json", body: deep, status: 400, code: "malformed_request"},
		{name: "SQL-looking username", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"x' OR '1'='1","password":"password1"}`, status: 401, code: "invalid_credentials"},
		{name: "refresh missing token", method: "POST", path: "/api/token/refresh", contentType: "application/json", body: `{}`, status: 400, code: "malformed_request"},
		{name: "logout bad JSON", method: "POST", path: "/api/logout", contentType: "application/json", body: `{`, status: 401, code: "invalid_token"},
		{name: "unknown path", method: "GET", path: "/api/nothing", status: 404, code: "not_found"},
		{name: "wrong method", method: "GET", path: "/api/login", status: 405, code: "method_not_allowed"},
		{name: "wrong method on session", method: "GET", path: "/api/sessions/abc", status: 405, code: "method_not_allowed"},
		{name: "no token", method: "GET", path: "/api/main", status: 401, code: "invalid_token"},
		{name: "basic auth", method: "GET", path: "/api/me", header: map[string]string{"Authorization": "Basic YWxpY2U6cHc="}, status: 401, code: "invalid_token"},
		{name: "garbage token", method: "GET", path: "/api/me", header: map[string]string{"Authorization": "Bearer not.a.jwt"}, status: 401, code: "invalid_token"},
		{name: "empty bearer", method: "GET", path: "/api/me", header: map[string]string{"Authorization": "Bearer "}, status: 401, code: "invalid_token"},
		{name: "100 KB token", method: "GET", path: "/api/me", header: map[string]string{"Authorization": "Bearer " + strings.Repeat("a", 20_000)}, status: 401, code: "invalid_token"},
		{name: "token in query", method: "GET", path: "/api/me?access_token=abc", status: 401, code: "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !strings.Contains(string(body), `"code":"`+tt.code+`"`) {
				t.Errorf("body = %s, want code %s", body, tt.code)
			}
			for _, leak := range []string{"goroutine", "panic", "SELECT", "INSERT", "sql", ".go:"} {
				if strings.Contains(string(body), leak) {
					t.Errorf("body leaks %q: %s", leak, body)
				}
			}
		})
	}
}

func TestHealthAndMetrics(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/.well-known/jwks.json"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d %s", path, resp.StatusCode, body)
		}
		if path == "/metrics" && !strings.Contains(string(body), `gatehouse_http_requests_total{code="200",route="GET /healthz"} 1`) {
			t.Errorf("metrics do not count /healthz:\n%s", body)
		}
		if path == "/.well-known/jwks.json" && (!strings.Contains(string(body), `"use":"sig"`) || strings.Contains(string(body), `"d"`)) {
			t.Errorf("JWKS = %s", body)
		}
	}
}
