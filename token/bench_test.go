package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Each benchmark group has a baseline from the same run, the bare
// cryptographic check, to read the others against.

func BenchmarkIssue(b *testing.B) {
	for _, fx := range []struct {
		name string
		f    *fixture
	}{{EdDSA, newEdFixture(b)}, {HS256, newHSFixture(b)}} {
		b.Run(fx.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := fx.f.tokens.Issue("0194f3a2-7c1e-7b3a-9d2e-1a2b3c4d5e6f", "0194f3a2-7c1e-7b3a-9d2e-6f5e4d3c2b1a", "alice"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, fx := range []struct {
		name string
		f    *fixture
	}{{EdDSA, newEdFixture(b)}, {HS256, newHSFixture(b)}} {
		f := fx.f
		raw, _ := f.issue(b)
		b.Run(fx.name+"/baseline-crypto-only", func(b *testing.B) {
			b.ReportAllocs()
			i := strings.LastIndexByte(raw, '.')
			input, sig := raw[:i], mustDecodeSig(b, raw[i+1:])
			for b.Loop() {
				if !bareCheck(f, input, sig) {
					b.Fatal("bad signature")
				}
			}
		})
		b.Run(fx.name+"/uncached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.uncached.Verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fx.name+"/cache-hit", func(b *testing.B) {
			b.ReportAllocs()
			f.tokens.Verify(raw)
			for b.Loop() {
				if _, err := f.tokens.Verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fx.name+"/cache-miss", func(b *testing.B) {
			// A cache of one entry per shard and 1024 tokens in turn: nearly
			// every Verify misses, pays the full check and an eviction.
			b.ReportAllocs()
			tk := New(f.ks, Options{Issuer: testIssuer, Audience: testAudience, Now: f.clock.Now, CacheSize: cacheShards})
			raws := make([]string, 1024)
			for i := range raws {
				raws[i], _ = f.issue(b)
			}
			i := 0
			for b.Loop() {
				if _, err := tk.Verify(raws[i%len(raws)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fx.name+"/refused-garbage", func(b *testing.B) {
			b.ReportAllocs()
			bad := raw[:len(raw)-3] + "AAA"
			for b.Loop() {
				if _, err := f.tokens.Verify(bad); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// BenchmarkVerifyParallel verifies from every P, to show the cache does not
// serialise requests.
func BenchmarkVerifyParallel(b *testing.B) {
	f := newEdFixture(b)
	raws := make([]string, 64) // many users, many shards
	for i := range raws {
		raws[i], _ = f.issue(b)
	}
	// A clock without the test clock's mutex, which would serialise the Ps.
	fixed := func() time.Time { return t0 }
	opts := Options{Issuer: testIssuer, Audience: testAudience, Now: fixed}
	uncached := opts
	uncached.CacheSize = -1
	for _, tc := range []struct {
		name string
		tk   *Tokens
	}{{"EdDSA/uncached", New(f.ks, uncached)}, {"EdDSA/cache-hit", New(f.ks, opts)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for _, r := range raws {
				tc.tk.Verify(r)
			}
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(raws)) // not in step with the other Ps
				for pb.Next() {
					if _, err := tc.tk.Verify(raws[i%len(raws)]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

func mustDecodeSig(b *testing.B, s string) []byte {
	b.Helper()
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		b.Fatal(err)
	}
	return sig
}

// bareCheck is the signature check alone, by the crypto packages.
func bareCheck(f *fixture, input string, sig []byte) bool {
	if f.secret != nil {
		return string(hmacSHA256(f.secret, input)) == string(sig)
	}
	return ed25519.Verify(ed25519.PrivateKey(f.signKey.Private).Public().(ed25519.PublicKey), []byte(input), sig)
}
