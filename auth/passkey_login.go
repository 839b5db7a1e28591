package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse/gatehouse"
)

// MethodPasskey is the second-factor method of passkeys.
const MethodPasskey = "passkey"

// passkeyBinding binds a login's passkey assertion to its login challenge:
// the assertion begun for one challenge cannot finish another's login.
func passkeyBinding(ch *gatehouse.LoginChallenge) string { return hex.EncodeToString(ch.Hash) }

// BeginLoginPasskey starts the passkey assertion of a login's second
// step: for the user behind challenge (the one Login answered with
// SecondFactorRequired), it returns the options for
// navigator.credentials.get, which allow only that user's passkeys. The
// answer goes to CompleteLogin as SecondFactorProof.Passkey, with the same
// challenge. methods are the user's second-factor methods, for a page
// that offers them.
//
// The challenge is not used up: it is taken from the store to be read and
// put back at once (the store has no read of its own), so a second step
// racing this call in that instant may find no challenge. A user without
// passkeys is EINVALIDSECONDFACTOR.
func (s *Service) BeginLoginPasskey(ctx context.Context, challenge string) (opts *protocol.CredentialAssertion, methods []string, err error) {
	if !strings.HasPrefix(challenge, challengePrefix) || len(challenge) != len(challengePrefix)+43 {
		return nil, nil, errChallenge
	}
	sum := sha256.Sum256([]byte(challenge))
	ch, err := s.store.TakeLoginChallenge(ctx, sum[:], s.now().UTC())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil, errChallenge
	} else if err != nil {
		return nil, nil, err
	}
	s.putBack(ctx, ch)
	if methods, err = s.secondFactorMethods(ctx, ch.UserID); err != nil {
		return nil, nil, err
	}
	opts, err = s.BeginPasskeyAssertion(ctx, ch.UserID, passkeyBinding(ch))
	return opts, methods, err
}
