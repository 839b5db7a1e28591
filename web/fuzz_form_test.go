package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// FuzzDecodeForm feeds arbitrary bodies to the form decoder of the OAuth
// endpoints: it must never panic, and it must answer either success, with
// each parameter once and in UTF-8, or malformed_request.
func FuzzDecodeForm(f *testing.F) {
	for _, s := range []string{"token=abc", "token=a&token=b", "token=%zz", "token=%ff", "=", "&&", "a=1;b=2", "token=" + strings.Repeat("%41", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/oauth/introspect", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		vals, err := decodeForm(httptest.NewRecorder(), r)
		switch gatehouse.ErrorCode(err) {
		case gatehouse.EMALFORMED:
			return
		case "":
		default:
			t.Fatalf("decodeForm(%q) = %v: want nil or malformed_request", body, err)
		}
		for k, v := range vals {
			if len(v) != 1 {
				t.Fatalf("decodeForm(%q): %q given %d times", body, k, len(v))
			}
		}
	})
}
