package gatehouse

import (
	"context"
	"time"
)

// Second factors. A user has at most one TOTP factor; it counts only once
// confirmed with a first code. Recovery codes come with it. A login of a
// user with a confirmed second factor stops after the password at a
// LoginChallenge, which the second step redeems.

// TOTPFactor is a user's TOTP (RFC 6238) secret. The secret has to be kept
// as it is (the server computes codes from it); it never leaves the
// server after enrolment.
type TOTPFactor struct {
	UserID      string
	Secret      []byte
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero while pending: the factor does not count yet
	// LastStep is the time step (unix seconds / 30) of the last code
	// accepted; only a later step is accepted next, so no code works twice.
	LastStep int64
}

// Confirmed reports whether the factor counts.
func (f *TOTPFactor) Confirmed() bool { return !f.ConfirmedAt.IsZero() }

// LoginChallenge is the state between a login's password step and its
// second step. Only the hash of the challenge handed to the client is
// stored, so a reader of the database cannot finish anyone's login.
type LoginChallenge struct {
	Hash      []byte // SHA-256 of the challenge
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int // wrong second factors so far
	UserAgent string
	IP        string
}

// MFAStore keeps second factors and login challenges.
type MFAStore interface {
	// TOTPFactor returns the user's TOTP factor, pending or confirmed.
	// ENOTFOUND when there is none.
	TOTPFactor(ctx context.Context, userID string) (*TOTPFactor, error)
	// PutPendingTOTP stores f as the user's pending factor, replacing a
	// pending one. It changes nothing and returns false when the user has a
	// confirmed factor. ENOTFOUND when there is no such user.
	PutPendingTOTP(ctx context.Context, f *TOTPFactor) (bool, error)
	// ConfirmTOTP makes the user's pending factor count, with step as its
	// last step, and replaces the user's recovery codes by codeHashes, in
	// one transaction. False, and nothing changes, when there is no pending
	// factor or step is not after its LastStep.
	ConfirmTOTP(ctx context.Context, userID string, step int64, codeHashes [][]byte, now time.Time) (bool, error)
	// UseTOTPStep sets the confirmed factor's LastStep to step if step is
	// after it: a compare-and-set, so that of concurrent calls with one
	// step only one succeeds.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// DeleteTOTP removes the user's factor, pending or confirmed, and the
	// recovery codes. False when there was no factor.
	DeleteTOTP(ctx context.Context, userID string) (bool, error)

	// ReplaceRecoveryCodes replaces the user's recovery codes by
	// codeHashes (SHA-256 of each code).
	ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes [][]byte, now time.Time) error
	// UseRecoveryCode deletes the user's recovery code with the hash and
	// reports whether there was one: of concurrent calls with one code,
	// only one succeeds.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error)
	// RecoveryCodesLeft returns how many unused recovery codes the user has.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	// CreateLoginChallenge inserts c.
	CreateLoginChallenge(ctx context.Context, c *LoginChallenge) error
	// TakeLoginChallenge deletes the challenge with the hash and returns
	// it, if it exists and expires after now. ENOTFOUND otherwise. Of
	// concurrent calls with one hash, only one gets it.
	TakeLoginChallenge(ctx context.Context, hash []byte, now time.Time) (*LoginChallenge, error)
}
