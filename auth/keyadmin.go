package auth

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// Key states, as ListKeys reports them.
const (
	KeyNext    = "next"    // published, signs from NotBefore on
	KeySigning = "signing" // the key new tokens are signed with
	KeyRetired = "retired" // signs no more; verifies until DeleteAfter
)

// KeyInfo describes a signing key without its private part.
type KeyInfo struct {
	ID          string
	State       string
	CreatedAt   time.Time
	NotBefore   time.Time
	RetireAt    time.Time // zero: not scheduled to retire
	DeleteAfter time.Time // zero: not scheduled; else when SyncKeys deletes it
}

var errHS256Keys = errors.New("signing keys are not used: JWT_SECRET is set (HS256)")

// ListKeys describes the stored signing keys, oldest first.
func (s *Service) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	if s.tokens.Keys().Algorithm() != token.EdDSA {
		return nil, errHS256Keys
	}
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	signer := s.signerOf(keys, now)
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		ki := KeyInfo{ID: k.ID, State: KeyRetired, CreatedAt: k.CreatedAt, NotBefore: k.NotBefore, RetireAt: k.RetireAt}
		switch {
		case k.ID == signer:
			ki.State = KeySigning
		case now.Before(k.NotBefore):
			ki.State = KeyNext
		}
		if !k.RetireAt.IsZero() {
			ki.DeleteAfter = k.RetireAt.Add(s.tokens.TTL() + s.keyPolicy.Grace)
		}
		out = append(out, ki)
	}
	return out, nil
}

// signerOf returns the kid that signs at now among keys, by the KeySet's
// own rule.
func (s *Service) signerOf(keys []*gatehouse.SigningKey, now time.Time) string {
	ks, err := token.NewEdDSA(keys, now)
	if err != nil {
		return ""
	}
	return ks.SignerID(now)
}

// RotateKey makes a new signing key now, whatever the schedule: published
// at once, it signs from PublishAhead on (or at once when immediate, for a
// key that must stop signing now; instances that have not reloaded the keys
// yet learn of it from the first token that names it). The key it succeeds
// retires when it starts to sign and verifies until its last token has
// expired. When another instance rotates at the same moment, one of the
// two wins and the other gets an error.
func (s *Service) RotateKey(ctx context.Context, immediate bool) (KeyInfo, error) {
	if s.tokens.Keys().Algorithm() != token.EdDSA {
		return KeyInfo{}, errHS256Keys
	}
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return KeyInfo{}, err
	}
	now := s.now().UTC()
	pl := keyPlan{add: true, notBefore: now.Add(s.keyPolicy.PublishAhead)}
	if immediate {
		pl.notBefore = now
	}
	if len(keys) > 0 {
		pl.prev, pl.prevAt = keys[len(keys)-1].ID, keys[len(keys)-1].CreatedAt
	}
	added, _, err := pl.apply(ctx, s.store, now)
	if err != nil {
		return KeyInfo{}, err
	} else if !added {
		return KeyInfo{}, errors.New("another instance rotated the keys at the same moment: see gatehouse keys list")
	}
	if keys, err = s.store.SigningKeys(ctx); err != nil {
		return KeyInfo{}, err
	}
	if err := s.installKeys(keys, now); err != nil {
		return KeyInfo{}, err
	}
	list, err := s.ListKeys(ctx)
	if err != nil || len(list) == 0 {
		return KeyInfo{}, err
	}
	return newestInfo(list), nil
}

// newestInfo returns the most recently created of list.
func newestInfo(list []KeyInfo) KeyInfo {
	n := list[0]
	for _, k := range list[1:] {
		if !k.CreatedAt.Before(n.CreatedAt) {
			n = k
		}
	}
	return n
}
