package auth

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfc6238Secret is the SHA-1 key of RFC 6238 Appendix B.
var rfc6238Secret = []byte("12345678901234567890")

// TestHOTPVectors: RFC 6238 Appendix B's SHA-1 values, cut to 6 digits.
func TestHOTPVectors(t *testing.T) {
	for _, c := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		if got := hotp(rfc6238Secret, totpStep(time.Unix(c.unix, 0))); got != c.want {
			t.Errorf("code at %d = %s, want %s", c.unix, got, c.want)
		}
	}
}

// TestTOTPWindow: with a fixed clock, the codes of the steps before, at
// and after now are accepted (with their own step, which the replay rule
// compares); two steps away they are refused.
func TestTOTPWindow(t *testing.T) {
	now := time.Unix(1_700_000_015, 0) // mid-step
	cur := totpStep(now)
	for d := int64(-3); d <= 3; d++ {
		code := hotp(rfc6238Secret, cur+d)
		step, ok := matchTOTP(rfc6238Secret, code, now)
		wantOK := d >= -1 && d <= 1
		if ok != wantOK || ok && step != cur+d {
			t.Errorf("step %+d: matchTOTP = %d, %v; want %d, %v", d, step, ok, cur+d, wantOK)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", " "} {
		if _, ok := matchTOTP(rfc6238Secret, bad, now); ok {
			t.Errorf("matchTOTP(%q) accepted", bad)
		}
	}
	// The edges of the step: a code made at the step's last second is
	// still good 30 s later, not 60 s later.
	start := time.Unix(cur*totpPeriod, 0)
	code := hotp(rfc6238Secret, cur)
	if _, ok := matchTOTP(rfc6238Secret, code, start.Add(59*time.Second)); !ok {
		t.Error("the previous step's code was refused")
	}
	if _, ok := matchTOTP(rfc6238Secret, code, start.Add(60*time.Second)); ok {
		t.Error("a code two steps old was accepted")
	}
}

func TestTOTPURI(t *testing.T) {
	u, err := url.Parse(totpURI("gate house", "alice", rfc6238Secret))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/gate house:alice" ||
		q.Get("secret") != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" || q.Get("issuer") != "gate house" ||
		q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("totpURI = %s", u)
	}
	code, err := TOTPCode(strings.ToLower(q.Get("secret")), time.Unix(59, 0))
	if err != nil || code != "287082" {
		t.Errorf("TOTPCode = %q, %v", code, err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := newRecoveryCodes(RecoveryCodes)
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 14 || c[4] != '-' || c[9] != '-' || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		for _, typed := range []string{c, strings.ToUpper(c), strings.ReplaceAll(c, "-", " "), strings.ReplaceAll(c, "-", "")} {
			h, ok := hashRecoveryCode(typed)
			if !ok || string(h) != string(hashes[i]) {
				t.Errorf("%q as typed %q does not hash the same", c, typed)
			}
		}
	}
	for _, bad := range []string{"", "abcd-efgh-ijk", "abcd-efgh-ijkl-m", "abcd-efgh-ijk1", "abcd_efgh_ijkl"} {
		if _, ok := hashRecoveryCode(bad); ok {
			t.Errorf("hashRecoveryCode(%q) accepted", bad)
		}
	}
}
