package sqldb_test

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
)

// TestMFAStore runs the second-factor methods on every store.
func TestMFAStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, db *sqldb.DB)
	}{
		{"TOTPEnrolment", testTOTPEnrolment},
		{"TOTPStepCompareAndSet", testTOTPStepConcurrent},
		{"RecoveryCodes", testRecoveryCodes},
		{"RecoveryCodeConcurrent", testRecoveryCodeConcurrent},
		{"LoginChallenge", testLoginChallenge},
		{"LoginChallengeConcurrent", testLoginChallengeConcurrent},
		{"SessionAMR", testSessionAMR},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, url string) { tc.run(t, openStore(t, url)) })
		})
	}
}

func testTOTPEnrolment(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	_, err := db.TOTPFactor(ctx, u.ID)
	wantCode(t, err, gatehouse.ENOTFOUND)
	if ok, err := db.PutPendingTOTP(ctx, &gatehouse.TOTPFactor{UserID: "no-such-user", Secret: []byte("s"), CreatedAt: t0}); ok || gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatalf("PutPendingTOTP for no user = %v, %v; want ENOTFOUND", ok, err)
	}
	for _, secret := range []string{"first secret", "second secret"} { // a new pending one replaces the old
		if ok, err := db.PutPendingTOTP(ctx, &gatehouse.TOTPFactor{UserID: u.ID, Secret: []byte(secret), CreatedAt: t0}); !ok || err != nil {
			t.Fatalf("PutPendingTOTP = %v, %v", ok, err)
		}
	}
	f, err := db.TOTPFactor(ctx, u.ID)
	if err != nil || string(f.Secret) != "second secret" || f.Confirmed() || f.LastStep != 0 || !f.CreatedAt.Equal(t0) {
		t.Fatalf("TOTPFactor = %+v, %v", f, err)
	}
	if ok, err := db.UseTOTPStep(ctx, u.ID, 100); ok || err != nil {
		t.Fatalf("UseTOTPStep on a pending factor = %v, %v; want false", ok, err)
	}
	hashes := [][]byte{newHash(), newHash()}
	if ok, err := db.ConfirmTOTP(ctx, u.ID, 100, hashes, t0); !ok || err != nil {
		t.Fatalf("ConfirmTOTP = %v, %v", ok, err)
	}
	if ok, err := db.ConfirmTOTP(ctx, u.ID, 101, hashes, t0); ok || err != nil {
		t.Fatalf("ConfirmTOTP twice = %v, %v; want false", ok, err)
	}
	f, err = db.TOTPFactor(ctx, u.ID)
	if err != nil || !f.Confirmed() || f.LastStep != 100 {
		t.Fatalf("confirmed factor = %+v, %v", f, err)
	}
	if n, err := db.RecoveryCodesLeft(ctx, u.ID); n != 2 || err != nil {
		t.Fatalf("RecoveryCodesLeft = %d, %v; want 2", n, err)
	}
	if ok, err := db.PutPendingTOTP(ctx, &gatehouse.TOTPFactor{UserID: u.ID, Secret: []byte("x"), CreatedAt: t0}); ok || err != nil {
		t.Fatalf("PutPendingTOTP over a confirmed factor = %v, %v; want false", ok, err)
	}
	for _, c := range []struct {
		step int64
		want bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}} {
		if ok, err := db.UseTOTPStep(ctx, u.ID, c.step); ok != c.want || err != nil {
			t.Fatalf("UseTOTPStep(%d) = %v, %v; want %v", c.step, ok, err, c.want)
		}
	}
	if ok, err := db.DeleteTOTP(ctx, u.ID); !ok || err != nil {
		t.Fatalf("DeleteTOTP = %v, %v", ok, err)
	}
	if ok, err := db.DeleteTOTP(ctx, u.ID); ok || err != nil {
		t.Fatalf("DeleteTOTP twice = %v, %v", ok, err)
	}
	if n, _ := db.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Fatalf("recovery codes after DeleteTOTP = %d", n)
	}
	_, err = db.TOTPFactor(ctx, u.ID)
	wantCode(t, err, gatehouse.ENOTFOUND)
}

// testTOTPStepConcurrent: of many instances accepting one code at once,
// exactly one succeeds.
func testTOTPStepConcurrent(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	if _, err := db.PutPendingTOTP(ctx, &gatehouse.TOTPFactor{UserID: u.ID, Secret: []byte("s"), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ConfirmTOTP(ctx, u.ID, 1, nil, t0); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	parallel(t, 8, func() error {
		ok, err := db.UseTOTPStep(ctx, u.ID, 2)
		if ok {
			wins.Add(1)
		}
		return err
	})
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent UseTOTPStep succeeded, want 1", wins.Load())
	}
}

func testRecoveryCodes(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	a, b := createUser(t, db, "alice"), createUser(t, db, "bob")
	old, fresh := newHash(), newHash()
	if err := db.ReplaceRecoveryCodes(ctx, a.ID, [][]byte{old}, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.ReplaceRecoveryCodes(ctx, a.ID, [][]byte{fresh, newHash()}, t0); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.UseRecoveryCode(ctx, a.ID, old); ok || err != nil {
		t.Fatalf("a replaced code = %v, %v; want false", ok, err)
	}
	if ok, err := db.UseRecoveryCode(ctx, b.ID, fresh); ok || err != nil {
		t.Fatalf("another user's code = %v, %v; want false", ok, err)
	}
	if ok, err := db.UseRecoveryCode(ctx, a.ID, fresh); !ok || err != nil {
		t.Fatalf("UseRecoveryCode = %v, %v", ok, err)
	}
	if ok, err := db.UseRecoveryCode(ctx, a.ID, fresh); ok || err != nil {
		t.Fatalf("a used code = %v, %v; want false", ok, err)
	}
	if ok, err := db.UseRecoveryCode(ctx, "\xff", []byte("short")); ok || err != nil {
		t.Fatalf("junk = %v, %v", ok, err)
	}
	if n, _ := db.RecoveryCodesLeft(ctx, a.ID); n != 1 {
		t.Fatalf("RecoveryCodesLeft = %d, want 1", n)
	}
	err := db.ReplaceRecoveryCodes(ctx, "no-such-user", [][]byte{newHash()}, t0)
	wantCode(t, err, gatehouse.ENOTFOUND)
}

func testRecoveryCodeConcurrent(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	h := newHash()
	if err := db.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{h}, t0); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	parallel(t, 8, func() error {
		ok, err := db.UseRecoveryCode(ctx, u.ID, h)
		if ok {
			wins.Add(1)
		}
		return err
	})
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent uses of one recovery code succeeded, want 1", wins.Load())
	}
}

func testLoginChallenge(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	ch := &gatehouse.LoginChallenge{Hash: newHash(), UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute),
		Attempts: 2, UserAgent: "test/1.0", IP: "192.0.2.1"}
	if err := db.CreateLoginChallenge(ctx, ch); err != nil {
		t.Fatal(err)
	}
	got, err := db.TakeLoginChallenge(ctx, ch.Hash, t0)
	if err != nil || got.UserID != u.ID || got.Attempts != 2 || !got.ExpiresAt.Equal(ch.ExpiresAt) ||
		got.UserAgent != ch.UserAgent || got.IP != ch.IP || !bytes.Equal(got.Hash, ch.Hash) {
		t.Fatalf("TakeLoginChallenge = %+v, %v; want %+v", got, err, ch)
	}
	_, err = db.TakeLoginChallenge(ctx, ch.Hash, t0)
	wantCode(t, err, gatehouse.ENOTFOUND) // single use

	if err := db.CreateLoginChallenge(ctx, ch); err != nil { // put back after a wrong code
		t.Fatal(err)
	}
	_, err = db.TakeLoginChallenge(ctx, ch.Hash, ch.ExpiresAt) // expired
	wantCode(t, err, gatehouse.ENOTFOUND)
	if n, err := db.DeleteExpired(ctx, ch.ExpiresAt.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want the expired challenge", n, err)
	}
	if err := db.CreateLoginChallenge(ctx, ch); err != nil { // the janitor removed it: the hash is free
		t.Fatal(err)
	}
	_, err = db.TakeLoginChallenge(ctx, []byte("short"), t0)
	wantCode(t, err, gatehouse.ENOTFOUND)
	err = db.CreateLoginChallenge(ctx, &gatehouse.LoginChallenge{Hash: newHash(), UserID: "no-such-user", ExpiresAt: t0})
	wantCode(t, err, gatehouse.ENOTFOUND)
}

// testLoginChallengeConcurrent: a challenge redeemed at once from several
// places is taken by exactly one.
func testLoginChallengeConcurrent(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	ch := &gatehouse.LoginChallenge{Hash: newHash(), UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if err := db.CreateLoginChallenge(ctx, ch); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	parallel(t, 8, func() error {
		_, err := db.TakeLoginChallenge(ctx, ch.Hash, t0)
		if err == nil {
			wins.Add(1)
		} else if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			err = nil
		}
		return err
	})
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent takes succeeded, want 1", wins.Load())
	}
}

// testSessionAMR: a session keeps its amr through creation, reads and
// refresh-token rotation.
func testSessionAMR(t *testing.T, db *sqldb.DB) {
	ctx, t0 := t.Context(), now()
	u := createUser(t, db, "alice")
	s := &gatehouse.Session{UserID: u.ID, ExpiresAt: t0.Add(time.Hour), AMR: []string{"pwd", "otp"}}
	raw, err := db.CreateSession(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.SessionByID(ctx, s.ID)
	if err != nil || !slices.Equal(got.AMR, s.AMR) {
		t.Fatalf("SessionByID amr = %v, %v; want %v", got.AMR, err, s.AMR)
	}
	res, rotated, _, _, err := db.RotateRefresh(ctx, parseRefresh(t, raw), t0, t0.Add(time.Hour), t0.Add(time.Hour))
	if err != nil || res != gatehouse.RefreshRotated || !slices.Equal(rotated.AMR, s.AMR) {
		t.Fatalf("RotateRefresh = %v, %+v, %v; want amr %v", res, rotated, err, s.AMR)
	}
	plain, _ := createSession(t, db, u.ID, t0, t0.Add(time.Hour))
	if got, err := db.SessionByID(ctx, plain.ID); err != nil || got.AMR != nil {
		t.Fatalf("session without amr reads back %v, %v", got.AMR, err)
	}
}

// parallel runs fn n times at once and fails on the first error.
func parallel(t *testing.T, n int, fn func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- fn()
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
