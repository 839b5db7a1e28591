package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/token"
)

var policy = auth.KeyPolicy{Rotation: 24 * time.Hour, PublishAhead: 10 * time.Minute, Grace: time.Minute}

// keyService returns a Service whose keys come from the store, as an
// instance's do, with the clock c.
func keyService(t *testing.T, store gatehouse.Store, c *clock, p auth.KeyPolicy) *auth.Service {
	t.Helper()
	ks, err := auth.LoadKeys(t.Context(), store, c.Now())
	if err != nil {
		t.Fatalf("LoadKeys: %v", err)
	}
	s, err := auth.New(auth.Config{
		Store:      store,
		Tokens:     token.New(ks, token.Options{Issuer: "http://test", Audience: "gatehouse", TTL: 15 * time.Minute, Now: c.Now}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: 24 * time.Hour,
		Keys:       p,
		Now:        c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// kidOf returns the kid in a token's header.
func kidOf(t *testing.T, raw string) string {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	if err != nil || json.Unmarshal(b, &hdr) != nil {
		t.Fatalf("token header %q does not decode", h)
	}
	return hdr.Kid
}

func login(t testing.TB, s *auth.Service, user string) *auth.TokenPair {
	t.Helper()
	p, err := s.Login(t.Context(), user, user+" password", auth.Client{})
	if err != nil {
		t.Fatalf("Login(%s): %v", user, err)
	}
	return p
}

func keyIDs(t *testing.T, s *auth.Service) map[string]string {
	t.Helper()
	list, err := s.ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, k := range list {
		m[k.ID] = k.State
	}
	return m
}

// TestKeysRotateAcrossInstances follows one rotation on two instances:
// one new key for both, published before it signs, the old one verifying
// until its last token has expired, then deleted.
func TestKeysRotateAcrossInstances(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "shared.db")
	a := keyService(t, openStore(t, path), c, policy)
	b := keyService(t, openStore(t, path), c, policy)
	if _, err := a.Register(ctx, "alice", "alice password"); err != nil {
		t.Fatal(err)
	}
	k1 := kidOf(t, login(t, a, "alice").AccessToken)
	if got := keyIDs(t, b); len(got) != 1 || got[k1] != auth.KeySigning {
		t.Fatalf("keys after two starts = %v, want only %s signing", got, k1)
	}

	c.Add(23*time.Hour + 50*time.Minute) // the rotation is due
	var wg sync.WaitGroup
	for _, s := range []*auth.Service{a, b, a, b} {
		wg.Go(func() {
			if err := s.SyncKeys(ctx); err != nil {
				t.Errorf("SyncKeys: %v", err)
			}
		})
	}
	wg.Wait()
	keys := keyIDs(t, a)
	if len(keys) != 2 {
		t.Fatalf("keys after concurrent rotation = %v, want two", keys)
	}
	var k2 string
	for id, state := range keys {
		if id != k1 {
			k2 = id
			if state != auth.KeyNext {
				t.Errorf("new key state = %s, want %s", state, auth.KeyNext)
			}
		}
	}
	if jwks := string(b.Tokens().Keys().JWKS()); !strings.Contains(jwks, k2) {
		t.Errorf("b's JWKS does not publish the next key before it signs: %s", jwks)
	}
	if got := kidOf(t, login(t, b, "alice").AccessToken); got != k1 {
		t.Errorf("before NotBefore, b signs with %s, want the old %s", got, k1)
	}

	c.Add(9 * time.Minute) // one minute before the switch
	late := login(t, a, "alice").AccessToken
	c.Add(time.Minute) // the new key signs now, on both, with no reload
	for name, s := range map[string]*auth.Service{"a": a, "b": b} {
		if got := kidOf(t, login(t, s, "alice").AccessToken); got != k2 {
			t.Errorf("%s signs with %s after NotBefore, want %s", name, got, k2)
		}
	}
	c.Add(13 * time.Minute) // late's last minute
	for _, s := range []*auth.Service{a, b} {
		if err := s.SyncKeys(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, late); err != nil {
			t.Errorf("a token of the retired key, before its exp: %v", err)
		}
	}

	c.Add(3 * time.Minute) // past the old key's RetireAt + TTL + grace
	for _, s := range []*auth.Service{b, a} {
		if err := s.SyncKeys(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := keyIDs(t, a); len(got) != 1 || got[k2] != auth.KeySigning {
		t.Errorf("keys after the old one's tokens expired = %v, want only %s signing", got, k2)
	}
	if jwks := string(b.Tokens().Keys().JWKS()); strings.Contains(jwks, k1) {
		t.Errorf("b's JWKS still has the deleted key: %s", jwks)
	}
}

// countingStore counts SigningKeys calls, to see reloads.
type countingStore struct {
	gatehouse.Store
	loads atomic.Int64
}

func (s *countingStore) SigningKeys(ctx context.Context) ([]*gatehouse.SigningKey, error) {
	s.loads.Add(1)
	return s.Store.SigningKeys(ctx)
}

// TestUnknownKidReloadsKeys: a key made by another instance is learned from
// the first token that names it; forged kids reload at most once per
// ReloadMin.
func TestUnknownKidReloadsKeys(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Now()}
	path := filepath.Join(t.TempDir(), "shared.db")
	a := keyService(t, openStore(t, path), c, policy)
	bs := &countingStore{Store: openStore(t, path)}
	b := keyService(t, bs, c, policy)
	a.Register(ctx, "bob", "bob password")
	if _, err := a.RotateKey(ctx, true); err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	tok := login(t, a, "bob").AccessToken
	if _, err := b.Authenticate(ctx, tok); err != nil {
		t.Fatalf("b refused a token of a key made by a: %v", err)
	}

	forged := forgeKid(t, tok, "no-such-key")
	c.Add(time.Second) // past ReloadMin since the reload for tok
	before := bs.loads.Load()
	for range 50 {
		if _, err := b.Authenticate(ctx, forged); gatehouse.ErrorCode(err) != gatehouse.EINVALIDTOKEN {
			t.Fatalf("forged kid: %v, want invalid_token", err)
		}
	}
	if n := bs.loads.Load() - before; n != 1 {
		t.Errorf("50 forged kids in one instant loaded the keys %d times, want 1", n)
	}
	c.Add(time.Second)
	b.Authenticate(ctx, forged)
	if n := bs.loads.Load() - before; n != 2 {
		t.Errorf("after ReloadMin, loads = %d, want 2", n)
	}
}

// forgeKid returns raw with its header's kid replaced.
func forgeKid(t *testing.T, raw, kid string) string {
	t.Helper()
	_, rest, _ := strings.Cut(raw, ".")
	h, _ := json.Marshal(map[string]string{"alg": "EdDSA", "kid": kid, "typ": "at+jwt"})
	return base64.RawURLEncoding.EncodeToString(h) + "." + rest
}

func TestRotateKeyByHand(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: time.Now()}
	s := keyService(t, openStore(t, filepath.Join(t.TempDir(), "g.db")), c, policy)
	old := s.Tokens().Keys().SignerID(c.Now())
	k, err := s.RotateKey(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if k.State != auth.KeyNext || !k.NotBefore.Equal(c.Now().UTC().Truncate(time.Microsecond).Add(policy.PublishAhead)) {
		t.Errorf("scheduled rotation: %+v, want next from now + %v", k, policy.PublishAhead)
	}
	if got := s.Tokens().Keys().SignerID(c.Now()); got != old {
		t.Errorf("signer right after a scheduled rotation = %s, want the old %s", got, old)
	}
	k, err = s.RotateKey(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if k.State != auth.KeySigning || s.Tokens().Keys().SignerID(c.Now()) != k.ID {
		t.Errorf("immediate rotation: %+v does not sign", k)
	}
	states := keyIDs(t, s)
	if len(states) != 3 || states[old] != auth.KeyRetired {
		t.Errorf("keys = %v, want three with %s retired", states, old)
	}
}
