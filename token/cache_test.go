package token

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestCacheHit(t *testing.T) {
	f := newEdFixture(t)
	raw, want := f.issue(t)
	wantValid(t, f, raw)
	if got, want := f.tokens.cache.len(), 1; got != want {
		t.Fatalf("cache entries = %d, want %d", got, want)
	}

	t.Run("returns a copy", func(t *testing.T) {
		c, err := f.tokens.Verify(raw)
		if err != nil {
			t.Fatal(err)
		}
		c.Subject = "admin"
		got, err := f.tokens.Verify(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("claims after a caller changed its copy = %+v, want %+v", *got, *want)
		}
	})

	t.Run("no entry for refused tokens", func(t *testing.T) {
		before := f.tokens.cache.len()
		f.tokens.Verify(f.forgeToken(t, header("typ", "JWT")))
		if got := f.tokens.cache.len(); got != before {
			t.Errorf("cache entries = %d after a refusal, want %d", got, before)
		}
	})
}

// TestCacheSameOutcome: along a clock that moves forward and back, the
// cached Tokens answer exactly as the uncached ones.
func TestCacheSameOutcome(t *testing.T) {
	for _, fc := range fixtures(t) {
		t.Run(fc.name, func(t *testing.T) {
			f := fc.f
			raw, _ := f.issue(t)
			nbf := f.forgeToken(t, claims("nbf", t0.Add(5*time.Minute).Unix()))
			for _, step := range []struct {
				name string
				at   time.Duration // from t0
			}{
				{name: "issue", at: 0},
				{name: "later", at: 10 * time.Minute},
				{name: "back before iat beyond leeway", at: -Leeway - time.Second},
				{name: "back within leeway", at: -Leeway},
				{name: "after nbf", at: 5*time.Minute - Leeway},
				{name: "last second", at: 15*time.Minute - time.Second},
				{name: "exp", at: 15 * time.Minute},
				{name: "back before exp", at: 14 * time.Minute},
				{name: "long after", at: 24 * time.Hour},
			} {
				f.clock.Set(t0.Add(step.at))
				for _, r := range []string{raw, nbf} {
					want, wantErr := f.uncached.Verify(r)
					got, err := f.tokens.Verify(r)
					if gatehouse.ErrorMessage(err) != gatehouse.ErrorMessage(wantErr) || (want == nil) != (got == nil) || want != nil && !reflect.DeepEqual(got, want) {
						t.Errorf("%s: cached Verify = %+v, %v; uncached %+v, %v", step.name, got, err, want, wantErr)
					}
				}
			}
		})
	}
}

func TestCacheBounded(t *testing.T) {
	f := newEdFixture(t)
	const size = 100
	tk := New(f.ks, Options{Issuer: testIssuer, Audience: testAudience, Now: f.clock.Now, CacheSize: size})
	for range 1000 {
		raw, _, err := tk.Issue("u1", "s1", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tk.Verify(raw); err != nil {
			t.Fatal(err)
		}
	}
	max := (size + cacheShards - 1) / cacheShards * cacheShards
	if got := tk.cache.len(); got > max || got < size/2 {
		t.Errorf("cache entries = %d, want between %d and %d", got, size/2, max)
	}
}

func TestCacheEvictsExpiredFirst(t *testing.T) {
	s := &newCache(cacheShards).shards[0]
	s.m["expired"] = cacheEntry{expires: t0}
	live := []string{"a", "b", "c"}
	for _, k := range live {
		s.m[k] = cacheEntry{expires: t0.Add(time.Hour)}
	}
	s.evict(t0)
	if _, ok := s.m["expired"]; ok || len(s.m) != len(live) {
		t.Errorf("entries after evict = %v, want only the live %v", s.m, live)
	}

	t.Run("all live: one goes", func(t *testing.T) {
		s.evict(t0)
		if got, want := len(s.m), len(live)-1; got != want {
			t.Errorf("entries after evict = %d, want %d", got, want)
		}
	})
}

// TestConcurrentVerifyAndUpdate is for the race detector: verification
// while the key set rotates.
func TestConcurrentVerifyAndUpdate(t *testing.T) {
	f := newEdFixture(t)
	raw, _ := f.issue(t)
	next, _ := GenerateEd25519(t0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, err := f.tokens.Verify(raw); err != nil {
					t.Errorf("Verify: %v", err)
					return
				}
				if _, _, err := f.tokens.Issue("u1", "s1", "alice"); err != nil {
					t.Errorf("Issue: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			keys := []*gatehouse.SigningKey{f.signKey}
			if i%2 == 0 {
				keys = append(keys, next)
			}
			if err := f.ks.Update(keys, t0); err != nil {
				t.Errorf("Update: %v", err)
			}
		}
	})
	wg.Wait()
}
