package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse"
)

// Passkeys are WebAuthn credentials, used as a second factor: after the
// password, an assertion signed by the authenticator proves possession of
// it (amr "hwk"). They are not a first factor: see README, "Passkeys".
//
// A ceremony (registration or assertion) has two steps. Begin makes a
// random challenge, keeps the library's session data in the store under
// the challenge's SHA-256 and returns the options for
// navigator.credentials.create/get; finish finds the ceremony again by
// the challenge the browser signed over (inside clientDataJSON), takes it
// from the store (once) and verifies. So any instance can finish a
// ceremony, a ceremony cannot be used twice, and no client-chosen id is
// needed. Each ceremony is also bound to what began it: a registration to
// the session that asked for it, an assertion to the login challenge.

// PasskeyConfig configures WebAuthn. The zero value leaves passkeys off.
type PasskeyConfig struct {
	// RPID is the relying party id: the host name that passkeys are bound
	// to ("example.com"); pages on other hosts cannot use them.
	RPID string
	// Origins are the origins ("https://example.com") whose pages may run
	// the ceremonies.
	Origins []string
	// RPName is shown by the browser; "" gives "gatehouse".
	RPName string
	// Timeout is how long a ceremony may take; 0 gives 5 minutes.
	Timeout time.Duration
}

// MaxPasskeys is how many passkeys one user may register.
const MaxPasskeys = 20

// maxPasskeyName bounds a passkey's name, in characters.
const maxPasskeyName = 64

// maxCredentialID is WebAuthn's bound on a credential id, in bytes.
const maxCredentialID = 1023

// defaultCeremonyTimeout is the life of a ceremony when none is set.
const defaultCeremonyTimeout = 5 * time.Minute

var (
	errPasskeysOff     = gatehouse.Errorf(gatehouse.ENOTFOUND, "passkeys are not enabled on this server")
	errPasskeyNotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "no such passkey")
	errNoCeremony      = gatehouse.Errorf(gatehouse.EINVALIDPASSKEY, "no passkey registration is in progress for this answer: it expired, was used, or belongs to another session; begin again")
	errAttestation     = gatehouse.Errorf(gatehouse.EINVALIDPASSKEY, "the passkey's answer does not verify")
	errAssertion       = gatehouse.Errorf(gatehouse.EINVALIDSECONDFACTOR, "the passkey's answer does not verify, or its request expired or was used")
)

func newWebAuthn(c PasskeyConfig) (*webauthn.WebAuthn, time.Duration, error) {
	if c.RPID == "" {
		return nil, 0, nil
	}
	if c.RPName == "" {
		c.RPName = "gatehouse"
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultCeremonyTimeout
	}
	// The library's own expiry reads the wall clock; the store's, which
	// follows the service's clock, is the one that counts (TakeCeremony).
	wa, err := webauthn.New(&webauthn.Config{
		RPID: c.RPID, RPDisplayName: c.RPName, RPOrigins: c.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: c.Timeout, TimeoutUVD: c.Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: c.Timeout, TimeoutUVD: c.Timeout},
		},
	})
	return wa, c.Timeout, err
}

// waUser is a user as the WebAuthn library sees it. The user handle is the
// user's id: opaque, stable, not personal, at most 64 bytes.
type waUser struct {
	u     *gatehouse.User
	creds []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w *waUser) WebAuthnName() string                       { return w.u.Username }
func (w *waUser) WebAuthnDisplayName() string                { return w.u.Username }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func toCredential(p *gatehouse.Passkey) webauthn.Credential {
	c := webauthn.Credential{
		ID: p.CredentialID, PublicKey: p.PublicKey, AttestationFormat: p.AttestationFormat,
		Flags:         webauthn.CredentialFlagsFromMsgpByte(p.Flags),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
	for _, t := range p.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

// passkeyUser loads the user and their passkeys for a ceremony.
func (s *Service) passkeyUser(ctx context.Context, userID string) (*waUser, []*gatehouse.Passkey, error) {
	if s.webauthn == nil {
		return nil, nil, errPasskeysOff
	}
	u, err := s.publicUser(ctx, userID, errToken)
	if err != nil {
		return nil, nil, err
	}
	list, err := s.store.Passkeys(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	w := &waUser{u: u}
	for _, p := range list {
		w.creds = append(w.creds, toCredential(p))
	}
	return w, list, nil
}

// challengeHash is the key of a ceremony: the SHA-256 of its challenge as
// the browser returns it in clientDataJSON (base64url).
func challengeHash(challenge string) []byte {
	h := sha256.Sum256([]byte(challenge))
	return h[:]
}

// putCeremony keeps a begun ceremony in the store.
func (s *Service) putCeremony(ctx context.Context, kind, userID, binding string, sd *webauthn.SessionData) error {
	data, err := json.Marshal(sd)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	return s.store.PutCeremony(ctx, &gatehouse.WebAuthnCeremony{
		ChallengeHash: challengeHash(sd.Challenge), UserID: userID, Kind: kind, Binding: binding,
		Data: data, ExpiresAt: now.Add(s.ceremonyTTL),
	}, now)
}

// takeCeremony takes the ceremony of the challenge, once, if it is of the
// kind, user and binding given; ok is false when there is none such.
func (s *Service) takeCeremony(ctx context.Context, challenge, kind, userID, binding string) (sd webauthn.SessionData, ok bool, err error) {
	c, err := s.store.TakeCeremony(ctx, challengeHash(challenge), s.now().UTC())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return sd, false, nil
	} else if err != nil {
		return sd, false, err
	}
	if c.Kind != kind || c.UserID != userID || c.Binding != binding {
		return sd, false, nil
	}
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return sd, false, err
	}
	return sd, true, nil
}

// BeginPasskeyRegistration starts adding a passkey to the principal's
// account and returns the options for navigator.credentials.create
// (PublicKeyCredentialCreationOptions under "publicKey"). The user's
// passkeys are excluded, so one authenticator is not registered twice.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p *Principal) (*protocol.CredentialCreation, error) {
	w, list, err := s.passkeyUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if len(list) >= MaxPasskeys {
		return nil, gatehouse.Errorf(gatehouse.EINVALIDPASSKEY, "an account may have at most %d passkeys; remove one first", MaxPasskeys)
	}
	creation, sd, err := s.webauthn.BeginRegistration(w,
		webauthn.WithExclusions(webauthn.Credentials(w.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return nil, err
	}
	if err := s.putCeremony(ctx, gatehouse.CeremonyRegister, p.UserID, p.SessionID, sd); err != nil {
		return nil, err
	}
	return creation, nil
}

// FinishPasskeyRegistration verifies the browser's answer (the
// PublicKeyCredential of navigator.credentials.create, as JSON) to a
// ceremony this session began, and keeps the passkey under name. The user
// proves who they are with a fresh TOTP code or the password (exactly one,
// as in DisableTOTP), so that a stolen access token alone cannot add a
// factor. Every other session of the user is then revoked, as with a
// password change: the account's factors changed.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p *Principal, name string, response []byte, code, password string) (*gatehouse.Passkey, error) {
	name, err := passkeyName(name)
	if err != nil {
		return nil, err
	}
	w, _, err := s.passkeyUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EINVALIDPASSKEY, "the passkey's answer could not be read")
	}
	if err := s.proveUser(ctx, p, code, password); err != nil {
		return nil, err // before the ceremony is taken: the user may try again
	}
	sd, ok, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, gatehouse.CeremonyRegister, p.UserID, p.SessionID)
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, errNoCeremony
	}
	cred, err := s.webauthn.CreateCredential(w, sd, parsed)
	if err != nil {
		s.log.InfoContext(ctx, "passkey registration refused", "user", p.UserID, "err", webauthnDetail(err))
		return nil, errAttestation
	}
	if len(cred.ID) == 0 || len(cred.ID) > maxCredentialID {
		return nil, errAttestation
	}
	pk := &gatehouse.Passkey{
		UserID: p.UserID, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		SignCount: cred.Authenticator.SignCount, AAGUID: cred.Authenticator.AAGUID,
		Flags: cred.Flags.MsgpByte(), AttestationFormat: cred.AttestationFormat, Name: name,
		CreatedAt: s.now().UTC(),
	}
	for _, t := range cred.Transport {
		if len(t) <= 32 && len(pk.Transports) < 8 && !strings.Contains(string(t), ",") {
			pk.Transports = append(pk.Transports, string(t))
		}
	}
	if err := s.store.AddPasskey(ctx, pk); err != nil {
		return nil, err
	}
	err = s.revoke(ctx, p.UserID, p.SessionID, gatehouse.RevokeOthers)
	s.principalEvent(ctx, p, gatehouse.AuditFactorAdded, p.SessionID, "passkey")
	return pk, err
}

// webauthnDetail is the library's reason for a refusal, for the log.
func webauthnDetail(err error) string {
	if pe, ok := errors.AsType[*protocol.Error](err); ok {
		return pe.Details + " " + pe.DevInfo
	}
	return err.Error()
}

// passkeyName checks a passkey's name: trimmed, 1 to 64 characters, no
// control characters. An empty one becomes "Passkey".
func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey", nil
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxPasskeyName ||
		strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", gatehouse.Errorf(gatehouse.EMALFORMED, "a passkey's name must be 1 to %d characters, without control characters", maxPasskeyName)
	}
	return name, nil
}

// Passkeys lists the principal's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, p *Principal) ([]*gatehouse.Passkey, error) {
	if s.webauthn == nil {
		return nil, errPasskeysOff
	}
	return s.store.Passkeys(ctx, p.UserID)
}

// HasPasskey reports whether the user has at least one passkey, for the
// methods a login challenge offers. It asks the store even when passkeys
// are off: turning them off (no RP ID) must not quietly drop the second
// factor of the users who have one, so their logins fail closed.
func (s *Service) HasPasskey(ctx context.Context, userID string) (bool, error) {
	list, err := s.store.Passkeys(ctx, userID)
	return len(list) > 0, err
}

// deletePasskeys removes every passkey of the user (ResetSecondFactors)
// and reports whether there was any.
func (s *Service) deletePasskeys(ctx context.Context, userID string) (bool, error) {
	list, err := s.store.Passkeys(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, p := range list {
		if err := s.store.DeletePasskey(ctx, userID, p.ID); err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return false, err
		}
	}
	return len(list) > 0, nil
}

// RenamePasskey renames one of the principal's passkeys; another user's
// is ENOTFOUND.
func (s *Service) RenamePasskey(ctx context.Context, p *Principal, id, name string) error {
	if s.webauthn == nil {
		return errPasskeysOff
	}
	name, err := passkeyName(name)
	if err != nil {
		return err
	}
	return s.store.RenamePasskey(ctx, p.UserID, id, name)
}

// DeletePasskey removes one of the principal's passkeys (another user's
// is ENOTFOUND), after a fresh TOTP code or the password (exactly one), so
// that a stolen access token alone cannot strip a factor, and revokes
// every other session of the user.
func (s *Service) DeletePasskey(ctx context.Context, p *Principal, id, code, password string) error {
	if s.webauthn == nil {
		return errPasskeysOff
	}
	if err := s.proveUser(ctx, p, code, password); err != nil {
		return err
	}
	if err := s.store.DeletePasskey(ctx, p.UserID, id); err != nil {
		return err
	}
	err := s.revoke(ctx, p.UserID, p.SessionID, gatehouse.RevokeOthers)
	s.principalEvent(ctx, p, gatehouse.AuditFactorRemoved, p.SessionID, "passkey")
	return err
}

// BeginPasskeyAssertion starts a passkey assertion for userID, bound to
// binding (the login challenge, hashed), and returns the options for
// navigator.credentials.get (PublicKeyCredentialRequestOptions under
// "publicKey"), which allow only the user's own passkeys. A user without
// passkeys gets errAssertion.
func (s *Service) BeginPasskeyAssertion(ctx context.Context, userID, binding string) (*protocol.CredentialAssertion, error) {
	w, list, err := s.passkeyUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errAssertion
	}
	assertion, sd, err := s.webauthn.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, err
	}
	if err := s.putCeremony(ctx, gatehouse.CeremonyLogin, userID, binding, sd); err != nil {
		return nil, err
	}
	return assertion, nil
}

// VerifyPasskeyAssertion checks the browser's answer (the
// PublicKeyCredential of navigator.credentials.get, as JSON) to an
// assertion begun for userID and binding, and returns the passkey used.
// The ceremony is used up whatever the outcome. Refused: an answer to no
// such ceremony (expired, used, begun for another user or login
// challenge), a credential that is not one of the user's, a user handle
// that is not the user's, a bad signature, and a sign count that did not
// grow (a cloned authenticator, or a replayed answer). Every refusal is
// EINVALIDSECONDFACTOR; the caller (CompleteLogin) counts and records it.
func (s *Service) VerifyPasskeyAssertion(ctx context.Context, userID, binding string, response []byte) (*gatehouse.Passkey, error) {
	w, list, err := s.passkeyUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, errAssertion
	}
	sd, ok, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, gatehouse.CeremonyLogin, userID, binding)
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, errAssertion
	}
	cred, err := s.webauthn.ValidateLogin(w, sd, parsed)
	if err != nil {
		s.log.InfoContext(ctx, "passkey assertion refused", "user", userID, "err", webauthnDetail(err))
		return nil, errAssertion
	}
	if cred.Authenticator.CloneWarning {
		s.log.WarnContext(ctx, "passkey sign count did not increase: cloned authenticator or replay", "user", userID)
		return nil, errAssertion
	}
	for _, pk := range list {
		if !bytes.Equal(pk.CredentialID, cred.ID) {
			continue
		}
		err := s.store.UsePasskey(ctx, userID, pk.ID, pk.SignCount, cred.Authenticator.SignCount, s.now().UTC())
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil, errAssertion // removed, or used by a concurrent assertion, meanwhile
		} else if err != nil {
			return nil, err
		}
		pk.SignCount = cred.Authenticator.SignCount
		return pk, nil
	}
	return nil, errAssertion
}
