package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// Defaults of KeyPolicy.
const (
	// DefaultKeyRotation is how long a signing key signs before the next
	// takes over: short enough that a key's exposure is bounded, long enough
	// that the JWKS stays small (a key lives Rotation + access TTL).
	DefaultKeyRotation = 30 * 24 * time.Hour
	// DefaultPublishAhead is how long a new key is in the JWKS before it
	// signs: twice the JWKS max-age (5 minutes) that it implies.
	DefaultPublishAhead = 10 * time.Minute
	// DefaultKeyGrace is added to the access-token lifetime before a
	// retired key is deleted, for clock skew between instances.
	DefaultKeyGrace = time.Minute
	// DefaultKeyReloadMin is the least time between two key reloads caused
	// by tokens with an unknown kid, so that forged kids cannot turn into a
	// query each.
	DefaultKeyReloadMin = time.Second
)

// KeyPolicy says when EdDSA signing keys rotate. Rotation is safe across
// instances and resource servers because a new key is published (in the
// JWKS, and to every instance through the store) PublishAhead before it
// signs, and an old key keeps verifying until the last token it signed has
// expired: it is deleted at RetireAt + access TTL + Grace.
type KeyPolicy struct {
	Rotation     time.Duration // how long each key signs; 0: only by hand (RotateKey)
	PublishAhead time.Duration // 0: DefaultPublishAhead
	Grace        time.Duration // 0: DefaultKeyGrace
	ReloadMin    time.Duration // 0: DefaultKeyReloadMin
}

func (p KeyPolicy) withDefaults() KeyPolicy {
	if p.PublishAhead <= 0 {
		p.PublishAhead = DefaultPublishAhead
	}
	if p.Grace <= 0 {
		p.Grace = DefaultKeyGrace
	}
	if p.ReloadMin <= 0 {
		p.ReloadMin = DefaultKeyReloadMin
	}
	return p
}

// JWKSMaxAge is how long a client may cache the JWKS: half of PublishAhead,
// so that a client that fetched the set just before a new key was
// published still learns of it, with time to spare, before it signs.
func (p KeyPolicy) JWKSMaxAge() time.Duration { return p.withDefaults().PublishAhead / 2 }

// keyPlan is what a look at the stored keys found to do.
type keyPlan struct {
	add       bool      // make a key succeeding prev
	prev      string    // "" for the first key
	prevAt    time.Time // prev's CreatedAt: the new key's is later
	notBefore time.Time // of the new key; prev retires then
	remove    []string  // retired keys whose last token has expired
}

// plan decides, from the stored keys (oldest first) at now, whether a key
// must be made (none at all, none that may sign now, or the newest due for
// rotation) and which retired keys may go. ttl is the access-token lifetime.
func (p KeyPolicy) plan(keys []*gatehouse.SigningKey, now time.Time, ttl time.Duration) keyPlan {
	if len(keys) == 0 {
		return keyPlan{add: true, notBefore: now}
	}
	newest := keys[len(keys)-1]
	var signer *gatehouse.SigningKey
	for _, k := range keys {
		if canSign(k, now) && (signer == nil || !k.CreatedAt.Before(signer.CreatedAt)) {
			signer = k
		}
	}
	var pl keyPlan
	switch due := newest.NotBefore.Add(p.Rotation - p.PublishAhead); {
	case signer == nil:
		pl = keyPlan{add: true, prev: newest.ID, prevAt: newest.CreatedAt, notBefore: now}
	case p.Rotation > 0 && !now.Before(due) && !now.Before(newest.NotBefore):
		// (A successor is published only once the newest key signs, so a
		// Rotation shorter than PublishAhead cannot pile up keys.)
		pl = keyPlan{add: true, prev: newest.ID, prevAt: newest.CreatedAt, notBefore: later(now.Add(p.PublishAhead), newest.NotBefore.Add(p.Rotation))}
	}
	for _, k := range keys {
		if k != signer && k != newest && !k.RetireAt.IsZero() && !now.Before(k.RetireAt.Add(ttl+p.Grace)) {
			pl.remove = append(pl.remove, k.ID)
		}
	}
	return pl
}

func canSign(k *gatehouse.SigningKey, now time.Time) bool {
	return !now.Before(k.NotBefore) && (k.RetireAt.IsZero() || now.Before(k.RetireAt))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// apply carries a plan out on the store and reports whether it added the
// key and which keys it deleted. A successor that another instance made
// first is not an error (the reload that follows finds it), nor is a key
// another instance has already deleted.
func (pl keyPlan) apply(ctx context.Context, store gatehouse.KeyStore, now time.Time) (added bool, deleted []string, err error) {
	if pl.add {
		// CreatedAt orders keys (the newest current one signs), so a
		// successor's is later than its predecessor's even when clocks
		// disagree; the store keeps microseconds.
		created := later(now.Truncate(time.Microsecond), pl.prevAt.Add(time.Microsecond))
		k, err := token.GenerateEd25519(created)
		if err != nil {
			return false, nil, err
		}
		k.NotBefore = pl.notBefore
		if added, err = store.AddSigningKeyAfter(ctx, k, pl.prev, pl.notBefore); err != nil {
			return false, nil, fmt.Errorf("add signing key: %w", err)
		}
	}
	for _, id := range pl.remove {
		err := store.DeleteSigningKey(ctx, id)
		if err == nil {
			deleted = append(deleted, id)
		} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return added, deleted, fmt.Errorf("delete signing key: %w", err)
		}
	}
	return added, deleted, nil
}

// LoadKeys returns the EdDSA keys kept in store as a KeySet, first making
// a key when there is none, or none that may sign at now. Instances
// starting together on an empty store make one key between them.
func LoadKeys(ctx context.Context, store gatehouse.KeyStore, now time.Time) (*token.KeySet, error) {
	keys, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	pl := KeyPolicy{}.withDefaults().plan(keys, now, 0)
	if pl.add {
		pl.remove = nil // deleting is SyncKeys' work: it knows the access TTL
		if _, _, err := pl.apply(ctx, store, now); err != nil {
			return nil, err
		}
		if keys, err = store.SigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
	}
	return token.NewEdDSA(keys, now)
}

// keyReloads lets tokens with an unknown kid reload the keys, at most once
// per ReloadMin.
type keyReloads struct {
	mu      sync.Mutex
	last    time.Time // any reload
	unknown time.Time // the last reload for an unknown kid
}

// SyncKeys reads the signing keys from the store, rotates them when the
// policy says so (every instance may: the store lets one rotation per key
// through), deletes the retired keys whose last token has expired, and
// installs the result, so that every instance follows a rotation without a
// restart. It does nothing in HS256 mode.
func (s *Service) SyncKeys(ctx context.Context) error {
	ks := s.tokens.Keys()
	if ks.Algorithm() != token.EdDSA {
		return nil
	}
	now := s.now().UTC()
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	pl := s.keyPolicy.plan(keys, now, s.tokens.TTL())
	if pl.add || len(pl.remove) > 0 {
		added, deleted, err := pl.apply(ctx, s.store, now)
		if added {
			s.log.Info("signing key rotation: next key published", "signs_from", pl.notBefore)
		}
		if len(deleted) > 0 {
			s.log.Info("signing keys deleted: their last tokens have expired", "kids", deleted)
		}
		if err != nil {
			return err
		}
		if keys, err = s.store.SigningKeys(ctx); err != nil {
			return err
		}
	}
	return s.installKeys(keys, now)
}

func (s *Service) installKeys(keys []*gatehouse.SigningKey, now time.Time) error {
	s.reloads.mu.Lock()
	defer s.reloads.mu.Unlock()
	if err := s.tokens.Keys().Update(keys, now); err != nil {
		return err
	}
	s.reloads.last = s.now()
	return nil
}

// FollowKeys calls SyncKeys every interval until ctx ends.
func (s *Service) FollowKeys(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		if err := s.SyncKeys(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("signing key sync failed", "err", err)
		}
	})
}

// every calls fn every interval until ctx ends: the shape of the service's
// background chores.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// reloadForUnknownKey reloads the keys because a token named a kid this
// instance does not know, perhaps one another instance has just made. It
// reports whether the keys were reloaded since the call began (by it or by
// a concurrent call), that is whether verifying again may help.
func (s *Service) reloadForUnknownKey(ctx context.Context) bool {
	if s.tokens.Keys().Algorithm() != token.EdDSA {
		return false
	}
	asked := s.now()
	s.reloads.mu.Lock()
	defer s.reloads.mu.Unlock()
	if s.reloads.last.After(asked) {
		return true
	}
	if s.now().Sub(s.reloads.unknown) < s.keyPolicy.ReloadMin {
		return false
	}
	keys, err := s.store.SigningKeys(ctx)
	if err == nil {
		err = s.tokens.Keys().Update(keys, s.now().UTC())
	}
	s.reloads.last, s.reloads.unknown = s.now(), s.now()
	if err != nil {
		s.log.Warn("signing key reload failed", "err", err)
		return false
	}
	return true
}

// verifyToken verifies an access token's signature and claims, reloading
// the keys once when its kid is unknown.
func (s *Service) verifyToken(ctx context.Context, raw string) (*token.Claims, error) {
	c, err := s.tokens.Verify(raw)
	if errors.Is(err, token.ErrUnknownKey) && s.reloadForUnknownKey(ctx) {
		c, err = s.tokens.Verify(raw)
	}
	return c, err
}
