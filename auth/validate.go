package auth

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse/gatehouse"
)

// Username and password limits of API.md.
const (
	MinUsername = 3
	MaxUsername = 32
	MinPassword = 8
	MaxPassword = 256
)

// ValidateUsername checks the username rules: 3 to 32 characters from
// A-Z a-z 0-9 . _ -.
func ValidateUsername(username string) error {
	if len(username) < MinUsername || len(username) > MaxUsername {
		return gatehouse.Errorf(gatehouse.EINVALIDUSERNAME, "username must be %d to %d characters long", MinUsername, MaxUsername)
	}
	for i := 0; i < len(username); i++ {
		if !usernameByte(username[i]) {
			return gatehouse.Errorf(gatehouse.EINVALIDUSERNAME, "username may contain only letters A-Z and a-z, digits, '.', '_' and '-'")
		}
	}
	return nil
}

func usernameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// NormalizePassword returns the NFC form of password, so that the composed
// and decomposed spellings of a character are one password.
func NormalizePassword(password string) string {
	return norm.NFC.String(password)
}

// ValidatePassword checks an NFC-normalised password against the policy:
// 8 to 256 code points, valid UTF-8 without NUL, and not the username
// (compared without regard to case).
func ValidatePassword(password, username string) error {
	if !utf8.ValidString(password) || strings.IndexByte(password, 0) >= 0 {
		return gatehouse.Errorf(gatehouse.EWEAKPASSWORD, "password must be valid text without NUL characters")
	}
	if n := utf8.RuneCountInString(password); n < MinPassword || n > MaxPassword {
		return gatehouse.Errorf(gatehouse.EWEAKPASSWORD, "password must be %d to %d characters long", MinPassword, MaxPassword)
	}
	if strings.EqualFold(password, username) {
		return gatehouse.Errorf(gatehouse.EWEAKPASSWORD, "password must not be the username")
	}
	return nil
}

// plausibleCredentials reports whether a login could possibly succeed with
// these inputs. Failing it reveals nothing: the rules are public.
func plausibleCredentials(username, password string) bool {
	n := utf8.RuneCountInString(password)
	return ValidateUsername(username) == nil && n >= 1 && n <= MaxPassword
}
