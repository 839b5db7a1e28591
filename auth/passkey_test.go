package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/webauthntest"
	"github.com/gatehouse/gatehouse/sqldb"
)

const (
	pkOrigin   = "http://localhost:8080"
	pkPassword = "correct horse battery"
)

// passkeyEnv is a service with passkeys on, a settable clock and an
// observer.
type passkeyEnv struct {
	svc    *auth.Service
	store  *sqldb.DB
	clock  *clock
	rec    *recorder
	tokens map[string]string // access token by session id
}

func newPasskeyEnv(t *testing.T) *passkeyEnv {
	t.Helper()
	c := &clock{t: time.Now()}
	rec := &recorder{}
	db := openStore(t, filepath.Join(t.TempDir(), "pk.db"))
	s, err := auth.New(auth.Config{
		Store:      db,
		Tokens:     newTokens(edKeys(t), c.Now),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: 24 * time.Hour,
		Now:        c.Now,
		Observer:   rec,
		Passkeys:   auth.PasskeyConfig{RPID: "localhost", Origins: []string{pkOrigin}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return &passkeyEnv{svc: s, store: db, clock: c, rec: rec, tokens: map[string]string{}}
}

// principal registers username and logs in; the principal of the session.
func (e *passkeyEnv) principal(t *testing.T, username string) *auth.Principal {
	t.Helper()
	ctx := t.Context()
	if _, err := e.svc.Register(ctx, username, pkPassword); err != nil && gatehouse.ErrorCode(err) != gatehouse.EUSERNAMETAKEN {
		t.Fatal(err)
	}
	pair, err := e.svc.Login(ctx, username, pkPassword, auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens[p.SessionID] = pair.AccessToken
	return p
}

// loginWithPasskey logs username in with the password and, as the second
// factor, the passkey of a; the principal of the new session.
func (e *passkeyEnv) loginWithPasskey(t *testing.T, username string, a *webauthntest.Authenticator) *auth.Principal {
	t.Helper()
	ctx := t.Context()
	_, err := e.svc.Login(ctx, username, pkPassword, auth.Client{})
	sfr, ok := errors.AsType[*auth.SecondFactorRequired](err)
	if !ok || !slices.Contains(sfr.Methods, auth.MethodPasskey) {
		t.Fatalf("login of a user with a passkey: %v, want second_factor_required with passkey", err)
	}
	opts, _, err := e.svc.BeginLoginPasskey(ctx, sfr.Challenge)
	if err != nil {
		t.Fatalf("BeginLoginPasskey: %v", err)
	}
	resp, err := a.Get(mustJSON(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := e.svc.CompleteLogin(ctx, sfr.Challenge, auth.SecondFactorProof{Passkey: resp}, auth.Client{})
	if err != nil {
		t.Fatalf("CompleteLogin with a passkey: %v", err)
	}
	p, err := e.svc.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Claims.AMR, []string{"pwd", "hwk"}) {
		t.Fatalf("amr = %v, want [pwd hwk]", p.Claims.AMR)
	}
	e.tokens[p.SessionID] = pair.AccessToken
	return p
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// beginRegistration begins a registration for p and lets a answer it.
func (e *passkeyEnv) beginRegistration(t *testing.T, p *auth.Principal, a *webauthntest.Authenticator) []byte {
	t.Helper()
	opts, err := e.svc.BeginPasskeyRegistration(t.Context(), p)
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	resp, err := a.Create(mustJSON(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// addPasskey registers a new authenticator's passkey for p.
func (e *passkeyEnv) addPasskey(t *testing.T, p *auth.Principal, name string) (*webauthntest.Authenticator, *gatehouse.Passkey) {
	t.Helper()
	a := webauthntest.New(pkOrigin)
	pk, err := e.svc.FinishPasskeyRegistration(t.Context(), p, name, e.beginRegistration(t, p, a), "", pkPassword)
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return a, pk
}

// assert begins an assertion for userID under binding and lets a answer.
func (e *passkeyEnv) assert(t *testing.T, userID, binding string, a *webauthntest.Authenticator) []byte {
	t.Helper()
	opts, err := e.svc.BeginPasskeyAssertion(t.Context(), userID, binding)
	if err != nil {
		t.Fatalf("BeginPasskeyAssertion: %v", err)
	}
	resp, err := a.Get(mustJSON(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func wantErrCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := gatehouse.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (%v)", got, code, err)
	}
}

func TestPasskeyRegistration(t *testing.T) {
	e := newPasskeyEnv(t)
	ctx := t.Context()
	other := e.principal(t, "alice")
	p := e.principal(t, "alice")
	key, pk := e.addPasskey(t, p, "  Laptop  ")
	if pk.Name != "Laptop" || len(pk.CredentialID) != 32 || pk.UserID != p.UserID {
		t.Fatalf("passkey = %+v", pk)
	}
	list, err := e.svc.Passkeys(ctx, p)
	if err != nil || len(list) != 1 || list[0].ID != pk.ID {
		t.Fatalf("Passkeys = %v, %v", list, err)
	}
	if !slices.Contains(e.rec.types(), gatehouse.AuditFactorAdded+":passkey") {
		t.Fatalf("events %v lack factor_added:passkey", e.rec.types())
	}
	if _, err := e.svc.Authenticate(ctx, mustToken(t, e, other)); err == nil {
		t.Fatal("the other session outlived the new passkey")
	}
	if _, err := e.svc.Authenticate(ctx, mustToken(t, e, p)); err != nil {
		t.Fatalf("the registering session ended: %v", err)
	}

	t.Run("answer used twice", func(t *testing.T) {
		a := webauthntest.New(pkOrigin)
		resp := e.beginRegistration(t, p, a)
		if _, err := e.svc.FinishPasskeyRegistration(ctx, p, "", resp, "", pkPassword); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.FinishPasskeyRegistration(ctx, p, "", resp, "", pkPassword)
		wantErrCode(t, err, gatehouse.EINVALIDPASSKEY)
	})
	t.Run("finished by another session", func(t *testing.T) {
		resp := e.beginRegistration(t, p, webauthntest.New(pkOrigin))
		q := e.loginWithPasskey(t, "alice", key)
		_, err := e.svc.FinishPasskeyRegistration(ctx, q, "", resp, "", pkPassword)
		wantErrCode(t, err, gatehouse.EINVALIDPASSKEY)
		// and the ceremony is spent, not left for the right session
		_, err = e.svc.FinishPasskeyRegistration(ctx, p, "", resp, "", pkPassword)
		wantErrCode(t, err, gatehouse.EINVALIDPASSKEY)
	})
	t.Run("expired", func(t *testing.T) {
		resp := e.beginRegistration(t, p, webauthntest.New(pkOrigin))
		e.clock.Add(5*time.Minute + time.Second)
		_, err := e.svc.FinishPasskeyRegistration(ctx, p, "", resp, "", pkPassword)
		wantErrCode(t, err, gatehouse.EINVALIDPASSKEY)
	})
	t.Run("another origin", func(t *testing.T) {
		a := webauthntest.New("http://evil.example")
		_, err := e.svc.FinishPasskeyRegistration(ctx, p, "", e.beginRegistration(t, p, a), "", pkPassword)
		wantErrCode(t, err, gatehouse.EINVALIDPASSKEY)
	})
	t.Run("another RP ID", func(t *testing.T) {
		a := webauthntest.New(pkOrigin)
		a.RPID = "evil.example"
		_, err := e.svc.FinishPasskeyRegistration(ctx, p, "", e.beginRegistration(t, p, a), "", pkPassword)
		wantErrCode(t, err, gatehouse.EINVALIDPASSKEY)
	})
	t.Run("garbage", func(t *testing.T) {
		for _, body := range []string{``, `{}`, `{"id":"x","type":"public-key"}`, `[1]`, "\xff"} {
			_, err := e.svc.FinishPasskeyRegistration(ctx, p, "", []byte(body), "", pkPassword)
			wantErrCode(t, err, gatehouse.EINVALIDPASSKEY)
		}
	})
	t.Run("bad names", func(t *testing.T) {
		for _, name := range []string{string(make([]byte, 65)), "tab\there", "a\x00b"} {
			_, err := e.svc.FinishPasskeyRegistration(ctx, p, name, []byte(`{}`), "", pkPassword)
			wantErrCode(t, err, gatehouse.EMALFORMED)
		}
	})
}

func mustToken(t *testing.T, e *passkeyEnv, p *auth.Principal) string {
	t.Helper()
	return e.tokens[p.SessionID]
}

func TestPasskeyManagement(t *testing.T) {
	e := newPasskeyEnv(t)
	ctx := t.Context()
	p := e.principal(t, "alice")
	mallory := e.principal(t, "mallory")
	key, pk := e.addPasskey(t, p, "Laptop")
	wantErrCode(t, e.svc.RenamePasskey(ctx, mallory, pk.ID, "mine"), gatehouse.ENOTFOUND)
	wantErrCode(t, e.svc.DeletePasskey(ctx, mallory, pk.ID, "", pkPassword), gatehouse.ENOTFOUND)
	if err := e.svc.RenamePasskey(ctx, p, pk.ID, "Work laptop"); err != nil {
		t.Fatal(err)
	}
	list, _ := e.svc.Passkeys(ctx, p)
	if list[0].Name != "Work laptop" {
		t.Fatalf("name = %q", list[0].Name)
	}
	other := e.loginWithPasskey(t, "alice", key)
	if err := e.svc.DeletePasskey(ctx, p, pk.ID, "", pkPassword); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.svc.Passkeys(ctx, p); len(list) != 0 {
		t.Fatalf("after delete: %v", list)
	}
	if !slices.Contains(e.rec.types(), gatehouse.AuditFactorRemoved+":passkey") {
		t.Fatalf("events %v lack factor_removed:passkey", e.rec.types())
	}
	if _, err := e.svc.Authenticate(ctx, mustToken(t, e, other)); err == nil {
		t.Fatal("another session outlived the removal")
	}
	if has, _ := e.svc.HasPasskey(ctx, p.UserID); has {
		t.Fatal("HasPasskey after removal")
	}
}

// Adding or removing a passkey needs the password (or a TOTP code): a
// stolen access token alone changes nothing.
func TestPasskeyChangesNeedProof(t *testing.T) {
	e := newPasskeyEnv(t)
	ctx := t.Context()
	p := e.principal(t, "alice")
	_, pk := e.addPasskey(t, p, "Laptop")
	count := func() int {
		t.Helper()
		list, err := e.svc.Passkeys(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}

	resp := e.beginRegistration(t, p, webauthntest.New(pkOrigin))
	_, err := e.svc.FinishPasskeyRegistration(ctx, p, "", resp, "", "")
	wantErrCode(t, err, gatehouse.EMALFORMED)
	_, err = e.svc.FinishPasskeyRegistration(ctx, p, "", resp, "123456", pkPassword)
	wantErrCode(t, err, gatehouse.EMALFORMED)
	_, err = e.svc.FinishPasskeyRegistration(ctx, p, "", resp, "", "wrong password!")
	wantErrCode(t, err, gatehouse.ECREDENTIALS)
	_, err = e.svc.FinishPasskeyRegistration(ctx, p, "", resp, "123456", "")
	wantErrCode(t, err, gatehouse.EINVALIDSECONDFACTOR) // alice has no TOTP
	if n := count(); n != 1 {
		t.Fatalf("%d passkeys after refused registrations, want 1", n)
	}
	// A refused proof leaves the ceremony for another try.
	if _, err := e.svc.FinishPasskeyRegistration(ctx, p, "", resp, "", pkPassword); err != nil {
		t.Fatalf("with the password after refusals: %v", err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d passkeys, want 2", n)
	}

	wantErrCode(t, e.svc.DeletePasskey(ctx, p, pk.ID, "", ""), gatehouse.EMALFORMED)
	wantErrCode(t, e.svc.DeletePasskey(ctx, p, pk.ID, "", "wrong password!"), gatehouse.ECREDENTIALS)
	if n := count(); n != 2 {
		t.Fatalf("%d passkeys after refused removals, want 2", n)
	}
	if err := e.svc.DeletePasskey(ctx, p, pk.ID, "", pkPassword); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d passkeys after removal, want 1", n)
	}
}

// A passkey-only user's login does not take a recovery code, even one
// left in the store (by a race with turning TOTP off): the methods the
// challenge offered are the only ones accepted.
func TestRecoveryCodeRefusedWithoutTOTP(t *testing.T) {
	e := newPasskeyEnv(t)
	ctx := t.Context()
	p := e.principal(t, "alice")
	e.addPasskey(t, p, "Laptop")
	const code = "abcd-efgh-ijkl"
	h, _ := auth.HashRecoveryCode(code)
	if err := e.store.ReplaceRecoveryCodes(ctx, p.UserID, [][]byte{h}, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Login(ctx, "alice", pkPassword, auth.Client{})
	sfr, ok := errors.AsType[*auth.SecondFactorRequired](err)
	if !ok || slices.Contains(sfr.Methods, auth.MethodRecoveryCode) {
		t.Fatalf("login: %v, want second_factor_required without recovery_code", err)
	}
	_, err = e.svc.CompleteLogin(ctx, sfr.Challenge, auth.SecondFactorProof{RecoveryCode: code}, auth.Client{})
	wantErrCode(t, err, gatehouse.EINVALIDSECONDFACTOR)
	if n, err := e.store.RecoveryCodesLeft(ctx, p.UserID); n != 1 || err != nil {
		t.Fatalf("recovery codes left = %d, %v: the refused code was spent", n, err)
	}
}

func TestPasskeyAssertion(t *testing.T) {
	e := newPasskeyEnv(t)
	ctx := t.Context()
	p := e.principal(t, "alice")
	a, pk := e.addPasskey(t, p, "Laptop")
	bob := e.principal(t, "bob")
	bobKey, _ := e.addPasskey(t, bob, "Bob's")
	const binding = "login-challenge-hash"

	resp := e.assert(t, p.UserID, binding, a)
	got, err := e.svc.VerifyPasskeyAssertion(ctx, p.UserID, binding, resp)
	if err != nil {
		t.Fatalf("VerifyPasskeyAssertion: %v", err)
	}
	if got.ID != pk.ID || got.SignCount != 1 {
		t.Fatalf("used %+v", got)
	}
	list, _ := e.svc.Passkeys(ctx, p)
	if list[0].SignCount != 1 || list[0].LastUsedAt.IsZero() {
		t.Fatalf("stored after use: %+v", list[0])
	}

	refused := func(t *testing.T, userID, binding string, resp []byte) {
		t.Helper()
		_, err := e.svc.VerifyPasskeyAssertion(ctx, userID, binding, resp)
		wantErrCode(t, err, gatehouse.EINVALIDSECONDFACTOR)
	}
	t.Run("replayed answer", func(t *testing.T) {
		refused(t, p.UserID, binding, resp)
	})
	t.Run("old sign count", func(t *testing.T) {
		a.SignCount = 0 // Get makes it 1 again: not above the stored 1
		refused(t, p.UserID, binding, e.assert(t, p.UserID, binding, a))
		a.SignCount = 5
	})
	t.Run("another user's credential", func(t *testing.T) {
		refused(t, p.UserID, binding, e.assert(t, p.UserID, binding, bobKey))
	})
	t.Run("unknown credential", func(t *testing.T) {
		stranger := webauthntest.New(pkOrigin)
		stranger.UserHandle = []byte(p.UserID)
		refused(t, p.UserID, binding, e.assert(t, p.UserID, binding, stranger))
	})
	t.Run("user handle of another", func(t *testing.T) {
		saved := a.UserHandle
		a.UserHandle = []byte(bob.UserID)
		refused(t, p.UserID, binding, e.assert(t, p.UserID, binding, a))
		a.UserHandle = saved
	})
	t.Run("ceremony of another login", func(t *testing.T) {
		refused(t, p.UserID, "another-challenge", e.assert(t, p.UserID, binding, a))
	})
	t.Run("ceremony of another user", func(t *testing.T) {
		// Bob's ceremony answered with Bob's key, presented for Alice.
		refused(t, p.UserID, binding, e.assert(t, bob.UserID, binding, bobKey))
	})
	t.Run("expired", func(t *testing.T) {
		resp := e.assert(t, p.UserID, binding, a)
		e.clock.Add(5*time.Minute + time.Second)
		refused(t, p.UserID, binding, resp)
	})
	t.Run("bad signature", func(t *testing.T) {
		opts, err := e.svc.BeginPasskeyAssertion(ctx, p.UserID, binding)
		if err != nil {
			t.Fatal(err)
		}
		forger := webauthntest.New(pkOrigin) // same credential id, another key
		forger.CredentialID, forger.UserHandle, forger.SignCount = a.CredentialID, a.UserHandle, 100
		resp, _ := forger.Get(mustJSON(t, opts))
		refused(t, p.UserID, binding, resp)
	})
	t.Run("garbage", func(t *testing.T) {
		refused(t, p.UserID, binding, []byte(`{"id":"AA","type":"public-key","response":{}}`))
	})
	t.Run("still works", func(t *testing.T) {
		if _, err := e.svc.VerifyPasskeyAssertion(ctx, p.UserID, binding, e.assert(t, p.UserID, binding, a)); err != nil {
			t.Fatalf("a good answer after the refusals: %v", err)
		}
	})
	t.Run("no passkeys", func(t *testing.T) {
		carol := e.principal(t, "carol")
		_, err := e.svc.BeginPasskeyAssertion(ctx, carol.UserID, binding)
		wantErrCode(t, err, gatehouse.EINVALIDSECONDFACTOR)
	})
}

// TestPasskeysOff: without an RP ID the passkey calls say so, and a user
// who has a passkey still needs it to log in (fail closed).
func TestPasskeysOff(t *testing.T) {
	on := newPasskeyEnv(t)
	p := on.principal(t, "alice")
	on.addPasskey(t, p, "Laptop")
	off := newService(t, on.svc.Store(), edKeys(t), 4, nil)
	ctx := t.Context()
	_, err := off.BeginPasskeyRegistration(ctx, p)
	wantErrCode(t, err, gatehouse.ENOTFOUND)
	if has, err := off.HasPasskey(ctx, "nobody"); has || err != nil {
		t.Fatalf("HasPasskey of nobody = %v, %v", has, err)
	}
	_, err = off.Login(ctx, "alice", pkPassword, auth.Client{})
	sfr, ok := errors.AsType[*auth.SecondFactorRequired](err)
	if !ok || !slices.Equal(sfr.Methods, []string{auth.MethodPasskey}) {
		t.Fatalf("login with passkeys off: %v, want second_factor_required [passkey]", err)
	}
	_, _, err = off.BeginLoginPasskey(ctx, sfr.Challenge)
	wantErrCode(t, err, gatehouse.ENOTFOUND)
}

// TestResetSecondFactorsRemovesPasskeys: the operator's reset takes the
// passkeys too, and the password alone logs in again.
func TestResetSecondFactorsRemovesPasskeys(t *testing.T) {
	e := newPasskeyEnv(t)
	ctx := t.Context()
	p := e.principal(t, "alice")
	e.addPasskey(t, p, "Lost phone")
	e.addPasskey(t, p, "Lost key")
	removed, n, err := e.svc.ResetSecondFactors(ctx, p.UserID)
	if err != nil || !removed || n != 1 {
		t.Fatalf("ResetSecondFactors = %v, %d, %v; want true, 1 (the session), nil", removed, n, err)
	}
	if has, _ := e.svc.HasPasskey(ctx, p.UserID); has {
		t.Fatal("passkeys left after the reset")
	}
	if !slices.Contains(e.rec.types(), gatehouse.AuditFactorRemoved+":passkey") {
		t.Fatalf("events %v lack factor_removed:passkey", e.rec.types())
	}
	if _, err := e.svc.Login(ctx, "alice", pkPassword, auth.Client{}); err != nil {
		t.Fatalf("login after the reset: %v", err)
	}
	if removed, _, err := e.svc.ResetSecondFactors(ctx, p.UserID); removed || err != nil {
		t.Fatalf("second reset = %v, %v; want false, nil", removed, err)
	}
}
