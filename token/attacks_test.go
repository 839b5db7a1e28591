package token

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/golang-jwt/jwt/v5"
)

// tok returns a maker of a hand-forged token (see fixture.forgeToken).
func tok(edits ...edit) func(*testing.T, *fixture) string {
	return func(t *testing.T, f *fixture) string { return f.forgeToken(t, edits...) }
}

// good is a token exactly like Issue's, made by hand.
var good = tok()

// issued is a token from Issue.
func issued(t *testing.T, f *fixture) string {
	raw, _ := f.issue(t)
	return raw
}

// claimAt sets a time claim to now+d when the token is forged.
func claimAt(name string, d time.Duration) func(*testing.T, *fixture) string {
	return func(t *testing.T, f *fixture) string {
		return f.forgeToken(t, claims(name, f.clock.Now().Add(d).Unix()))
	}
}

// noSignature signs with nothing.
func noSignature(*fixture, string) []byte { return nil }

// hmacWithPublicKey is algorithm confusion: HS256 keyed with the bytes of
// the EdDSA public key, which anyone can read from the JWKS.
func hmacWithPublicKey(f *fixture, input string) []byte {
	return hmacSHA256(ed25519.PrivateKey(f.signKey.Private).Public().(ed25519.PublicKey), input)
}

// hmacWithJWKS is algorithm confusion keyed with the published JWKS document.
func hmacWithJWKS(f *fixture, input string) []byte { return hmacSHA256(f.ks.JWKS(), input) }

// attacker is a key of someone else.
var attackerPub, attackerPriv, _ = ed25519.GenerateKey(rand.Reader)

func signedByAttacker(_ *fixture, input string) []byte {
	return ed25519.Sign(attackerPriv, []byte(input))
}

var attackerJWK = map[string]any{
	"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(attackerPub),
}

// segment replaces segment i (0 header, 1 claims, 2 signature) of raw.
func segment(raw string, i int, s string) string {
	parts := strings.Split(raw, ".")
	parts[i] = s
	return strings.Join(parts, ".")
}

// padded returns a validly signed token whose length is the largest not
// over size (over false) or the smallest over it (over true).
func padded(over bool, size int) func(*testing.T, *fixture) string {
	return func(t *testing.T, f *fixture) string {
		var prev string
		start := (size - len(f.forgeToken(t))) * 3 / 4 // pad characters that make about size
		for n := start - 32; n < start+32; n++ {
			raw := f.forgeToken(t, claims("pad", strings.Repeat("x", n)))
			if len(raw) > size {
				if over {
					return raw
				}
				if prev == "" {
					t.Fatal("padding started over the size")
				}
				return prev
			}
			prev = raw
		}
		t.Fatal("no padding reached the size")
		return ""
	}
}

// attacks lists every kind of token Verify must refuse, each beside a
// control that differs from it only in what makes it an attack and must be
// accepted.
var attacks = []struct {
	name    string
	mode    string                            // EdDSA (""), or HS256
	control func(*testing.T, *fixture) string // must verify
	attack  func(*testing.T, *fixture) string // must be refused
	cause   error                             // in the refusal's chain; nil: not checked
	message string                            // "": "token is invalid"
}{
	// The algorithm is pinned.
	{name: "alg none without signature", control: good, attack: tok(header("alg", "none"), signedBy(noSignature)), cause: errMalformed},
	{name: "alg none with the real signature", control: good, attack: tok(header("alg", "none")), cause: jwt.ErrTokenSignatureInvalid},
	{name: "alg None", control: good, attack: tok(header("alg", "None")), cause: jwt.ErrTokenUnverifiable},
	{name: "alg NONE", control: good, attack: tok(header("alg", "NONE")), cause: jwt.ErrTokenUnverifiable},
	{name: "alg missing", control: good, attack: tok(header("alg", nil)), cause: jwt.ErrTokenUnverifiable},
	{name: "alg in lower case", control: good, attack: tok(header("alg", "eddsa")), cause: jwt.ErrTokenUnverifiable},
	{name: "alg ES256", control: good, attack: tok(header("alg", "ES256")), cause: jwt.ErrTokenSignatureInvalid},
	{name: "alg HS256 keyed with the Ed25519 public key", control: good, attack: tok(header("alg", "HS256"), signedBy(hmacWithPublicKey)), cause: jwt.ErrTokenSignatureInvalid},
	{name: "alg HS256 keyed with the JWKS", control: good, attack: tok(header("alg", "HS256"), signedBy(hmacWithJWKS)), cause: jwt.ErrTokenSignatureInvalid},
	{name: "HS256 set: alg none", mode: HS256, control: good, attack: tok(header("alg", "none")), cause: jwt.ErrTokenSignatureInvalid},
	{name: "HS256 set: alg EdDSA signed by the attacker", mode: HS256, control: good, attack: tok(header("alg", "EdDSA"), signedBy(signedByAttacker)), cause: jwt.ErrTokenSignatureInvalid},
	{name: "HS256 set: alg HS512 keyed with the secret", mode: HS256, control: good, attack: tok(header("alg", "HS512"), signedBy(func(f *fixture, input string) []byte {
		m := hmac.New(sha512.New, f.secret)
		m.Write([]byte(input))
		return m.Sum(nil)
	})), cause: jwt.ErrTokenSignatureInvalid},

	// Keys come from the key set only; nothing in the header is fetched.
	{name: "jwk header, signed by our key", control: good, attack: tok(header("jwk", attackerJWK)), cause: errHeader},
	{name: "jwk header with the attacker's key, signed by it", control: good, attack: tok(header("jwk", attackerJWK, "kid", "attacker"), signedBy(signedByAttacker)), cause: errHeader},
	{name: "jku header", control: good, attack: tok(header("jku", "https://evil.test/jwks.json")), cause: errHeader},
	{name: "x5u header", control: good, attack: tok(header("x5u", "https://evil.test/cert.pem")), cause: errHeader},
	{name: "x5c header", control: good, attack: tok(header("x5c", []string{"MIIBszCCAVmgAwIBAgIUP"})), cause: errHeader},
	{name: "crit header", control: good, attack: tok(header("crit", []string{"exp"})), cause: errHeader},
	{name: "b64 false header", control: good, attack: tok(header("b64", false)), cause: errHeader},

	// kid must name a key of the set.
	{name: "kid unknown", control: good, attack: tok(header("kid", "3q2-7wAAAAA")), cause: ErrUnknownKey},
	{name: "kid missing", control: good, attack: tok(header("kid", nil)), cause: errNoKid},
	{name: "kid empty", control: good, attack: tok(header("kid", "")), cause: errNoKid},
	{name: "kid a number", control: good, attack: tok(header("kid", 1)), cause: errNoKid},
	{name: "kid path traversal", control: good, attack: tok(header("kid", "../../../../../../etc/passwd")), cause: ErrUnknownKey},
	{name: "kid SQL", control: good, attack: tok(header("kid", "' OR '1'='1' --")), cause: ErrUnknownKey},
	{name: "kid NUL and control bytes", control: good, attack: tok(header("kid", "\x00\r\n\x7f")), cause: ErrUnknownKey},
	{name: "kid 5 KB", control: good, attack: tok(header("kid", strings.Repeat("A", 5000))), cause: ErrUnknownKey},
	{name: "kid 10 KB", control: good, attack: tok(header("kid", strings.Repeat("A", 10000))), cause: errTooLarge},
	{name: "token of another instance", control: issued, attack: func(t *testing.T, _ *fixture) string {
		return issued(t, newEdFixture(t))
	}, cause: ErrUnknownKey},
	{name: "another instance's key under our kid", control: good, attack: tok(signedBy(signedByAttacker)), cause: jwt.ErrTokenSignatureInvalid},
	{name: "HS256 set: token of another secret", mode: HS256, control: issued, attack: func(t *testing.T, _ *fixture) string {
		ks, _ := NewHS256([]byte("another secret, at least 32 bytes long"))
		raw, _, err := New(ks, Options{Issuer: testIssuer, Audience: testAudience, Now: newClock().Now}).Issue("u1", "s1", "alice")
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}, cause: ErrUnknownKey},
	{name: "HS256 set: another secret under our kid", mode: HS256, control: good, attack: tok(signedBy(func(_ *fixture, input string) []byte {
		return hmacSHA256([]byte("another secret, at least 32 bytes long"), input)
	})), cause: jwt.ErrTokenSignatureInvalid},

	// typ must be at+jwt, compared without regard to case.
	{name: "typ JWT", control: tok(header("typ", "AT+JWT")), attack: tok(header("typ", "JWT")), cause: errType},
	{name: "typ missing", control: tok(header("typ", "application/at+jwt")), attack: tok(header("typ", nil)), cause: errType},
	{name: "typ with a space", control: tok(header("typ", "Application/AT+JWT")), attack: tok(header("typ", "at+jwt ")), cause: errType},
	{name: "typ application/jwt", control: good, attack: tok(header("typ", "application/jwt")), cause: errType},
	{name: "typ of an ID token", control: good, attack: tok(header("typ", "id_token+jwt")), cause: errType},
	{name: "typ an array", control: good, attack: tok(header("typ", []string{"at+jwt"})), cause: errType},

	// Time claims.
	{name: "exp missing", control: good, attack: tok(claims("exp", nil)), cause: jwt.ErrTokenRequiredClaimMissing},
	{name: "exp a second ago", control: claimAt("exp", time.Second), attack: claimAt("exp", -time.Second), cause: errExpired, message: "token has expired"},
	{name: "exp now", control: claimAt("exp", time.Second), attack: claimAt("exp", 0), cause: errExpired, message: "token has expired"},
	{name: "exp a day ago", control: claimAt("exp", time.Hour), attack: claimAt("exp", -24*time.Hour), cause: jwt.ErrTokenExpired, message: "token has expired"},
	{name: "exp an object", control: good, attack: tok(claims("exp", map[string]int{"$gt": 0})), cause: jwt.ErrTokenMalformed},
	{name: "iat beyond leeway", control: claimAt("iat", Leeway), attack: claimAt("iat", Leeway+time.Second), cause: jwt.ErrTokenUsedBeforeIssued},
	{name: "iat missing", control: good, attack: tok(claims("iat", nil)), cause: errNoIssuedAt},
	{name: "nbf in the future", control: claimAt("nbf", Leeway), attack: claimAt("nbf", Leeway+time.Second), cause: jwt.ErrTokenNotValidYet},
	{name: "nbf an hour ahead", control: claimAt("nbf", -time.Hour), attack: claimAt("nbf", time.Hour), cause: jwt.ErrTokenNotValidYet},

	// iss and aud.
	{name: "iss missing", control: good, attack: tok(claims("iss", nil)), cause: jwt.ErrTokenRequiredClaimMissing},
	{name: "iss wrong", control: good, attack: tok(claims("iss", "https://evil.test")), cause: jwt.ErrTokenInvalidIssuer},
	{name: "iss in other case", control: good, attack: tok(claims("iss", strings.ToUpper(testIssuer))), cause: jwt.ErrTokenInvalidIssuer},
	{name: "iss with a trailing slash", control: good, attack: tok(claims("iss", testIssuer+"/")), cause: jwt.ErrTokenInvalidIssuer},
	{name: "iss an array", control: good, attack: tok(claims("iss", []string{testIssuer})), cause: jwt.ErrTokenMalformed},
	{name: "aud missing", control: good, attack: tok(claims("aud", nil)), cause: jwt.ErrTokenRequiredClaimMissing},
	{name: "aud empty", control: good, attack: tok(claims("aud", "")), cause: jwt.ErrTokenRequiredClaimMissing},
	{name: "aud wrong", control: good, attack: tok(claims("aud", "billing")), cause: jwt.ErrTokenInvalidAudience},
	{name: "aud array without ours", control: tok(claims("aud", []string{"billing", testAudience})), attack: tok(claims("aud", []string{"billing", "admin"})), cause: jwt.ErrTokenInvalidAudience},
	{name: "aud array of a number", control: tok(claims("aud", []string{testAudience})), attack: tok(claims("aud", []any{1})), cause: jwt.ErrTokenMalformed},

	// sub, sid and jti are required.
	{name: "sub missing", control: good, attack: tok(claims("sub", nil)), cause: errNoSubject},
	{name: "sub empty", control: good, attack: tok(claims("sub", "")), cause: errNoSubject},
	{name: "sid missing", control: good, attack: tok(claims("sid", nil)), cause: errNoSession},
	{name: "jti missing", control: good, attack: tok(claims("jti", nil)), cause: errNoID},

	// Size.
	{name: "over 8 KiB, validly signed", control: padded(false, MaxTokenSize), attack: padded(true, MaxTokenSize), cause: errTooLarge},
	{name: "a megabyte", control: good, attack: func(*testing.T, *fixture) string { return strings.Repeat("A", 1<<20) }, cause: errTooLarge},

	// Signatures.
	{name: "signature stripped", control: issued, attack: func(t *testing.T, f *fixture) string {
		return segment(issued(t, f), 2, "")
	}, cause: errMalformed},
	{name: "signature segment dropped", control: issued, attack: func(t *testing.T, f *fixture) string {
		raw := issued(t, f)
		return raw[:strings.LastIndexByte(raw, '.')]
	}, cause: errMalformed},
	{name: "signature of another token spliced", control: issued, attack: func(t *testing.T, f *fixture) string {
		a := issued(t, f)
		b, _, err := f.tokens.Issue("u2", "s2", "bob")
		if err != nil {
			t.Fatal(err)
		}
		return segment(a, 2, strings.Split(b, ".")[2])
	}, cause: jwt.ErrTokenSignatureInvalid},
	{name: "claims of another token spliced", control: issued, attack: func(t *testing.T, f *fixture) string {
		a := issued(t, f)
		admin := f.forgeToken(t, claims("sub", "admin"))
		return segment(a, 1, strings.Split(admin, ".")[1])
	}, cause: jwt.ErrTokenSignatureInvalid},
	{name: "HS256 set: claims tampered", mode: HS256, control: issued, attack: func(t *testing.T, f *fixture) string {
		a := issued(t, f)
		admin := f.forgeToken(t, claims("sub", "admin"))
		return segment(a, 1, strings.Split(admin, ".")[1])
	}, cause: jwt.ErrTokenSignatureInvalid},
	{name: "header tampered", control: issued, attack: func(t *testing.T, f *fixture) string {
		return segment(issued(t, f), 0, strings.Split(f.forgeToken(t, header("typ", "AT+JWT")), ".")[0])
	}, cause: jwt.ErrTokenSignatureInvalid},
	{name: "signature bit flipped", control: issued, attack: func(t *testing.T, f *fixture) string {
		raw := []byte(issued(t, f))
		i := len(raw) - 10
		raw[i] = map[bool]byte{true: 'B', false: 'A'}[raw[i] == 'A']
		return string(raw)
	}, cause: jwt.ErrTokenSignatureInvalid},
	{name: "signature truncated", control: issued, attack: func(t *testing.T, f *fixture) string {
		raw := issued(t, f)
		sig, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[2])
		return segment(raw, 2, base64.RawURLEncoding.EncodeToString(sig[:len(sig)-1]))
	}, cause: jwt.ErrTokenSignatureInvalid},
	{name: "signature in non-canonical base64", control: issued, attack: func(t *testing.T, f *fixture) string {
		// The last character of a 64-byte signature carries 2 bits and 4 zero
		// bits; setting one gives another spelling of the same bytes.
		raw := []byte(issued(t, f))
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		raw[len(raw)-1] = alphabet[strings.IndexByte(alphabet, raw[len(raw)-1])|1]
		return string(raw)
	}, cause: jwt.ErrTokenMalformed},
	{name: "padding appended", control: issued, attack: func(t *testing.T, f *fixture) string { return issued(t, f) + "==" }, cause: errMalformed},
	{name: "newline in the signature", control: issued, attack: func(t *testing.T, f *fixture) string {
		raw := issued(t, f)
		return raw[:len(raw)-20] + "\n" + raw[len(raw)-20:]
	}, cause: errMalformed},
	{name: "leading space", control: issued, attack: func(t *testing.T, f *fixture) string { return " " + issued(t, f) }, cause: errMalformed},
	{name: "five segments like a JWE", control: issued, attack: func(t *testing.T, f *fixture) string { return issued(t, f) + ".AAAA.AAAA" }, cause: errMalformed},
	{name: "empty string", control: issued, attack: func(*testing.T, *fixture) string { return "" }, cause: errMalformed},
	{name: "a refresh token", control: issued, attack: func(t *testing.T, _ *fixture) string {
		b := make([]byte, 32)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}, cause: errMalformed},
	{name: "a refresh token in gatehouse's form", control: issued, attack: func(t *testing.T, _ *fixture) string {
		rt, _ := gatehouse.NewRefreshToken(gatehouse.NewID(time.Now()), 0)
		return rt.Sign(gatehouse.NewRefreshKey()) // as the store makes them
	}, cause: errMalformed},
	{name: "a refresh token with JWT-like dots", control: issued, attack: func(t *testing.T, _ *fixture) string {
		return "ghr_" + strings.Repeat("A", 14) + "." + strings.Repeat("B", 14) + "." + strings.Repeat("C", 13)
	}, cause: jwt.ErrTokenMalformed},
	// The reverse, an access token presented as a refresh token, is
	// refused by auth.Service.Refresh (auth's TestTokensAreNotInterchangeable).
	{name: "Bearer prefix left on", control: issued, attack: func(t *testing.T, f *fixture) string { return "Bearer " + issued(t, f) }, cause: errMalformed},

	// JSON.
	{name: "header not JSON", control: good, attack: tok(rawJSON("alg=EdDSA", "")), cause: jwt.ErrTokenMalformed},
	{name: "header a JSON array", control: good, attack: tok(rawJSON(`["EdDSA"]`, "")), cause: jwt.ErrTokenMalformed},
	{name: "claims a JSON array", control: good, attack: tok(rawJSON("", `[1,2]`)), cause: jwt.ErrTokenMalformed},
	{name: "claims with trailing data", control: good, attack: func(t *testing.T, f *fixture) string {
		n := f.clock.Now()
		return f.forgeToken(t, rawJSON("", `{"iss":"`+testIssuer+`","sub":"u1","aud":"gatehouse","exp":`+strconv.FormatInt(n.Unix()+60, 10)+`,"iat":`+strconv.FormatInt(n.Unix(), 10)+`,"jti":"j","sid":"s"}{}`))
	}, cause: jwt.ErrTokenMalformed},
}

// TestVerifyRefusesAttacks runs every attack, with and without the
// verified-token cache, beside its control.
func TestVerifyRefusesAttacks(t *testing.T) {
	ed, hs := newEdFixture(t), newHSFixture(t)
	for _, tc := range attacks {
		t.Run(tc.name, func(t *testing.T) {
			f := ed
			if tc.mode == HS256 {
				f = hs
			}
			control := tc.control(t, f)
			wantValid(t, f, control)
			attack := tc.attack(t, f)
			if attack == control {
				t.Fatal("the attack is the control")
			}
			err := wantInvalid(t, f, attack, tc.cause)
			want := tc.message
			if want == "" {
				want = "token is invalid"
			}
			if got := gatehouse.ErrorMessage(err); got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		})
	}
}

// TestKeyURLsNeverFetched points jku and x5u at a live server: the token
// is refused and the server never hears from the verifier.
func TestKeyURLsNeverFetched(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"attacker","x":%q}]}`, attackerJWK["x"])
	}))
	defer srv.Close()
	f := newEdFixture(t)
	for _, name := range []string{"jku", "x5u"} {
		raw := f.forgeToken(t, header(name, srv.URL+"/keys", "kid", "attacker"), signedBy(signedByAttacker))
		wantInvalid(t, f, raw, errHeader)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the key URL was fetched %d times", n)
	}
}
