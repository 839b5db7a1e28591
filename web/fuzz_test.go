package web

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// FuzzDecode feeds arbitrary bodies to the strict decoder: it must never
// panic, and it must answer either success or a client error code.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"username":"abc","password":"password1"}`, `{}`, `[]`, `null`, `{"username":1}`, `{"a":{"b":[1,2,{"c":null}]}}`, "{\"username\":\"\xff\"}", `{"username":"a"} {}`, `{"username":"\u0000"}`, strings.Repeat("[", 1000), `{"password":"\ud83d\ude00"}`, `{"password":"\ud800"}`, `{"password":"\udc00\ud800"}`, `{"password":"\ud800\\u0041"}`, `{"username":"\ufffd"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v struct {
			Username *string `json:"username"`
			Password *string `json:"password"`
		}
		err := unmarshalStrict([]byte(body), &v)
		switch gatehouse.ErrorCode(err) {
		case "", gatehouse.EMALFORMED:
		default:
			t.Fatalf("unmarshalStrict(%q) = %v: want nil or malformed_request", body, err)
		}
		if err == nil && !strings.HasPrefix(strings.TrimSpace(body), "{") {
			t.Fatalf("accepted a body that is not an object: %q", body)
		}
		// Nothing is silently replaced: a U+FFFD in the result was sent.
		for _, v := range []*string{v.Username, v.Password} {
			if err == nil && v != nil && strings.ContainsRune(*v, utf8.RuneError) &&
				!strings.ContainsRune(body, utf8.RuneError) && !strings.Contains(strings.ToLower(body), `\ufffd`) {
				t.Fatalf("unmarshalStrict(%q) made %q: a replacement character nobody sent", body, *v)
			}
		}
	})
}

// FuzzBearerToken checks the Authorization parser: a token it returns is
// always a non-empty RFC 6750 b64token taken from a Bearer header.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer abc", "BEARER  abc==", "Basic abc", "Bearer", "Bearer ", "Bearer a b", "Bearer abc=def", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r, _ := http.NewRequest("GET", "/", nil)
		if header != "" {
			r.Header["Authorization"] = []string{header}
		}
		tok, ok := bearerToken(r)
		if tok == "" {
			return
		}
		if !ok || !isB64Token(tok) || !strings.HasSuffix(header, tok) || !strings.EqualFold(header[:6], "bearer") {
			t.Fatalf("bearerToken(%q) = %q, %v", header, tok, ok)
		}
	})
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		tok    string
		ok     bool
	}{
		{name: "none"},
		{name: "bearer", header: []string{"Bearer abc.def"}, tok: "abc.def", ok: true},
		{name: "lower-case scheme", header: []string{"bearer abc"}, tok: "abc", ok: true},
		{name: "extra spaces", header: []string{"Bearer   abc"}, tok: "abc", ok: true},
		{name: "padding", header: []string{"Bearer abc=="}, tok: "abc==", ok: true},
		{name: "other scheme", header: []string{"Basic abc"}},
		{name: "empty token", header: []string{"Bearer "}, ok: true},
		{name: "two tokens", header: []string{"Bearer a b"}, ok: true},
		{name: "two headers", header: []string{"Bearer a", "Bearer b"}, ok: true},
		{name: "padding inside", header: []string{"Bearer a=b"}, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			if tt.header != nil {
				r.Header["Authorization"] = tt.header
			}
			tok, ok := bearerToken(r)
			if tok != tt.tok || ok != tt.ok {
				t.Errorf("bearerToken = %q, %v; want %q, %v", tok, ok, tt.tok, tt.ok)
			}
		})
	}
}
