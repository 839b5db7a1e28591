package auth

import (
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":          "alice@example.com",
		"  Alice.B+tag@Example.org ": "Alice.B+tag@Example.org",
		"a@sub.example.co":           "a@sub.example.co",
	} {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "alice", "alice@", "@example.com", "alice@localhost", "alice@example.", "alice@.example.com",
		"Alice <alice@example.com>", "alice@example.com (Alice)", "al ice@example.com", "alice@exämple.com",
		"élise@example.com", "a\x00b@example.com", "a\nb@example.com", "alice@example.com,bob@example.com",
		strings.Repeat("a", 243) + "@example.com",
	} {
		if got, err := NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want an error", in, got)
		}
	}
}

func TestLinkHash(t *testing.T) {
	tok, hash := newLinkToken()
	if len(tok) != 43 || string(linkHash(tok)) != string(hash) {
		t.Fatalf("token %q does not hash to its hash", tok)
	}
	for _, bad := range []string{"", tok[:42], tok + "A", strings.Repeat("*", 43)} {
		if linkHash(bad) != nil {
			t.Errorf("linkHash(%q) is not nil", bad)
		}
	}
}
