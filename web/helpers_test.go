package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// call sends a JSON request (body nil sends none) with an optional bearer.
func call(t *testing.T, method, url, bearer string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && json.Unmarshal(raw, &out.body) != nil {
		t.Fatalf("%s %s: body is not JSON: %q", method, url, raw)
	}
	return out
}

func register(t *testing.T, base, username, password string) {
	t.Helper()
	if r := call(t, "POST", base+"/api/register", "", map[string]string{"username": username, "password": password}); r.status != 201 {
		t.Fatalf("register %s: %d %s", username, r.status, r.raw)
	}
}

// login returns the access token.
func login(t *testing.T, base, username, password string) string {
	t.Helper()
	r := call(t, "POST", base+"/api/login", "", map[string]string{"username": username, "password": password})
	if r.status != 200 {
		t.Fatalf("login %s: %d %s", username, r.status, r.raw)
	}
	tok, _ := r.body["access_token"].(string)
	return tok
}
