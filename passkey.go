package gatehouse

import (
	"context"
	"time"
)

// EINVALIDPASSKEY is the code of a passkey registration that cannot be
// completed: the attestation does not verify, its ceremony is unknown,
// used or expired, or the passkey is already registered.
const EINVALIDPASSKEY = "invalid_passkey"

// Passkey is a WebAuthn credential registered by a user. Only its public
// key is kept: the private key never leaves the authenticator.
type Passkey struct {
	ID                string // gatehouse's own opaque id, used in URLs
	UserID            string
	CredentialID      []byte // the authenticator's credential id (raw bytes)
	PublicKey         []byte // COSE_Key as the authenticator sent it
	SignCount         uint32
	Transports        []string // "internal", "usb", "hybrid"…: hints for the browser
	AAGUID            []byte   // the authenticator model, 16 bytes (all zero when not told)
	Flags             byte     // the authenticator data flags at registration (backup eligibility…)
	AttestationFormat string   // "none", "packed"…
	Name              string   // chosen by the user
	CreatedAt         time.Time
	LastUsedAt        time.Time // zero until first used
}

// Ceremony kinds of WebAuthnCeremony.
const (
	CeremonyRegister = "register"
	CeremonyLogin    = "login"
)

// WebAuthnCeremony is the server side of a WebAuthn ceremony between its
// begin and finish steps. It is kept in the store, not in memory, so that
// any instance can finish a ceremony another began.
type WebAuthnCeremony struct {
	ChallengeHash []byte // SHA-256 of the WebAuthn challenge: the key; the challenge itself is not stored
	UserID        string
	Kind          string // CeremonyRegister or CeremonyLogin
	Binding       string // what the ceremony is bound to (a session id, a login challenge's hash)
	Data          []byte // the WebAuthn library's session data, JSON
	ExpiresAt     time.Time
}

// PasskeyStore keeps passkeys and the WebAuthn ceremonies in progress.
type PasskeyStore interface {
	// AddPasskey inserts p. EINVALIDPASSKEY when a passkey with the same
	// credential id exists (for any user).
	AddPasskey(ctx context.Context, p *Passkey) error
	// Passkeys returns the user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID string) ([]*Passkey, error)
	// RenamePasskey sets the name of the user's passkey id. ENOTFOUND when
	// the user has no such passkey.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey removes the user's passkey id. ENOTFOUND when the user
	// has no such passkey.
	DeletePasskey(ctx context.Context, userID, id string) error
	// UsePasskey records a successful assertion: the sign count moves
	// from old to count and LastUsedAt becomes now. It changes nothing
	// and returns ENOTFOUND when the user has no such passkey or its sign
	// count is no longer old (a concurrent assertion won).
	UsePasskey(ctx context.Context, userID, id string, old, count uint32, now time.Time) error

	// PutCeremony stores c, and drops the ceremonies that expired before
	// now.
	PutCeremony(ctx context.Context, c *WebAuthnCeremony, now time.Time) error
	// TakeCeremony removes the ceremony whose challenge hash is given and
	// returns it, once: of concurrent calls only one gets it. ENOTFOUND
	// when there is none, or it expired before now.
	TakeCeremony(ctx context.Context, challengeHash []byte, now time.Time) (*WebAuthnCeremony, error)
}
