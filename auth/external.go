package auth

import (
	"context"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// What other services ask of gatehouse: the revocation feed that resource
// servers follow, token introspection (RFC 7662) and token revocation
// (RFC 7009).

// RevocationFeed returns the revocations with Seq > after, and also every
// one recorded in the last lateCommit (a transaction that took a smaller
// Seq may commit after a larger one: a reader whose cursor has passed it
// would miss it otherwise), whose tokens may still be alive, in Seq order,
// and the cursor to pass next time. An entry may therefore come more than
// once; applying the feed is idempotent.
func (s *Service) RevocationFeed(ctx context.Context, after int64) ([]gatehouse.Revocation, int64, error) {
	now := s.now().UTC()
	revs, err := s.store.Revocations(ctx, max(after, 0), now.Add(-lateCommit), now)
	if err != nil {
		return nil, 0, err
	}
	next := max(after, 0)
	for _, r := range revs {
		next = max(next, r.Seq)
	}
	return revs, next, nil
}

// Introspect reports whether raw is an access token that is valid now, and
// its claims if so. Unlike Authenticate it always asks the store about the
// session as well, so that its answer is exact even in the moment before
// this instance has synced a revocation made by another: a service that
// pays for a round trip to gatehouse gets the freshest answer there is.
// An invalid token is (nil, nil); only a failing store is an error.
func (s *Service) Introspect(ctx context.Context, raw string) (*token.Claims, error) {
	c, err := s.verifyToken(ctx, raw)
	if err != nil {
		return nil, nilIfInvalid(err)
	}
	if s.revoked.Has(c.SessionID, s.now()) {
		return nil, nil
	}
	revoked, err := s.store.IsRevoked(ctx, c.SessionID)
	if err != nil || revoked {
		return nil, err
	}
	return c, nil
}

// RevokeToken revokes the session of a refresh token (current or already
// rotated) or of an access token, as RFC 7009 asks: revoking either ends
// the grant, so every token of the session dies. A token that is not
// valid, expired, or whose session has already ended, is not an error:
// there is nothing left to revoke.
func (s *Service) RevokeToken(ctx context.Context, raw string) error {
	now := s.now().UTC()
	if strings.HasPrefix(raw, gatehouse.RefreshPrefix) {
		t, ok := gatehouse.ParseRefreshToken(raw)
		if !ok {
			return nil
		}
		revs, err := s.store.RevokeRefresh(ctx, t, now, s.revocationUntil(now))
		if err != nil {
			return err
		}
		s.revoked.Add(now, revs...)
		return nil
	}
	c, err := s.verifyToken(ctx, raw)
	if err != nil {
		return nilIfInvalid(err)
	}
	err = s.revoke(ctx, c.Subject, c.SessionID, gatehouse.RevokeOne)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	}
	return err
}

// nilIfInvalid drops a refusal of the token, keeping any other error.
func nilIfInvalid(err error) error {
	if gatehouse.ErrorCode(err) == gatehouse.EINVALIDTOKEN {
		return nil
	}
	return err
}
