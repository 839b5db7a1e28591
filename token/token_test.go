package token

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// fixtures returns one fixture per mode, named for it.
func fixtures(t *testing.T) []struct {
	name string
	f    *fixture
} {
	t.Helper()
	return []struct {
		name string
		f    *fixture
	}{
		{name: EdDSA, f: newEdFixture(t)},
		{name: HS256, f: newHSFixture(t)},
	}
}

func TestIssueVerify(t *testing.T) {
	for _, tc := range fixtures(t) {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			raw, issued := f.issue(t)
			want := &Claims{
				Issuer:    testIssuer,
				Subject:   "u1",
				Audience:  testAudience,
				IssuedAt:  t0,
				ExpiresAt: t0.Add(15 * time.Minute),
				ID:        issued.ID,
				SessionID: "s1",
				Username:  "alice",
			}
			if got := issued; !reflect.DeepEqual(got, want) {
				t.Errorf("Issue claims = %+v, want %+v", got, *want)
			}
			if got := len(issued.ID); got < 22 { // 128 bits in base64url
				t.Errorf("len(jti) = %d, want >= 22", got)
			}
			for _, tk := range []*Tokens{f.uncached, f.tokens, f.tokens} {
				got, err := tk.Verify(raw)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Verify claims = %+v, want %+v", *got, *want)
				}
			}
			if got, want := f.tokens.TTL(), 15*time.Minute; got != want {
				t.Errorf("TTL() = %v, want %v", got, want)
			}
		})
	}
}

func TestIssueHeader(t *testing.T) {
	for _, tc := range fixtures(t) {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := tc.f.issue(t)
			b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
			if err != nil {
				t.Fatalf("decode header: %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("unmarshal header: %v", err)
			}
			want := map[string]any{"alg": tc.name, "typ": "at+jwt", "kid": tc.f.kid}
			if len(got) != len(want) {
				t.Errorf("header = %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("header[%q] = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestIssueJTIUnique(t *testing.T) {
	f := newEdFixture(t)
	seen := map[string]bool{}
	for range 100 {
		_, c := f.issue(t)
		if seen[c.ID] {
			t.Fatalf("jti %q issued twice", c.ID)
		}
		seen[c.ID] = true
	}
}

func TestIssueRefusesEmptySubjectOrSession(t *testing.T) {
	f := newEdFixture(t)
	for _, tc := range []struct{ name, sub, sid string }{
		{name: "no subject", sid: "s1"},
		{name: "no session", sub: "u1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := f.tokens.Issue(tc.sub, tc.sid, "alice"); err == nil {
				t.Errorf("Issue(%q, %q) = nil error, want one", tc.sub, tc.sid)
			}
		})
	}
}

func TestVerifyExpiry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		after   time.Duration
		wantErr string // "" : valid
	}{
		{name: "at issue", after: 0},
		{name: "a second before exp", after: 15*time.Minute - time.Second},
		{name: "at exp", after: 15 * time.Minute, wantErr: "token has expired"},
		{name: "within leeway after exp", after: 15*time.Minute + 10*time.Second, wantErr: "token has expired"},
		{name: "an hour after exp", after: 75 * time.Minute, wantErr: "token has expired"},
		{name: "clock before iat beyond leeway", after: -time.Minute, wantErr: "token is invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, fc := range fixtures(t) {
				f := fc.f
				raw, _ := f.issue(t)
				f.tokens.Verify(raw) // fill the cache: it must not change the outcome
				f.clock.Add(tc.after)
				for _, tk := range []*Tokens{f.uncached, f.tokens} {
					_, err := tk.Verify(raw)
					if got := gatehouse.ErrorMessage(err); got != tc.wantErr {
						t.Errorf("%s: Verify after %v: message %q (err %v), want %q", fc.name, tc.after, got, err, tc.wantErr)
					}
					if err != nil {
						if got, want := gatehouse.ErrorCode(err), gatehouse.EINVALIDTOKEN; got != want {
							t.Errorf("%s: code %q, want %q", fc.name, got, want)
						}
					}
				}
			}
		})
	}
}

// TestRestart: a new KeySet made from the stored key, as after a restart or
// on another instance, verifies a token issued before.
func TestRestart(t *testing.T) {
	f := newEdFixture(t)
	raw, want := f.issue(t)

	stored := *f.signKey // what the store gives back
	stored.Private = bytes.Clone(f.signKey.Private)
	ks, err := NewEdDSA([]*gatehouse.SigningKey{&stored}, t0)
	if err != nil {
		t.Fatalf("NewEdDSA: %v", err)
	}
	got, err := New(ks, Options{Issuer: testIssuer, Audience: testAudience, Now: f.clock.Now}).Verify(raw)
	if err != nil {
		t.Fatalf("Verify after restart: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("claims = %+v, want %+v", *got, *want)
	}

	t.Run("HS256", func(t *testing.T) {
		f := newHSFixture(t)
		raw, _ := f.issue(t)
		ks, err := NewHS256(bytes.Clone(testSecret))
		if err != nil {
			t.Fatalf("NewHS256: %v", err)
		}
		if _, err := New(ks, Options{Issuer: testIssuer, Audience: testAudience, Now: f.clock.Now}).Verify(raw); err != nil {
			t.Errorf("Verify after restart: %v", err)
		}
	})
}

func TestNewHS256(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		wantErr bool
	}{
		{name: "empty", size: 0, wantErr: true},
		{name: "31 bytes", size: 31, wantErr: true},
		{name: "32 bytes", size: 32},
		{name: "64 bytes", size: 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := bytes.Repeat([]byte{'k'}, tc.size)
			ks, err := NewHS256(secret)
			if got := err != nil; got != tc.wantErr {
				t.Fatalf("NewHS256(%d bytes) error = %v, want error %v", tc.size, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got, want := ks.Algorithm(), HS256; got != want {
				t.Errorf("Algorithm() = %q, want %q", got, want)
			}
			kid := ks.state.Load().signers[0].id
			if strings.Contains(kid, "kkkk") || kid == "" {
				t.Errorf("kid = %q, want an opaque id", kid)
			}
		})
	}

	t.Run("kid depends on the secret", func(t *testing.T) {
		a, _ := NewHS256(bytes.Repeat([]byte{'a'}, 32))
		b, _ := NewHS256(bytes.Repeat([]byte{'b'}, 32))
		a2, _ := NewHS256(bytes.Repeat([]byte{'a'}, 32))
		ka, kb, ka2 := a.state.Load().signers[0].id, b.state.Load().signers[0].id, a2.state.Load().signers[0].id
		if ka == kb {
			t.Errorf("kid of two secrets = %q, want different", ka)
		}
		if ka != ka2 {
			t.Errorf("kid of one secret = %q then %q, want the same", ka, ka2)
		}
	})

	t.Run("secret is copied", func(t *testing.T) {
		secret := bytes.Clone(testSecret)
		ks, _ := NewHS256(secret)
		tk := New(ks, Options{Issuer: testIssuer, Audience: testAudience})
		raw, _, err := tk.Issue("u1", "s1", "alice")
		if err != nil {
			t.Fatal(err)
		}
		secret[0] ^= 1
		if _, err := tk.Verify(raw); err != nil {
			t.Errorf("Verify after the caller changed its secret: %v", err)
		}
	})
}

func TestJWKS(t *testing.T) {
	t.Run("EdDSA: public keys only", func(t *testing.T) {
		old, _ := GenerateEd25519(t0.Add(-2 * time.Hour))
		cur, _ := GenerateEd25519(t0.Add(-time.Hour))
		ks, err := NewEdDSA([]*gatehouse.SigningKey{old, cur}, t0)
		if err != nil {
			t.Fatalf("NewEdDSA: %v", err)
		}
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(ks.JWKS(), &set); err != nil {
			t.Fatalf("JWKS is not JSON: %v", err)
		}
		if got, want := len(set.Keys), 2; got != want {
			t.Fatalf("len(keys) = %d, want %d", got, want)
		}
		for i, sk := range []*gatehouse.SigningKey{old, cur} {
			k := set.Keys[i]
			if _, ok := k["d"]; ok {
				t.Errorf("key %d has a private part d", i)
			}
			want := map[string]any{
				"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": sk.ID,
				"x": base64.RawURLEncoding.EncodeToString(ed25519.PrivateKey(sk.Private).Public().(ed25519.PublicKey)),
			}
			if len(k) != len(want) {
				t.Errorf("key %d = %v, want %v", i, k, want)
			}
			for name, v := range want {
				if k[name] != v {
					t.Errorf("key %d %s = %v, want %v", i, name, k[name], v)
				}
			}
		}
		if bytes.Contains(ks.JWKS(), []byte(base64.RawURLEncoding.EncodeToString(cur.Private[:32]))) {
			t.Error("JWKS contains a private seed")
		}
	})

	t.Run("HS256: empty", func(t *testing.T) {
		ks, _ := NewHS256(testSecret)
		if got, want := string(ks.JWKS()), `{"keys":[]}`; got != want {
			t.Errorf("JWKS() = %s, want %s", got, want)
		}
	})

	t.Run("copy", func(t *testing.T) {
		ks, _ := NewHS256(testSecret)
		ks.JWKS()[0] = 'x'
		if got, want := string(ks.JWKS()), `{"keys":[]}`; got != want {
			t.Errorf("JWKS() after a caller changed it = %s, want %s", got, want)
		}
	})
}

func TestGenerateEd25519(t *testing.T) {
	a, err := GenerateEd25519(t0)
	if err != nil {
		t.Fatalf("GenerateEd25519: %v", err)
	}
	b, _ := GenerateEd25519(t0)
	if got, want := len(a.Private), ed25519.PrivateKeySize; got != want {
		t.Errorf("len(Private) = %d, want %d", got, want)
	}
	if got, want := a.Algorithm, EdDSA; got != want {
		t.Errorf("Algorithm = %q, want %q", got, want)
	}
	if !a.CreatedAt.Equal(t0) || !a.NotBefore.Equal(t0) || !a.RetireAt.IsZero() {
		t.Errorf("times = %v, %v, %v; want %v, %v, zero", a.CreatedAt, a.NotBefore, a.RetireAt, t0, t0)
	}
	if a.ID == b.ID || a.ID == "" || bytes.Equal(a.Private, b.Private) {
		t.Errorf("two keys share an id or key: %q, %q", a.ID, b.ID)
	}
}

func TestNewEdDSARefuses(t *testing.T) {
	good := func() *gatehouse.SigningKey {
		k, err := GenerateEd25519(t0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	dup := good()
	for _, tc := range []struct {
		name string
		keys []*gatehouse.SigningKey
	}{
		{name: "no keys"},
		{name: "nil key", keys: []*gatehouse.SigningKey{nil}},
		{name: "no id", keys: []*gatehouse.SigningKey{func() *gatehouse.SigningKey { k := good(); k.ID = ""; return k }()}},
		{name: "other algorithm", keys: []*gatehouse.SigningKey{func() *gatehouse.SigningKey { k := good(); k.Algorithm = "RS256"; return k }()}},
		{name: "short key", keys: []*gatehouse.SigningKey{func() *gatehouse.SigningKey { k := good(); k.Private = k.Private[:32]; return k }()}},
		{name: "public half not the seed's", keys: []*gatehouse.SigningKey{func() *gatehouse.SigningKey {
			k, o := good(), good()
			copy(k.Private[32:], o.Private[32:])
			return k
		}()}},
		{name: "duplicate id", keys: []*gatehouse.SigningKey{dup, dup}},
		{name: "only a future key", keys: []*gatehouse.SigningKey{func() *gatehouse.SigningKey { k := good(); k.NotBefore = t0.Add(time.Minute); return k }()}},
		{name: "only a retired key", keys: []*gatehouse.SigningKey{func() *gatehouse.SigningKey { k := good(); k.RetireAt = t0; return k }()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewEdDSA(tc.keys, t0); err == nil {
				t.Errorf("NewEdDSA = nil error, want one")
			}
		})
	}
}

// TestSigningKeyChoice: the newest current key signs, chosen at each Issue;
// every key verifies.
func TestSigningKeyChoice(t *testing.T) {
	retired, _ := GenerateEd25519(t0.Add(-3 * time.Hour))
	retired.RetireAt = t0.Add(-time.Minute)
	current, _ := GenerateEd25519(t0.Add(-2 * time.Hour))
	next, _ := GenerateEd25519(t0.Add(-time.Hour)) // newest, published ahead
	next.NotBefore = t0.Add(time.Hour)
	ks, err := NewEdDSA([]*gatehouse.SigningKey{retired, current, next}, t0)
	if err != nil {
		t.Fatalf("NewEdDSA: %v", err)
	}
	clk := newClock()
	tk := New(ks, Options{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	kidOf := func(raw string) string {
		b, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
		var h struct{ Kid string }
		json.Unmarshal(b, &h)
		return h.Kid
	}

	raw, _, err := tk.Issue("u1", "s1", "alice")
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if got, want := kidOf(raw), current.ID; got != want {
		t.Errorf("at t0 signed with %q, want the current key %q", got, want)
	}
	if _, err := tk.Verify(raw); err != nil {
		t.Errorf("Verify: %v", err)
	}

	clk.Add(time.Hour)
	raw2, _, err := tk.Issue("u1", "s1", "alice")
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if got, want := kidOf(raw2), next.ID; got != want {
		t.Errorf("at NotBefore signed with %q, want the next key %q", got, want)
	}
	if _, err := tk.Verify(raw2); err != nil {
		t.Errorf("Verify: %v", err)
	}

	// A token signed with the retired key still verifies until the key is removed.
	f := &fixture{clock: clk, ks: ks, kid: retired.ID, signKey: retired, tokens: tk, uncached: tk}
	if _, err := tk.Verify(f.forgeToken(t)); err != nil {
		t.Errorf("Verify(token of the retired key): %v", err)
	}
}

func TestUpdate(t *testing.T) {
	f := newEdFixture(t)
	oldRaw, _ := f.issue(t)
	wantValid(t, f, oldRaw) // now in the cache
	next, err := GenerateEd25519(t0)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("rotation keeps old tokens", func(t *testing.T) {
		if err := f.ks.Update([]*gatehouse.SigningKey{f.signKey, next}, t0); err != nil {
			t.Fatalf("Update: %v", err)
		}
		newRaw, _ := f.issue(t)
		wantValid(t, f, newRaw)
		wantValid(t, f, oldRaw)
		if got, want := strings.Count(string(f.ks.JWKS()), `"kid"`), 2; got != want {
			t.Errorf("JWKS has %d keys, want %d", got, want)
		}
	})

	t.Run("refused update leaves the set", func(t *testing.T) {
		if err := f.ks.Update(nil, t0); err == nil {
			t.Fatal("Update(nil) = nil error, want one")
		}
		wantValid(t, f, oldRaw)
	})

	t.Run("removed key is refused at once, cached or not", func(t *testing.T) {
		newRaw, _ := f.issue(t)
		wantValid(t, f, newRaw)
		if err := f.ks.Update([]*gatehouse.SigningKey{next}, t0); err != nil {
			t.Fatalf("Update: %v", err)
		}
		wantInvalid(t, f, oldRaw, ErrUnknownKey)
		wantValid(t, f, newRaw)
	})

	t.Run("key replaced under the same kid", func(t *testing.T) {
		raw, _ := f.issue(t)
		wantValid(t, f, raw)
		other, _ := GenerateEd25519(t0)
		other.ID = next.ID
		if err := f.ks.Update([]*gatehouse.SigningKey{other}, t0); err != nil {
			t.Fatalf("Update: %v", err)
		}
		wantInvalid(t, f, raw, nil)
	})

	t.Run("HS256 cannot be updated", func(t *testing.T) {
		h := newHSFixture(t)
		if err := h.ks.Update([]*gatehouse.SigningKey{next}, t0); err == nil {
			t.Error("Update of an HS256 key set = nil error, want one")
		}
	})
}

func TestNewPanicsOnMissingOptions(t *testing.T) {
	ks, _ := NewHS256(testSecret)
	for _, tc := range []struct {
		name string
		ks   *KeySet
		opts Options
	}{
		{name: "nil key set", opts: Options{Issuer: testIssuer, Audience: testAudience}},
		{name: "no issuer", ks: ks, opts: Options{Audience: testAudience}},
		{name: "no audience", ks: ks, opts: Options{Issuer: testIssuer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			New(tc.ks, tc.opts)
		})
	}
}

func TestVerifyErrorIsClientSafe(t *testing.T) {
	f := newEdFixture(t)
	_, err := f.tokens.Verify("not.a.token")
	if got, want := gatehouse.ErrorCode(err), gatehouse.EINVALIDTOKEN; got != want {
		t.Errorf("ErrorCode = %q, want %q", got, want)
	}
	if got, want := gatehouse.ErrorMessage(err), "token is invalid"; got != want {
		t.Errorf("ErrorMessage = %q, want %q", got, want)
	}
}
