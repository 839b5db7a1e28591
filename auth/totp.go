package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"net/url"
	"strings"
	"time"
)

// TOTP (RFC 6238) as every authenticator app does it: HMAC-SHA1, 6
// digits, 30-second steps. Written out here (HOTP is a dozen lines, RFC
// 4226 §5.3) rather than imported, so that the window and the replay rule
// are in plain sight.
const (
	totpPeriod = 30
	totpDigits = 6
	totpSkew   = 1  // steps accepted either side of now, for clock drift and typing time
	totpSecret = 20 // bytes: 160 bits, RFC 4226's recommended length
)

// totpStep is the time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// hotp is the RFC 4226 code of secret at counter, as 6 digits.
func hotp(secret []byte, counter int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	const mod = 1_000_000
	s := []byte("000000")
	for i, n := len(s)-1, v%mod; i >= 0; i, n = i-1, n/10 {
		s[i] = byte('0' + n%10)
	}
	return string(s)
}

// matchTOTP returns the time step, within totpSkew of now, whose code is
// code. Every step of the window is compared, in constant time, so the
// time taken does not tell which step (or how much of a code) matched.
// The caller must still refuse a step not after the last one accepted.
func matchTOTP(secret []byte, code string, now time.Time) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	if len(code) != totpDigits {
		return 0, false
	}
	cur := totpStep(now)
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		if subtle.ConstantTimeCompare([]byte(hotp(secret, cur+d)), []byte(code)) == 1 {
			step, ok = cur+d, true
		}
	}
	return step, ok
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newTOTPSecret returns a new random secret.
func newTOTPSecret() []byte {
	b := make([]byte, totpSecret)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// totpURI is the otpauth:// URI that authenticator apps read from a QR
// code (the Key Uri Format of Google Authenticator, which all follow).
func totpURI(issuer, username string, secret []byte) string {
	q := url.Values{}
	q.Set("secret", b32.EncodeToString(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", "6")
	q.Set("period", "30")
	label := url.PathEscape(issuer) + ":" + url.PathEscape(username)
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// TOTPCode returns the code of a base32 secret (as EnrolTOTP shows it) at
// t: what an authenticator app would show. For tests and tools.
func TOTPCode(secret string, t time.Time) (string, error) {
	b, err := b32.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		return "", err
	}
	return hotp(b, totpStep(t)), nil
}
