package auth

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name, username string
		ok             bool
	}{
		{name: "shortest", username: "abc", ok: true},
		{name: "longest", username: strings.Repeat("a", 32), ok: true},
		{name: "all allowed characters", username: "A.z_0-9", ok: true},
		{name: "too short", username: "ab"},
		{name: "too long", username: strings.Repeat("a", 33)},
		{name: "space", username: "al ice"},
		{name: "non-ASCII letter", username: "alicé"},
		{name: "SQL-looking", username: "a' OR '1'='1"},
		{name: "NUL", username: "ali\x00ce"},
		{name: "empty", username: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateUsername(tt.username)
			if tt.ok && err != nil {
				t.Errorf("ValidateUsername(%q) = %v, want nil", tt.username, err)
			}
			if !tt.ok && gatehouse.ErrorCode(err) != gatehouse.EINVALIDUSERNAME {
				t.Errorf("ValidateUsername(%q) code = %q, want %q", tt.username, gatehouse.ErrorCode(err), gatehouse.EINVALIDUSERNAME)
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name, password string
		ok             bool
	}{
		{name: "eight characters", password: "12345678", ok: true},
		{name: "eight multi-byte characters", password: "éééééééé", ok: true},
		{name: "256 code points", password: strings.Repeat("é", 256), ok: true},
		{name: "seven characters", password: "1234567"},
		{name: "257 code points", password: strings.Repeat("é", 257)},
		{name: "equal to the username", password: "alice.smith"},
		{name: "username in other case", password: "ALICE.SMITH"},
		{name: "NUL", password: "pass\x00word"},
		{name: "invalid UTF-8", password: "pass\xffword"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePassword(NormalizePassword(tt.password), "alice.smith")
			if tt.ok && err != nil {
				t.Errorf("ValidatePassword(%q) = %v, want nil", tt.password, err)
			}
			if !tt.ok && gatehouse.ErrorCode(err) != gatehouse.EWEAKPASSWORD {
				t.Errorf("ValidatePassword(%q) code = %q, want %q", tt.password, gatehouse.ErrorCode(err), gatehouse.EWEAKPASSWORD)
			}
		})
	}
}

// TestNFC checks that the composed and decomposed forms of é are one
// password, also in the length count.
func TestNFC(t *testing.T) {
	composed, decomposed := "caf\u00e9-latte", "cafe\u0301-latte"
	if composed == decomposed {
		t.Fatal("test strings are equal before normalisation")
	}
	if NormalizePassword(decomposed) != composed {
		t.Errorf("NormalizePassword(%q) = %q, want %q", decomposed, NormalizePassword(decomposed), composed)
	}
	// 7 code points composed, 8 decomposed: too short either way.
	if err := ValidatePassword(NormalizePassword("caf\u0065\u0301xyz"), "bob"); err == nil {
		t.Error("a decomposed 7-character password was counted as 8")
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"alice", "a", "a' OR 1=1 --", "caf\u0065\u0301", "\x00", "\xff\xfe", strings.Repeat("é", 300)} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, username, password string) {
		uerr := ValidateUsername(username)
		if uerr == nil {
			if len(username) < MinUsername || len(username) > MaxUsername {
				t.Fatalf("accepted username of length %d", len(username))
			}
			for i := 0; i < len(username); i++ {
				if !usernameByte(username[i]) {
					t.Fatalf("accepted username %q", username)
				}
			}
		} else if gatehouse.ErrorCode(uerr) != gatehouse.EINVALIDUSERNAME {
			t.Fatalf("username error code %q", gatehouse.ErrorCode(uerr))
		}
		p := NormalizePassword(password)
		if NormalizePassword(p) != p {
			t.Fatalf("NFC is not idempotent on %q", password)
		}
		perr := ValidatePassword(p, username)
		if perr == nil {
			n := utf8.RuneCountInString(p)
			if !utf8.ValidString(p) || n < MinPassword || n > MaxPassword || strings.EqualFold(p, username) || strings.IndexByte(p, 0) >= 0 {
				t.Fatalf("accepted password %q", p)
			}
		} else if gatehouse.ErrorCode(perr) != gatehouse.EWEAKPASSWORD {
			t.Fatalf("password error code %q", gatehouse.ErrorCode(perr))
		}
	})
}
