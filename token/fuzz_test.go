package token

import (
	"crypto/ed25519"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse"
)

// The fuzz fixtures are made once per process, with fixed keys and a fixed
// clock, so that every fuzz worker agrees on which inputs are valid.
var (
	fuzzOnce sync.Once
	fuzzEd   *fixture
	fuzzHS   *fixture
)

// FuzzVerify feeds Verify arbitrary strings. Verify must not panic, must
// answer the same with and without the cache, must refuse with an
// EINVALIDTOKEN *gatehouse.Error, and may accept only a token whose
// signature an independent check finds good under the real key, in
// canonical base64url, with our alg, typ, kid, iss and aud and non-empty
// sub, sid and jti.
func FuzzVerify(f *testing.F) {
	fuzzOnce.Do(func() {
		fuzzEd, fuzzHS = newEdFixtureWithKey(f, fixedKey()), newHSFixture(f)
	})
	var seeds []string
	for _, fx := range []*fixture{fuzzEd, fuzzHS} {
		raw := fx.forgeToken(f) // deterministic: the same in every process
		issued, _ := fx.issue(f)
		seeds = append(seeds,
			raw,
			issued,
			raw[:len(raw)/2],
			raw[:len(raw)-1],
			raw+"A",
			strings.Replace(raw, ".", "..", 1),
			segment(raw, 2, ""),
			segment(raw, 0, "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0"), // {"alg":"none","typ":"at+jwt"}
			strings.ToUpper(raw),
			flip(raw, len(raw)/3),
			flip(raw, len(raw)-5),
			fx.forgeToken(f, header("typ", "AT+JWT")),
			fx.forgeToken(f, claims("aud", []string{"x", testAudience})),
		)
	}
	seeds = append(seeds, "", ".", "..", "a.b.c", "e30.e30.", "e30.e30.e30", strings.Repeat("A", MaxTokenSize+1))
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, fx := range []*fixture{fuzzEd, fuzzHS} {
			got, err := fx.tokens.Verify(raw)
			want, wantErr := fx.uncached.Verify(raw)
			if (err == nil) != (wantErr == nil) || gatehouse.ErrorMessage(err) != gatehouse.ErrorMessage(wantErr) {
				t.Fatalf("cached Verify error %v, uncached %v", err, wantErr)
			}
			if err != nil {
				if got != nil {
					t.Errorf("Verify = %+v with error %v, want nil claims", got, err)
				}
				if code := gatehouse.ErrorCode(err); code != gatehouse.EINVALIDTOKEN {
					t.Fatalf("error code %q (%v), want %q", code, err, gatehouse.EINVALIDTOKEN)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("cached claims %+v, uncached %+v", *got, *want)
			}
			if why := independentCheck(fx, raw); why != "" {
				t.Fatalf("Verify accepted %q: %s", raw, why)
			}
			if got.Issuer != testIssuer || got.Audience != testAudience || got.Subject == "" || got.SessionID == "" || got.ID == "" {
				t.Fatalf("accepted claims %+v lack iss, aud, sub, sid or jti", *got)
			}
		}
	})
}

// independentCheck verifies raw without the code under test, by the
// crypto packages directly. It returns what is wrong, or "".
func independentCheck(f *fixture, raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "not three segments"
	}
	enc := base64.RawURLEncoding.Strict()
	var hdr map[string]any
	for i, p := range parts {
		b, err := enc.DecodeString(p)
		if err != nil || enc.EncodeToString(b) != p {
			return "segment not canonical base64url"
		}
		if i == 0 && json.Unmarshal(b, &hdr) != nil {
			return "header not JSON"
		}
	}
	if hdr["alg"] != f.ks.Algorithm() || hdr["kid"] != f.kid || len(hdr) != 3 {
		return "header is not ours"
	}
	sig, _ := enc.DecodeString(parts[2])
	input := []byte(parts[0] + "." + parts[1])
	if f.secret != nil {
		if !hmac.Equal(sig, hmacSHA256(f.secret, string(input))) {
			return "HMAC does not match"
		}
		return ""
	}
	if !ed25519.Verify(ed25519.PrivateKey(f.signKey.Private).Public().(ed25519.PublicKey), input, sig) {
		return "Ed25519 signature does not verify"
	}
	return ""
}

// flip changes the character at i of a base64url string to another one.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
