package web

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse"
)

// htmlPages are the routes that are deliberately not in openapi.yaml: the
// HTML pages are not part of the JSON API. A page added to routes.go goes
// here; any other new route goes into openapi.yaml.
var htmlPages = map[string]bool{
	"GET /":                      true,
	"GET /{$}":                   true,
	"GET /login":                 true,
	"POST /login":                true,
	"GET /register":              true,
	"POST /register":             true,
	"GET /main":                  true,
	"POST /logout":               true,
	"POST /password":             true,
	"GET /static/{file}":         true,
	"POST /sessions/{id}/revoke": true,
	"GET /forgot":                true,
	"POST /forgot":               true,
	"GET /reset":                 true,
	"POST /reset":                true,
	"GET /verify-email":          true,
	"POST /verify-email":         true,
	"POST /email":                true,
	"POST /email/remove":         true,

	"POST /passkeys/register":        true,
	"POST /passkeys/register/finish": true,
	"POST /passkeys/{id}/rename":     true,
	"POST /passkeys/{id}/delete":     true,
	"GET /login/second-factor":       true,
	"POST /login/second-factor":      true,
	"POST /mfa/totp":                 true,
	"POST /mfa/totp/confirm":         true,
	"POST /mfa/totp/disable":         true,
	"POST /mfa/recovery-codes":       true,
}

// loadOpenAPI parses the embedded document.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(gatehouse.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	return doc
}

func node(t *testing.T, v any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("openapi.yaml: %s is not a mapping", strings.Join(path, "."))
		}
		v = m[p]
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("openapi.yaml: no mapping at %s", strings.Join(path, "."))
	}
	return m
}

// documentedRoutes returns "METHOD /path" for every operation.
func documentedRoutes(t *testing.T, doc map[string]any) []string {
	var out []string
	for path, item := range node(t, doc, "paths") {
		for method := range item.(map[string]any) {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				out = append(out, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIMatchesRoutes: every method-qualified route of routes.go is
// an operation of openapi.yaml and every operation is a route, but for the
// HTML pages. The failure names the route and the file to change.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	var served []string
	for _, p := range NewServer(Deps{ServiceClients: []ServiceClient{{ID: "svc", Secret: "a service secret, long enough"}}}).Routes() {
		if method, _, ok := strings.Cut(p, " "); ok && method != "" && !htmlPages[p] {
			served = append(served, p)
		}
	}
	sort.Strings(served)
	documented := documentedRoutes(t, doc)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is in routes.go but not in openapi.yaml: describe it there (or, for an HTML page, add it to htmlPages in web/openapi_test.go)", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.yaml describes %q, which routes.go does not serve", r)
		}
	}
	if len(served) < 10 {
		t.Fatalf("only %d routes found: %v", len(served), served)
	}
}

// TestOpenAPIErrorCodes: the Problem schema lists exactly error.go's codes,
// each has an example with its real status, and every error response an
// operation documents is under the status of the codes it shows.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadOpenAPI(t)
	var enum []string
	for _, c := range node(t, doc, "components", "schemas", "Problem", "properties", "code")["enum"].([]any) {
		enum = append(enum, c.(string))
	}
	var codes []string
	for c := range codeStatus {
		codes = append(codes, c)
	}
	sort.Strings(enum)
	sort.Strings(codes)
	if !slices.Equal(enum, codes) {
		t.Errorf("Problem.code enum = %v\nerror.go's codes = %v", enum, codes)
	}
	examples := node(t, doc, "components", "examples")
	for _, c := range codes {
		ex, ok := examples[c].(map[string]any)
		if !ok {
			t.Errorf("components.examples has no %q", c)
			continue
		}
		v := ex["value"].(map[string]any)
		if v["code"] != c || v["status"] != codeStatus[c] || v["title"] != codeTitle[c] || v["type"] != ProblemTypePrefix+c {
			t.Errorf("example %s = %v, want status %d, title %q", c, v, codeStatus[c], codeTitle[c])
		}
	}
	for path, item := range node(t, doc, "paths") {
		for method, op := range item.(map[string]any) {
			for status, resp := range node(t, op, "responses") {
				checkErrorResponse(t, doc, strings.ToUpper(method)+" "+path, status, resp)
			}
		}
	}
}

// checkErrorResponse checks that the problem codes a response shows map
// to the status it is documented under.
func checkErrorResponse(t *testing.T, doc map[string]any, op, status string, resp any) {
	t.Helper()
	want, err := strconv.Atoi(status)
	if err != nil {
		t.Errorf("%s: response key %q is not a status", op, status)
		return
	}
	r := resolve(t, doc, resp)
	content, _ := r["content"].(map[string]any)
	pj, ok := content["application/problem+json"].(map[string]any)
	if want >= 400 && !ok {
		t.Errorf("%s %s: an error response without application/problem+json", op, status)
	}
	if !ok {
		return
	}
	exs, _ := pj["examples"].(map[string]any)
	if len(exs) == 0 {
		t.Errorf("%s %s: no example code", op, status)
	}
	for name, ex := range exs {
		if got := codeStatus[name]; got != want {
			t.Errorf("%s: documents %s under %d, but error.go answers it %d", op, name, want, got)
		}
		if v := resolve(t, doc, ex)["value"].(map[string]any); v["code"] != name {
			t.Errorf("%s %s: example %s shows code %v", op, status, name, v["code"])
		}
	}
}

// resolve follows a local $ref.
func resolve(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	ref, ok := m["$ref"].(string)
	if !ok {
		return m
	}
	parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
	return node(t, doc, parts...)
}

// TestOpenAPIRefsResolve: every $ref names something in the document.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	var walk func(v any, at string)
	n := 0
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "$ref" {
					n++
					ref := c.(string)
					cur := any(doc)
					for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
						m, _ := cur.(map[string]any)
						cur = m[p]
					}
					if !strings.HasPrefix(ref, "#/") || cur == nil {
						t.Errorf("%s: $ref %q resolves to nothing", at, ref)
					}
					continue
				}
				walk(c, at+"."+k)
			}
		case []any:
			for i, c := range x {
				walk(c, at+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(doc, "")
	if n < 50 {
		t.Fatalf("only %d $refs: the walk is broken", n)
	}
	if s := node(t, doc, "components", "securitySchemes", "bearer"); s["scheme"] != "bearer" {
		t.Errorf("bearer security scheme = %v", s)
	}
}

// TestServeOpenAPI: the document is served as it is embedded.
func TestServeOpenAPI(t *testing.T) {
	rec := httptest.NewRecorder()
	NewServer(Deps{}).ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.yaml", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != string(gatehouse.OpenAPI) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET /openapi.yaml = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}
