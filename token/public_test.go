package token

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// publicFixture is a resource server's view of f: a verify-only KeySet made
// from f's JWKS, and Tokens over it with and without the cache.
func publicFixture(t *testing.T, f *fixture) *fixture {
	t.Helper()
	ks, err := NewEdDSAPublic(f.ks.JWKS())
	if err != nil {
		t.Fatalf("NewEdDSAPublic: %v", err)
	}
	return newFixture(t, f.clock, ks, f.kid, nil, nil)
}

func TestPublicKeySetVerifiesAndNeverSigns(t *testing.T) {
	f := newEdFixture(t)
	pub := publicFixture(t, f)
	raw, want := f.issue(t)
	if got := wantValid(t, pub, raw); !reflect.DeepEqual(got, want) {
		t.Errorf("claims = %+v, want %+v", got, want)
	}
	if _, _, err := pub.tokens.Issue("u1", "s1", "alice"); err == nil {
		t.Error("Issue with a public key set = nil error, want one")
	}
	if got := pub.ks.SignerID(t0); got != "" {
		t.Errorf("SignerID of a public key set = %q, want none", got)
	}
	if !pub.ks.Has(f.kid) || pub.ks.Has("nope") {
		t.Errorf("Has(%q) = %v, Has(nope) = %v; want true, false", f.kid, pub.ks.Has(f.kid), pub.ks.Has("nope"))
	}
	if got, want := string(pub.ks.JWKS()), string(f.ks.JWKS()); got != want {
		t.Errorf("public JWKS = %s, want the source's %s", got, want)
	}
	if err := pub.ks.Update([]*gatehouse.SigningKey{f.signKey}, t0); err == nil {
		t.Error("Update of a public key set = nil error, want one")
	}
	if err := f.ks.UpdatePublic(f.ks.JWKS()); err == nil {
		t.Error("UpdatePublic of a signing key set = nil error, want one")
	}
}

func TestPublicKeySetFollowsRotation(t *testing.T) {
	f := newEdFixture(t)
	pub := publicFixture(t, f)
	oldRaw, _ := f.issue(t)
	wantValid(t, pub, oldRaw)

	next, err := GenerateEd25519(t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ks.Update([]*gatehouse.SigningKey{f.signKey, next}, t0); err != nil {
		t.Fatal(err)
	}
	newRaw, _ := f.issue(t)
	wantInvalid(t, pub, newRaw, ErrUnknownKey)
	if err := pub.ks.UpdatePublic(f.ks.JWKS()); err != nil {
		t.Fatalf("UpdatePublic: %v", err)
	}
	wantValid(t, pub, newRaw)
	wantValid(t, pub, oldRaw)

	// The old key leaves the JWKS: its tokens are refused, cached or not.
	if err := f.ks.Update([]*gatehouse.SigningKey{next}, t0); err != nil {
		t.Fatal(err)
	}
	if err := pub.ks.UpdatePublic(f.ks.JWKS()); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, pub, oldRaw, ErrUnknownKey)
	wantValid(t, pub, newRaw)

	if err := pub.ks.UpdatePublic([]byte(`{"keys":`)); err == nil {
		t.Fatal("UpdatePublic(broken) = nil error")
	}
	wantValid(t, pub, newRaw) // a refused document leaves the set as it was
}

func TestPublicKeySetDocuments(t *testing.T) {
	const x = `"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"`
	for _, tc := range []struct {
		name string
		doc  string
		keys int // -1: refused
	}{
		{"empty set", `{"keys":[]}`, 0},
		{"one key", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"a","alg":"EdDSA","use":"sig"}]}`, 1},
		{"alg and use may be absent", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"a"}]}`, 1},
		{"other key types are skipped", `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"},{"kty":"OKP","crv":"X25519",` + x + `,"kid":"x"}]}`, 0},
		{"not JSON", `keys`, -1},
		{"keys not an array", `{"keys":{}}`, -1},
		{"no kid", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `}]}`, -1},
		{"short x", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"a"}]}`, -1},
		{"padded x", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + strings.Replace(x, `Ro"`, `Ro="`, 1) + `,"kid":"a"}]}`, -1},
		{"wrong alg", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"a","alg":"HS256"}]}`, -1},
		{"encryption key", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"a","use":"enc"}]}`, -1},
		{"kid twice", `{"keys":[{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"a"},{"kty":"OKP","crv":"Ed25519",` + x + `,"kid":"a"}]}`, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := NewEdDSAPublic([]byte(tc.doc))
			if tc.keys < 0 {
				if err == nil {
					t.Fatalf("NewEdDSAPublic = nil error, want one")
				}
				return
			}
			if err != nil {
				t.Fatalf("NewEdDSAPublic: %v", err)
			}
			if got := strings.Count(string(ks.JWKS()), `"kid"`); got != tc.keys {
				t.Errorf("%d keys, want %d", got, tc.keys)
			}
		})
	}
}

func TestSignerIDFollowsNotBefore(t *testing.T) {
	cur, _ := GenerateEd25519(t0.Add(-time.Hour))
	next, _ := GenerateEd25519(t0)
	next.NotBefore = t0.Add(time.Minute)
	ks, err := NewEdDSA([]*gatehouse.SigningKey{cur, next}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := ks.SignerID(t0); got != cur.ID {
		t.Errorf("SignerID before NotBefore = %q, want the current %q", got, cur.ID)
	}
	if got := ks.SignerID(t0.Add(time.Minute)); got != next.ID {
		t.Errorf("SignerID at NotBefore = %q, want the next %q", got, next.ID)
	}
}
