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
	srv, _ := newServerOpts(t, nil, nil)
	return srv
}

// newServerWith returns an httptest server over a fresh SQLite store that
// logs to log (nil: the default logger, no access log), and its service.
func newServerWith(t testing.TB, log *slog.Logger) (*httptest.Server, *auth.Service) {
	t.Helper()
	return newServerOpts(t, log, nil)
}

// newServerEdit is newServer with the service's and server's settings
// changed by edit before they are built.
func newServerEdit(t testing.TB, edit func(*auth.Config, *web.Deps)) *httptest.Server {
	t.Helper()
	srv, _ := newServerOpts(t, nil, edit)
	return srv
}

// newServerOpts builds the server of newServerWith and newServerEdit.
func newServerOpts(t testing.TB, log *slog.Logger, edit func(*auth.Config, *web.Deps)) (*httptest.Server, *auth.Service) {
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
	cfg := auth.Config{
		Store:      db,
		Tokens:     token.New(keys, token.Options{Issuer: "http://test", Audience: "gatehouse", TTL: 15 * time.Minute}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: time.Hour,
		Observer:   m,
		Logger:     log,
	}
	deps := web.Deps{Keys: keys, Store: db, Logger: log, Metrics: m.Handler(), Requests: m, AccessLog: log != nil}
	if edit != nil {
		edit(&cfg, &deps)
	}
	svc, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	deps.Auth = svc
	t.Cleanup(func() { svc.Close(context.Background()) })
	srv := httptest.NewServer(web.NewServer(deps))
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
		chunked     bool // send the body without a Content-Length
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

		// Media type and size.
		{name: "json with boundary parameter", method: "POST", path: "/api/login", contentType: "application/json; boundary=x", body: `{}`, status: 415, code: "unsupported_media_type"},
		{name: "json-seq", method: "POST", path: "/api/login", contentType: "application/json-seq", body: `{}`, status: 415, code: "unsupported_media_type"},
		{name: "unparseable content type", method: "POST", path: "/api/login", contentType: "application/json;;;=", body: `{}`, status: 415, code: "unsupported_media_type"},
		{name: "oversized chunked body", method: "POST", path: "/api/login", contentType: "application/json", body: huge, chunked: true, status: 413, code: "payload_too_large"},
		{name: "one byte over 64 KiB", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"` + strings.Repeat("a", web.MaxBody+1-29) + `","password":""}`, status: 413, code: "payload_too_large"},
		{name: "exactly 64 KiB is read", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"` + strings.Repeat("a", web.MaxBody-29) + `","password":""}`, status: 401, code: "invalid_credentials"},

		// Malformed JSON.
		{name: "trailing comma", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"abc","password":"password1",}`, status: 400, code: "malformed_request"},
		{name: "single quotes", method: "POST", path: "/api/login", contentType: "application/json", body: `{'username':'abc','password':'password1'}`, status: 400, code: "malformed_request"},
		{name: "comment", method: "POST", path: "/api/login", contentType: "application/json", body: `{/*x*/"username":"abc","password":"password1"}`, status: 400, code: "malformed_request"},
		{name: "UTF-8 BOM", method: "POST", path: "/api/login", contentType: "application/json", body: "\xef\xbb\xbf" + `{"username":"abc","password":"password1"}`, status: 400, code: "malformed_request"},
		{name: "UTF-16", method: "POST", path: "/api/login", contentType: "application/json", body: "\xff\xfe{\x00}\x00", status: 400, code: "malformed_request"},
		{name: "invalid UTF-8 in a key", method: "POST", path: "/api/login", contentType: "application/json", body: "{\"user\xffname\":\"abc\",\"password\":\"password1\"}", status: 400, code: "malformed_request"},
		{name: "raw NUL byte", method: "POST", path: "/api/login", contentType: "application/json", body: "{\"username\":\"ab\x00c\",\"password\":\"password1\"}", status: 400, code: "malformed_request"},
		{name: "NUL byte outside strings", method: "POST", path: "/api/login", contentType: "application/json", body: "{\"username\":\"abc\",\"password\":\"password1\"}\x00", status: 400, code: "malformed_request"},
		{name: "deeply nested array in a field", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":` + strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000) + `}`, status: 400, code: "malformed_request"},
		{name: "duplicate member", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"abc","password":"password1","password":"password2"}`, status: 400, code: "malformed_request"},
		{name: "duplicate member in another case", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"abcd","USERNAME":"efgh","password":"password1"}`, status: 400, code: "malformed_request"},
		{name: "duplicate member by case folding", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"abcd","u\u017fername":"efgh","password":"password1"}`, status: 400, code: "malformed_request"},
		{name: "huge number", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":1e999,"password":"x"}`, status: 400, code: "malformed_request"},

		// Wrong types and missing values.
		{name: "password a number", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"abc","password":12345678}`, status: 400, code: "malformed_request"},
		{name: "username null", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":null,"password":"password1"}`, status: 400, code: "malformed_request"},
		{name: "username true", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":true,"password":"password1"}`, status: 400, code: "malformed_request"},
		{name: "username an object", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":{"$ne":""},"password":"password1"}`, status: 400, code: "malformed_request"},
		{name: "password an array", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"abc","password":["a"]}`, status: 400, code: "malformed_request"},
		{name: "refresh token a number", method: "POST", path: "/api/token/refresh", contentType: "application/json", body: `{"refresh_token":1}`, status: 400, code: "malformed_request"},
		{name: "empty object", method: "POST", path: "/api/login", contentType: "application/json", body: `{}`, status: 400, code: "malformed_request"},

		// Hostile values that decode: a clean 4xx from the rules.
		{name: "NUL escape in password at register", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"abcd","password":"pass\u0000word1"}`, status: 422, code: "weak_password"},
		{name: "NUL escape in password at login", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"abcd","password":"pass\u0000word1"}`, status: 401, code: "invalid_credentials"},
		{name: "lone surrogate escapes", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"abcd","password":"\ud800\ud800\ud800\ud800\ud800\ud800\ud800\ud800"}`, status: 400, code: "malformed_request"},
		{name: "reversed surrogate pair", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"abcd","password":"pass\udc00\ud800word"}`, status: 400, code: "malformed_request"},
		{name: "SQL-looking username at register", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"x'; DROP TABLE users; --","password":"password1"}`, status: 422, code: "invalid_username"},
		{name: "SQL comment username at login", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"admin'--","password":"password1"}`, status: 401, code: "invalid_credentials"},
		{name: "SQL-looking refresh token", method: "POST", path: "/api/token/refresh", contentType: "application/json", body: `{"refresh_token":"ghr_' OR 1=1 --"}`, status: 401, code: "invalid_refresh_token"},
		{name: "non-ASCII username", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"ålice","password":"password1"}`, status: 422, code: "invalid_username"},
		{name: "10 KB username at login", method: "POST", path: "/api/login", contentType: "application/json", body: `{"username":"` + strings.Repeat("a", 10_000) + `","password":"password1"}`, status: 401, code: "invalid_credentials"},
		{name: "257-character password", method: "POST", path: "/api/register", contentType: "application/json", body: `{"username":"abcd","password":"` + strings.Repeat("é", 257) + `"}`, status: 422, code: "weak_password"},
		{name: "SQL in a session id", method: "DELETE", path: "/api/sessions/x'%20OR%201=1", status: 401, code: "invalid_token"},
		{name: "unknown method", method: "BREW", path: "/api/login", status: 405, code: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rd io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				rd = io.MultiReader(rd) // hides the length from net/http
			}
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, rd)
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
