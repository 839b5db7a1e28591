package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The two-step login. A user with a confirmed second factor gets no
// session for the password alone: login answers SecondFactorRequired with
// a challenge, and CompleteLogin redeems it with a second factor.
//
// The challenge is 256 random bits, stored only as its SHA-256 (in the
// store, so any instance can finish the login), lives ChallengeTTL and is
// used once: CompleteLogin takes it out of the store before it looks at
// the proof. A wrong proof puts it back with one more attempt, until
// MaxChallengeAttempts; then it is gone and the login starts again from
// the password. Every second-step attempt also counts on the username's
// login throttle, which a right password alone no longer resets, so that
// knowing the password does not buy unlimited guesses at the codes.

// AMR values (RFC 8176) of the amr claim.
const (
	AMRPassword    = "pwd"
	AMROTP         = "otp"
	AMRHardwareKey = "hwk"
)

// Second-factor methods, as listed in SecondFactorRequired.Methods.
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
)

// DefaultChallengeTTL is how long a login challenge lives by default.
const DefaultChallengeTTL = 5 * time.Minute

// MaxChallengeAttempts is how many wrong second factors one challenge takes.
const MaxChallengeAttempts = 5

// challengePrefix marks gatehouse login challenges, like refreshPrefix.
const challengePrefix = "ghc_"

var (
	errSecondFactorRequired = gatehouse.Errorf(gatehouse.ESECONDFACTORREQUIRED, "a second factor is required to complete the login")
	errChallenge            = gatehouse.Errorf(gatehouse.EINVALIDCHALLENGE, "login challenge is invalid, expired or already used")
	errSecondFactor         = gatehouse.Errorf(gatehouse.EINVALIDSECONDFACTOR, "second factor is wrong or already used")
)

// SecondFactorRequired is the answer to a right password of a user with a
// second factor: ESECONDFACTORREQUIRED with what the second step needs.
type SecondFactorRequired struct {
	Challenge string        // opaque; redeem it with CompleteLogin
	ExpiresIn time.Duration // how long it lives
	Methods   []string      // the factors the user can present (MethodTOTP…)
	User      *gatehouse.User
}

func (e *SecondFactorRequired) Error() string { return errSecondFactorRequired.Error() }
func (e *SecondFactorRequired) Unwrap() error { return errSecondFactorRequired }

// SecondFactorProof is what the second step presents: exactly one field is
// set. A new kind of factor adds a field here and a case in verifyProof.
type SecondFactorProof struct {
	TOTPCode     string
	RecoveryCode string
	Passkey      []byte // a WebAuthn assertion, PublicKeyCredential JSON (passkey_login.go)
}

// method names the proof's factor; "" unless exactly one field is set.
func (p SecondFactorProof) method() string {
	var m []string
	if p.TOTPCode != "" {
		m = append(m, MethodTOTP)
	}
	if p.RecoveryCode != "" {
		m = append(m, MethodRecoveryCode)
	}
	if len(p.Passkey) > 0 {
		m = append(m, MethodPasskey)
	}
	if len(m) != 1 {
		return ""
	}
	return m[0]
}

// secondFactorMethods returns the second factors the user has confirmed,
// in the order the methods list shows them; none means the password alone
// logs in. A user with passkeys only gets "passkey" alone.
func (s *Service) secondFactorMethods(ctx context.Context, userID string) ([]string, error) {
	var methods []string
	f, err := s.store.TOTPFactor(ctx, userID)
	switch {
	case err == nil && f.Confirmed():
		methods = append(methods, MethodTOTP, MethodRecoveryCode)
	case err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND:
		return nil, err
	}
	if has, err := s.HasPasskey(ctx, userID); err != nil {
		return nil, err
	} else if has {
		methods = append(methods, MethodPasskey)
	}
	return methods, nil
}

// afterPassword finishes a login whose password was right: a session at
// once for a user without a second factor, else a challenge.
func (s *Service) afterPassword(ctx context.Context, u *gatehouse.User, c Client) (*TokenPair, error) {
	methods, err := s.secondFactorMethods(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(methods) == 0 {
		return s.openSession(ctx, u, c, AMRPassword)
	}
	now := s.now().UTC()
	token, hash := newSecret(challengePrefix)
	ch := &gatehouse.LoginChallenge{Hash: hash, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.challengeTTL),
		UserAgent: truncate(c.UserAgent, 512), IP: c.IP}
	if err := s.store.CreateLoginChallenge(ctx, ch); err != nil {
		return nil, err
	}
	return nil, &SecondFactorRequired{Challenge: token, ExpiresIn: s.challengeTTL, Methods: methods, User: u}
}

// newSecret returns a token of 256 random bits with the prefix and its
// SHA-256, which is what is stored.
func newSecret(prefix string) (token string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(token))
	return token, h[:]
}

// completeLogin redeems a challenge with a second factor (CompleteLogin
// reports it). u is set once the challenge is known, for the audit trail.
func (s *Service) completeLogin(ctx context.Context, challenge string, proof SecondFactorProof, c Client) (pair *TokenPair, u *gatehouse.User, err error) {
	method := proof.method()
	if method == "" {
		return nil, nil, gatehouse.Errorf(gatehouse.EMALFORMED, "exactly one second factor must be given")
	}
	if !strings.HasPrefix(challenge, challengePrefix) || len(challenge) != len(challengePrefix)+43 {
		return nil, nil, errChallenge
	}
	now, addr := s.now(), addressKey(c.IP)
	if err := s.checkAddress(addr, now); err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256([]byte(challenge))
	ch, err := s.store.TakeLoginChallenge(ctx, sum[:], now.UTC())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil, errChallenge
	} else if err != nil {
		return nil, nil, err
	}
	u, err = s.store.UserByID(ctx, ch.UserID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil, errChallenge
	} else if err != nil {
		return nil, nil, err
	}
	key := userThrottleKey(u.Username)
	if err := s.takeUser(ctx, key, now); err != nil {
		s.putBack(ctx, ch) // throttled is not wrong: the challenge keeps its attempts
		return nil, u, err
	}
	amr, err := s.verifyProof(ctx, u, ch, proof, now)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.EINVALIDSECONDFACTOR {
			if ch.Attempts++; ch.Attempts < MaxChallengeAttempts {
				s.putBack(ctx, ch)
			}
			if addr != "" {
				s.addrs.take(addr, now, s.throttling.LoginAddress)
			}
		} else {
			s.putBack(ctx, ch)
		}
		return nil, u, err
	}
	s.resetUser(ctx, key)
	pair, err = s.openSession(ctx, u, c, amr...)
	if gatehouse.ErrorCode(err) == gatehouse.ECREDENTIALS {
		return nil, u, errChallenge // locked since the password step
	} else if err != nil {
		return nil, u, err
	}
	if method == MethodRecoveryCode {
		err = s.revoke(ctx, u.ID, pair.Session.ID, gatehouse.RevokeOthers)
	}
	return pair, u, err
}

// verifyProof checks the second factor and returns the session's amr. It
// dispatches on the proof's one field: a new kind of factor adds a case.
// A method the user does not have now (recovery codes left behind by a
// removed TOTP factor, say) is refused like a wrong one.
func (s *Service) verifyProof(ctx context.Context, u *gatehouse.User, ch *gatehouse.LoginChallenge, proof SecondFactorProof, now time.Time) ([]string, error) {
	methods, err := s.secondFactorMethods(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if m := proof.method(); m != "" && !slices.Contains(methods, m) {
		return nil, errSecondFactor
	}
	switch {
	case len(proof.Passkey) > 0:
		_, err := s.VerifyPasskeyAssertion(ctx, u.ID, passkeyBinding(ch), proof.Passkey)
		return []string{AMRPassword, AMRHardwareKey}, err
	case proof.TOTPCode != "":
		return []string{AMRPassword, AMROTP}, s.useTOTPCode(ctx, u.ID, proof.TOTPCode, now)
	case proof.RecoveryCode != "":
		// A recovery code is a one-time password from a list: RFC 8176
		// has no closer value than "otp".
		return []string{AMRPassword, AMROTP}, s.useRecoveryCode(ctx, u.ID, proof.RecoveryCode)
	}
	return nil, gatehouse.Errorf(gatehouse.EMALFORMED, "exactly one second factor must be given")
}

// putBack stores a challenge taken by completeLogin again, for another
// try. A failure only costs the user a new login: it is logged.
func (s *Service) putBack(ctx context.Context, ch *gatehouse.LoginChallenge) {
	if err := s.store.CreateLoginChallenge(ctx, ch); err != nil {
		s.log.WarnContext(ctx, "login challenge could not be put back", "err", err)
	}
}

// useTOTPCode accepts a code of the user's confirmed factor once: the
// store's compare-and-set on the last step refuses a code (or an earlier
// one) already accepted, on any instance.
func (s *Service) useTOTPCode(ctx context.Context, userID, code string, now time.Time) error {
	f, err := s.store.TOTPFactor(ctx, userID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return errSecondFactor
	} else if err != nil {
		return err
	}
	step, ok := matchTOTP(f.Secret, code, now)
	if !ok || !f.Confirmed() || step <= f.LastStep {
		return errSecondFactor
	}
	if ok, err := s.store.UseTOTPStep(ctx, userID, step); err != nil {
		return err
	} else if !ok {
		return errSecondFactor
	}
	return nil
}

// useRecoveryCode spends one of the user's recovery codes.
func (s *Service) useRecoveryCode(ctx context.Context, userID, code string) error {
	h, ok := hashRecoveryCode(code)
	if !ok {
		return errSecondFactor
	}
	if ok, err := s.store.UseRecoveryCode(ctx, userID, h); err != nil {
		return err
	} else if !ok {
		return errSecondFactor
	}
	return nil
}
