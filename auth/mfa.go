package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Managing a user's second factors: TOTP enrolment (pending until a first
// code confirms it), recovery codes, removal. Each change that makes or
// removes a factor revokes the user's other sessions, as a password change
// does, and is audited.

// RecoveryCodes is how many recovery codes a user gets.
const RecoveryCodes = 10

// recoveryAlphabet is RFC 4648's base32 alphabet in lower case: no 0/O or
// 1/l pairs to confuse, and case does not matter when typed.
const recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// newRecoveryCodes returns n codes of 12 base32 characters (60 random
// bits), shown as xxxx-xxxx-xxxx, and their hashes. SHA-256 suffices:
// the codes have full entropy, so a slow hash would add nothing.
func newRecoveryCodes(n int) (codes []string, hashes [][]byte) {
	for range n {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		for i := range b {
			b[i] = recoveryAlphabet[b[i]&31]
		}
		code := string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:])
		h, _ := hashRecoveryCode(code)
		codes, hashes = append(codes, code), append(hashes, h)
	}
	return codes, hashes
}

// hashRecoveryCode returns the stored hash of a recovery code as typed:
// case, spaces and hyphens do not matter. ok is false for anything that
// cannot be a code.
func hashRecoveryCode(code string) (hash []byte, ok bool) {
	var b strings.Builder
	for _, c := range strings.ToLower(code) {
		switch {
		case c == '-' || c == ' ':
		case strings.ContainsRune(recoveryAlphabet, c):
			b.WriteRune(c)
		default:
			return nil, false
		}
	}
	if b.Len() != 12 {
		return nil, false
	}
	h := sha256.Sum256([]byte("gatehouse/recovery/v1\x00" + b.String()))
	return h[:], true
}

var (
	errNoTOTP         = gatehouse.Errorf(gatehouse.ENOTFOUND, "no TOTP factor is enrolled")
	errNoPending      = gatehouse.Errorf(gatehouse.ENOTFOUND, "no TOTP enrolment is pending: start one first")
	errTOTPEnabled    = gatehouse.Errorf(gatehouse.EFACTOREXISTS, "TOTP is already enabled: disable it first")
	errOneProof       = gatehouse.Errorf(gatehouse.EMALFORMED, "give exactly one of code and password")
	errPasswordNeeded = gatehouse.Errorf(gatehouse.EMALFORMED, "field \"password\" is required")
)

// TOTPEnrolment is a new, pending TOTP factor: shown to the user once.
type TOTPEnrolment struct {
	Secret string // base32, for typing into an app
	URI    string // otpauth://, for the QR code
}

// MFAStatus says which second factors a user has.
type MFAStatus struct {
	TOTP              bool // confirmed: logins need a second factor
	TOTPPending       bool // enrolled but not yet confirmed
	RecoveryCodesLeft int
	Methods           []string // what a login's second step accepts
}

// MFAStatus returns the principal's second factors.
func (s *Service) MFAStatus(ctx context.Context, p *Principal) (*MFAStatus, error) {
	st := &MFAStatus{Methods: []string{}}
	f, err := s.store.TOTPFactor(ctx, p.UserID)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return nil, err
	}
	if f != nil {
		st.TOTP, st.TOTPPending = f.Confirmed(), !f.Confirmed()
	}
	if st.RecoveryCodesLeft, err = s.store.RecoveryCodesLeft(ctx, p.UserID); err != nil {
		return nil, err
	}
	methods, err := s.secondFactorMethods(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	st.Methods = append(st.Methods, methods...)
	return st, nil
}

// EnrolTOTP makes a new pending TOTP factor for the principal, replacing a
// pending one. It does not count until ConfirmTOTP. EFACTOREXISTS when
// TOTP is already enabled.
func (s *Service) EnrolTOTP(ctx context.Context, p *Principal) (*TOTPEnrolment, error) {
	secret := newTOTPSecret()
	f := &gatehouse.TOTPFactor{UserID: p.UserID, Secret: secret, CreatedAt: s.now().UTC()}
	ok, err := s.store.PutPendingTOTP(ctx, f)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errToken
	} else if err != nil {
		return nil, err
	} else if !ok {
		return nil, errTOTPEnabled
	}
	return &TOTPEnrolment{Secret: b32.EncodeToString(secret), URI: totpURI(s.totpIssuer, p.Username, secret)}, nil
}

// ConfirmTOTP makes the pending factor count once the password proves the
// user (a stolen access token alone must not add a factor, which would
// lock the owner out) and code proves that the user's app has the secret,
// and returns the new recovery codes (shown once). Every other session of
// the user is revoked. Wrong passwords and codes count on the username's
// login throttle.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code, password string) ([]string, error) {
	f, err := s.store.TOTPFactor(ctx, p.UserID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errNoPending
	} else if err != nil {
		return nil, err
	} else if f.Confirmed() {
		return nil, errTOTPEnabled
	}
	if password == "" {
		return nil, errPasswordNeeded
	}
	if err := s.proveUser(ctx, p, "", password); err != nil {
		return nil, err
	}
	key := userThrottleKey(p.Username)
	if err := s.takeUser(ctx, key, s.now()); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	step, ok := matchTOTP(f.Secret, code, now)
	if !ok {
		s.factorFailed(ctx, p, MethodTOTP)
		return nil, errSecondFactor
	}
	codes, hashes := newRecoveryCodes(RecoveryCodes)
	if ok, err := s.store.ConfirmTOTP(ctx, p.UserID, step, hashes, now); err != nil {
		return nil, err
	} else if !ok {
		return nil, errNoPending // replaced or confirmed meanwhile
	}
	s.resetUser(ctx, key)
	return codes, s.factorChanged(ctx, p, gatehouse.AuditFactorAdded, "totp")
}

// DisableTOTP removes the principal's TOTP factor (pending or confirmed)
// and recovery codes, after a fresh code or the password (exactly one).
// Every other session of the user is revoked.
func (s *Service) DisableTOTP(ctx context.Context, p *Principal, code, password string) error {
	f, err := s.store.TOTPFactor(ctx, p.UserID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return errNoTOTP
	} else if err != nil {
		return err
	}
	if err := s.proveUser(ctx, p, code, password); err != nil {
		return err
	}
	if ok, err := s.store.DeleteTOTP(ctx, p.UserID); err != nil {
		return err
	} else if !ok {
		return errNoTOTP
	}
	if !f.Confirmed() {
		return nil // it never counted: nothing to announce
	}
	return s.factorChanged(ctx, p, gatehouse.AuditFactorRemoved, "totp")
}

// RegenerateRecoveryCodes replaces the principal's recovery codes, after
// a fresh code or the password (exactly one), and returns the new ones.
// The old ones stop working and every other session is revoked.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p *Principal, code, password string) ([]string, error) {
	f, err := s.store.TOTPFactor(ctx, p.UserID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || err == nil && !f.Confirmed() {
		return nil, errNoTOTP
	} else if err != nil {
		return nil, err
	}
	if err := s.proveUser(ctx, p, code, password); err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes(RecoveryCodes)
	if err := s.store.ReplaceRecoveryCodes(ctx, p.UserID, hashes, s.now().UTC()); err != nil {
		return nil, err
	}
	return codes, s.factorChanged(ctx, p, gatehouse.AuditFactorAdded, "recovery_codes")
}

// proveUser checks a fresh TOTP code or the password of the principal
// (exactly one), on the username's login throttle like ChangePassword, so
// that a stolen access token cannot be used to guess either.
func (s *Service) proveUser(ctx context.Context, p *Principal, code, password string) error {
	if (code == "") == (password == "") {
		return errOneProof
	}
	key := userThrottleKey(p.Username)
	if err := s.takeUser(ctx, key, s.now()); err != nil {
		return err
	}
	if code != "" {
		if err := s.useTOTPCode(ctx, p.UserID, code, s.now().UTC()); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.EINVALIDSECONDFACTOR {
				s.factorFailed(ctx, p, MethodTOTP)
			}
			return err
		}
	} else {
		u, err := s.userWithHash(ctx, p.UserID)
		if err != nil {
			return err
		}
		ok, _, err := s.verify(ctx, u.PasswordHash, NormalizePassword(password))
		if err != nil {
			return err
		} else if !ok {
			return gatehouse.Errorf(gatehouse.ECREDENTIALS, "password is wrong")
		}
	}
	s.resetUser(ctx, key)
	return nil
}

// factorChanged revokes every other session of the principal's user and
// records the event (factor_added, factor_removed) with the factor as
// Reason, through the Observer like every event.
func (s *Service) factorChanged(ctx context.Context, p *Principal, typ, reason string) error {
	err := s.revoke(ctx, p.UserID, p.SessionID, gatehouse.RevokeOthers)
	s.principalEvent(ctx, p, typ, p.SessionID, reason)
	return err
}

// factorFailed records a wrong second factor of a signed-in user.
func (s *Service) factorFailed(ctx context.Context, p *Principal, method string) {
	s.principalEvent(ctx, p, gatehouse.AuditSecondFactorFailed, p.SessionID, method)
}

// PendingTOTP returns the principal's pending enrolment again, so that a
// page can show it until it is confirmed. ENOTFOUND when none is pending:
// a confirmed secret is never shown again.
func (s *Service) PendingTOTP(ctx context.Context, p *Principal) (*TOTPEnrolment, error) {
	f, err := s.store.TOTPFactor(ctx, p.UserID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || err == nil && f.Confirmed() {
		return nil, errNoPending
	} else if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Secret: b32.EncodeToString(f.Secret), URI: totpURI(s.totpIssuer, p.Username, f.Secret)}, nil
}

// ResetSecondFactors is the operator's way out for a user who lost both
// the authenticator and the recovery codes: it removes the user's TOTP
// factor, recovery codes and passkeys and revokes every session of the
// user, since whoever holds them may be the reason. removed is false, and
// nothing else changes, when the user had no factor.
func (s *Service) ResetSecondFactors(ctx context.Context, userID string) (removed bool, revoked int, err error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return false, 0, err
	}
	totp, err := s.store.DeleteTOTP(ctx, userID)
	if err != nil {
		return false, 0, err
	}
	keys, err := s.deletePasskeys(ctx, userID) // passkey.go
	if err != nil || !totp && !keys {
		return totp, 0, err
	}
	now := s.now().UTC()
	revs, err := s.store.RevokeSessions(ctx, userID, "", gatehouse.RevokeAll, now, s.revocationUntil(now))
	if err != nil {
		return true, 0, err
	}
	s.revoked.Add(now, revs...)
	if totp {
		s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditFactorRemoved, UserID: u.ID, Username: u.Username, Reason: "totp"})
	}
	if keys {
		s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditFactorRemoved, UserID: u.ID, Username: u.Username, Reason: "passkey"})
	}
	return true, len(revs), nil
}
