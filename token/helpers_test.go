package token

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

const (
	testIssuer   = "https://gatehouse.test"
	testAudience = "gatehouse"
)

// t0 is the fixed start of every test clock.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// testSecret is a 32-byte HS256 secret.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// clock is an injected, settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// fixture is one key set and the Tokens over it, with the key material a
// forger would need to make tokens by hand.
type fixture struct {
	clock    *clock
	ks       *KeySet
	tokens   *Tokens // with the verified-token cache
	uncached *Tokens // without it
	kid      string
	signKey  *gatehouse.SigningKey // EdDSA only
	secret   []byte                // HS256 only
}

// newEdFixture returns an EdDSA fixture with one fresh key.
func newEdFixture(t testing.TB) *fixture {
	t.Helper()
	sk, err := GenerateEd25519(t0.Add(-time.Hour))
	if err != nil {
		t.Fatalf("GenerateEd25519: %v", err)
	}
	return newEdFixtureWithKey(t, sk)
}

// fixedKey returns an Ed25519 signing key that is the same in every
// process (for fuzzing, whose workers must agree on what is valid).
func fixedKey() *gatehouse.SigningKey {
	seed := sha256.Sum256([]byte("gatehouse token test key"))
	return &gatehouse.SigningKey{
		ID:        "test-key-1",
		Algorithm: EdDSA,
		Private:   ed25519.NewKeyFromSeed(seed[:]),
		CreatedAt: t0.Add(-time.Hour),
		NotBefore: t0.Add(-time.Hour),
	}
}

// newEdFixtureWithKey returns an EdDSA fixture with the key sk.
func newEdFixtureWithKey(t testing.TB, sk *gatehouse.SigningKey) *fixture {
	t.Helper()
	clk := newClock()
	ks, err := NewEdDSA([]*gatehouse.SigningKey{sk}, t0)
	if err != nil {
		t.Fatalf("NewEdDSA: %v", err)
	}
	return newFixture(t, clk, ks, sk.ID, sk, nil)
}

// newHSFixture returns an HS256 fixture with testSecret.
func newHSFixture(t testing.TB) *fixture {
	t.Helper()
	ks, err := NewHS256(testSecret)
	if err != nil {
		t.Fatalf("NewHS256: %v", err)
	}
	return newFixture(t, newClock(), ks, ks.state.Load().signers[0].id, nil, testSecret)
}

func newFixture(t testing.TB, clk *clock, ks *KeySet, kid string, sk *gatehouse.SigningKey, secret []byte) *fixture {
	t.Helper()
	opts := Options{Issuer: testIssuer, Audience: testAudience, TTL: 15 * time.Minute, Now: clk.Now}
	uncached := opts
	uncached.CacheSize = -1
	return &fixture{
		clock:    clk,
		ks:       ks,
		tokens:   New(ks, opts),
		uncached: New(ks, uncached),
		kid:      kid,
		signKey:  sk,
		secret:   secret,
	}
}

// issue issues a token for user u1 in session s1 or fails the test.
func (f *fixture) issue(t testing.TB) (string, *Claims) {
	t.Helper()
	raw, c, err := f.tokens.Issue("u1", "s1", "alice")
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return raw, c
}

// forge is a token being made by hand.
type forge struct {
	header     map[string]any
	claims     map[string]any
	headerJSON string                                // if set, the header as it is, instead of header
	claimsJSON string                                // if set, the claims as they are, instead of claims
	sign       func(f *fixture, input string) []byte // nil: the fixture's real key
	after      func(f *fixture, raw string) string   // a last change to the compact form
}

// edit changes a token being forged.
type edit func(*forge)

// forgeToken builds a compact JWT by hand: a header and claims like Issue's,
// changed by edits, signed as the edits say (by default with the real key).
func (f *fixture) forgeToken(t testing.TB, edits ...edit) string {
	t.Helper()
	now := f.clock.Now()
	fg := &forge{
		header: map[string]any{"alg": f.ks.Algorithm(), "typ": "at+jwt", "kid": f.kid},
		claims: map[string]any{
			"iss": testIssuer, "sub": "u1", "aud": testAudience,
			"exp": now.Add(15 * time.Minute).Unix(), "iat": now.Unix(),
			"jti": "j1", "sid": "s1", "preferred_username": "alice",
		},
	}
	for _, e := range edits {
		e(fg)
	}
	h, c := b64JSON(t, fg.header), b64JSON(t, fg.claims)
	if fg.headerJSON != "" {
		h = base64.RawURLEncoding.EncodeToString([]byte(fg.headerJSON))
	}
	if fg.claimsJSON != "" {
		c = base64.RawURLEncoding.EncodeToString([]byte(fg.claimsJSON))
	}
	input := h + "." + c
	sign := fg.sign
	if sign == nil {
		sign = realSignature
	}
	raw := input + "." + base64.RawURLEncoding.EncodeToString(sign(f, input))
	if fg.after != nil {
		raw = fg.after(f, raw)
	}
	return raw
}

func b64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// realSignature signs input as the fixture's KeySet would.
func realSignature(f *fixture, input string) []byte {
	if f.secret != nil {
		return hmacSHA256(f.secret, input)
	}
	return ed25519.Sign(ed25519.PrivateKey(f.signKey.Private), []byte(input))
}

func hmacSHA256(secret []byte, input string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return m.Sum(nil)
}

// header sets (or, with nil, deletes) header parameters, name then value.
func header(kv ...any) edit {
	return func(fg *forge) { set(fg.header, kv) }
}

// claims sets (or, with nil, deletes) claims, name then value.
func claims(kv ...any) edit {
	return func(fg *forge) { set(fg.claims, kv) }
}

func set(m map[string]any, kv []any) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
}

// rawJSON replaces the header, the claims or both (when not empty) with
// JSON text as it is.
func rawJSON(header, claims string) edit {
	return func(fg *forge) { fg.headerJSON, fg.claimsJSON = header, claims }
}

// signedBy signs with the given function instead of the real key.
func signedBy(sign func(f *fixture, input string) []byte) edit {
	return func(fg *forge) { fg.sign = sign }
}

// then changes the compact form once it is made.
func then(change func(f *fixture, raw string) string) edit {
	return func(fg *forge) { fg.after = change }
}

// wantValid fails the test unless tok verifies, with and without the cache.
func wantValid(t *testing.T, f *fixture, raw string) *Claims {
	t.Helper()
	var got *Claims
	for _, tk := range []*Tokens{f.uncached, f.tokens, f.tokens} { // the second f.tokens is a cache hit
		c, err := tk.Verify(raw)
		if err != nil {
			t.Fatalf("Verify(control) = %v, want no error", err)
		}
		got = c
	}
	return got
}

// wantInvalid fails the test unless raw is refused, with and without the
// cache, with an EINVALIDTOKEN *gatehouse.Error (and cause, if not nil, in
// its chain). It returns the error.
func wantInvalid(t *testing.T, f *fixture, raw string, cause error) error {
	t.Helper()
	var last error
	for _, tk := range []*Tokens{f.uncached, f.tokens} {
		c, err := tk.Verify(raw)
		if err == nil {
			t.Fatalf("Verify(attack) = %+v, nil; want an error", c)
		}
		if c != nil {
			t.Errorf("Verify(attack) claims = %+v, want nil", c)
		}
		var ge *gatehouse.Error
		if !errors.As(err, &ge) {
			t.Fatalf("Verify(attack) error %v is not a *gatehouse.Error", err)
		}
		if got, want := ge.Code, gatehouse.EINVALIDTOKEN; got != want {
			t.Errorf("error code = %q, want %q", got, want)
		}
		if cause != nil && !errors.Is(err, cause) {
			t.Errorf("error = %v, want cause %v", err, cause)
		}
		last = err
	}
	return last
}
