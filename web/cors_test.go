package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/web"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{in: "http://localhost:5173", want: "http://localhost:5173", ok: true},
		{in: "HTTPS://App.Example.COM", want: "https://app.example.com", ok: true},
		{in: "https://app.example.com:443", want: "https://app.example.com", ok: true},
		{in: "http://app.example.com:80/", want: "http://app.example.com", ok: true},
		{in: "https://app.example.com:8443", want: "https://app.example.com:8443", ok: true},
		{in: " http://[::1]:3000 ", want: "http://[::1]:3000", ok: true},
		{in: "*"},
		{in: "null"},
		{in: "app.example.com"},
		{in: "ftp://app.example.com"},
		{in: "https://app.example.com/path"},
		{in: "https://user@app.example.com"},
		{in: "https://app.example.com?x=1"},
		{in: "https://"},
		{in: ""},
	}
	for _, tt := range tests {
		got, err := web.ParseOrigin(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && err == nil {
			t.Errorf("ParseOrigin(%q) = %q, want an error", tt.in, got)
		}
	}
}

// TestCORS checks preflights and simple requests with CORS on and off.
func TestCORS(t *testing.T) {
	const app = "http://localhost:5173"
	on := newPageEnv(t, pageOpts{cors: []string{app, "https://admin.example.com"}})
	off := newPageEnv(t, pageOpts{})
	type want struct {
		status      int
		allowOrigin string // "" : no header
		preflight   bool   // Allow-Methods and Allow-Headers present
		vary        bool
	}
	tests := []struct {
		name   string
		env    *pageEnv
		method string
		path   string
		header map[string]string
		want   want
	}{
		{name: "preflight allowed", env: on, method: "OPTIONS", path: "/api/me",
			header: map[string]string{"Origin": app, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"},
			want:   want{status: 204, allowOrigin: app, preflight: true, vary: true}},
		{name: "preflight for a POST", env: on, method: "OPTIONS", path: "/api/login",
			header: map[string]string{"Origin": app, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
			want:   want{status: 204, allowOrigin: app, preflight: true, vary: true}},
		{name: "preflight for a PUT", env: on, method: "OPTIONS", path: "/api/email",
			header: map[string]string{"Origin": app, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization, content-type"},
			want:   want{status: 204, allowOrigin: app, preflight: true, vary: true}},
		{name: "preflight from another origin", env: on, method: "OPTIONS", path: "/api/me",
			header: map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
			want:   want{status: 204, vary: true}},
		{name: "preflight from a near miss", env: on, method: "OPTIONS", path: "/api/me",
			header: map[string]string{"Origin": app + ".evil.example", "Access-Control-Request-Method": "GET"},
			want:   want{status: 204, vary: true}},
		{name: "request allowed", env: on, method: "GET", path: "/api/me",
			header: map[string]string{"Origin": app},
			want:   want{status: 401, allowOrigin: app, vary: true}},
		{name: "request from another origin", env: on, method: "GET", path: "/api/me",
			header: map[string]string{"Origin": "http://evil.example"},
			want:   want{status: 401, vary: true}},
		{name: "request without origin", env: on, method: "GET", path: "/healthz",
			want: want{status: 200}},
		{name: "jwks", env: on, method: "GET", path: "/.well-known/jwks.json",
			header: map[string]string{"Origin": "https://admin.example.com"},
			want:   want{status: 200, allowOrigin: "https://admin.example.com", vary: true}},
		{name: "pages are not opened", env: on, method: "GET", path: "/login",
			header: map[string]string{"Origin": app},
			want:   want{status: 200}},
		{name: "off: preflight", env: off, method: "OPTIONS", path: "/api/me",
			header: map[string]string{"Origin": app, "Access-Control-Request-Method": "GET"},
			want:   want{status: 405}},
		{name: "off: request", env: off, method: "GET", path: "/api/me",
			header: map[string]string{"Origin": app},
			want:   want{status: 401}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.env.URL+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := tt.env.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			if resp.StatusCode != tt.want.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want.status)
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.want.allowOrigin {
				t.Errorf("Allow-Origin = %q, want %q", got, tt.want.allowOrigin)
			}
			if got := h.Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("Allow-Credentials = %q: no credentials mode is offered", got)
			}
			gotPre := h.Get("Access-Control-Allow-Methods") != ""
			if gotPre != tt.want.preflight {
				t.Errorf("preflight headers present = %v, want %v", gotPre, tt.want.preflight)
			}
			if tt.want.preflight {
				if ah := strings.ToLower(h.Get("Access-Control-Allow-Headers")); !strings.Contains(ah, "authorization") || !strings.Contains(ah, "content-type") {
					t.Errorf("Allow-Headers = %q", ah)
				}
				if !strings.Contains(h.Get("Access-Control-Allow-Methods"), tt.header["Access-Control-Request-Method"]) {
					t.Errorf("Allow-Methods = %q", h.Get("Access-Control-Allow-Methods"))
				}
			}
			if tt.want.allowOrigin != "" && !tt.want.preflight && !strings.Contains(h.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
				t.Errorf("Expose-Headers = %q", h.Get("Access-Control-Expose-Headers"))
			}
			if gotVary := slices.Contains(h.Values("Vary"), "Origin"); gotVary != tt.want.vary {
				t.Errorf("Vary = %q, want Origin: %v", h.Values("Vary"), tt.want.vary)
			}
		})
	}
}
