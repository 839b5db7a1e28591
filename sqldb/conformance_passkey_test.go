package sqldb_test

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
)

// TestPasskeyStore runs the passkey and ceremony conformance tests on
// every store.
func TestPasskeyStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := openStore(t, url)
		for _, tc := range []struct {
			name string
			run  func(t *testing.T, db *sqldb.DB)
		}{
			{"Passkeys", testPasskeys},
			{"PasskeyOwnership", testPasskeyOwnership},
			{"UsePasskey", testUsePasskey},
			{"Ceremony", testCeremony},
			{"CeremonyConcurrentTake", testCeremonyConcurrentTake},
			{"PasskeysGoWithUser", testPasskeysGoWithUser},
		} {
			t.Run(tc.name, func(t *testing.T) { tc.run(t, db) })
		}
	})
}

func addPasskey(t *testing.T, db *sqldb.DB, userID, name string) *gatehouse.Passkey {
	t.Helper()
	p := &gatehouse.Passkey{UserID: userID, CredentialID: newHash(), PublicKey: []byte{0xa5, 1, 2, 3, 0x26},
		SignCount: 7, Transports: []string{"internal", "hybrid"}, AAGUID: bytes.Repeat([]byte{0xad}, 16),
		Flags: 0x5d, AttestationFormat: "none", Name: name}
	if err := db.AddPasskey(t.Context(), p); err != nil {
		t.Fatalf("AddPasskey: %v", err)
	}
	return p
}

func passkeys(t *testing.T, db *sqldb.DB, userID string) []*gatehouse.Passkey {
	t.Helper()
	list, err := db.Passkeys(t.Context(), userID)
	if err != nil {
		t.Fatalf("Passkeys: %v", err)
	}
	return list
}

// testPasskeys: a passkey reads back as stored; a credential id is
// registered once only, whoever registers it again.
func testPasskeys(t *testing.T, db *sqldb.DB) {
	u := createUser(t, db, "pk-alice")
	if got := passkeys(t, db, u.ID); len(got) != 0 {
		t.Fatalf("new user has %d passkeys", len(got))
	}
	p := addPasskey(t, db, u.ID, "Laptop 💻")
	q := addPasskey(t, db, u.ID, "Phone")
	got := passkeys(t, db, u.ID)
	if len(got) != 2 || got[0].ID != p.ID || got[1].ID != q.ID {
		t.Fatalf("Passkeys = %+v, want p then q", got)
	}
	g := got[0]
	if !bytes.Equal(g.CredentialID, p.CredentialID) || !bytes.Equal(g.PublicKey, p.PublicKey) ||
		g.SignCount != 7 || len(g.Transports) != 2 || g.Transports[1] != "hybrid" ||
		!bytes.Equal(g.AAGUID, p.AAGUID) || g.Flags != 0x5d || g.AttestationFormat != "none" ||
		g.Name != "Laptop 💻" || !g.CreatedAt.Equal(p.CreatedAt) || !g.LastUsedAt.IsZero() || g.UserID != u.ID {
		t.Fatalf("read back %+v, want %+v", g, p)
	}
	other := createUser(t, db, "pk-mallory")
	dup := &gatehouse.Passkey{UserID: other.ID, CredentialID: p.CredentialID, PublicKey: []byte{1}, Name: "stolen"}
	wantCode(t, db.AddPasskey(t.Context(), dup), gatehouse.EINVALIDPASSKEY)
	ghost := &gatehouse.Passkey{UserID: "no-such-user", CredentialID: newHash(), PublicKey: []byte{1}, Name: "x"}
	wantCode(t, db.AddPasskey(t.Context(), ghost), gatehouse.ENOTFOUND)

	if err := db.RenamePasskey(t.Context(), u.ID, p.ID, "Work laptop"); err != nil {
		t.Fatalf("RenamePasskey: %v", err)
	}
	if err := db.RenamePasskey(t.Context(), u.ID, p.ID, "Work laptop"); err != nil {
		t.Fatalf("RenamePasskey to the same name: %v", err)
	}
	if got := passkeys(t, db, u.ID); got[0].Name != "Work laptop" {
		t.Fatalf("name after rename = %q", got[0].Name)
	}
	if err := db.DeletePasskey(t.Context(), u.ID, p.ID); err != nil {
		t.Fatalf("DeletePasskey: %v", err)
	}
	wantCode(t, db.DeletePasskey(t.Context(), u.ID, p.ID), gatehouse.ENOTFOUND)
	if got := passkeys(t, db, u.ID); len(got) != 1 || got[0].ID != q.ID {
		t.Fatalf("after delete: %+v", got)
	}
}

// testPasskeyOwnership: nobody renames, deletes or uses another user's
// passkey, and hostile ids name nothing.
func testPasskeyOwnership(t *testing.T, db *sqldb.DB) {
	alice, bob := createUser(t, db, "own-alice"), createUser(t, db, "own-bob")
	p := addPasskey(t, db, alice.ID, "Alice's key")
	ctx := t.Context()
	wantCode(t, db.RenamePasskey(ctx, bob.ID, p.ID, "mine now"), gatehouse.ENOTFOUND)
	wantCode(t, db.DeletePasskey(ctx, bob.ID, p.ID), gatehouse.ENOTFOUND)
	wantCode(t, db.UsePasskey(ctx, bob.ID, p.ID, 7, 8, now()), gatehouse.ENOTFOUND)
	for _, id := range []string{"", "x\x00y", "\xff\xfe", "' OR 1=1 --"} {
		wantCode(t, db.DeletePasskey(ctx, alice.ID, id), gatehouse.ENOTFOUND)
	}
	if got := passkeys(t, db, alice.ID); len(got) != 1 || got[0].Name != "Alice's key" || got[0].SignCount != 7 {
		t.Fatalf("alice's passkey changed: %+v", got)
	}
	if got := passkeys(t, db, "\xff"); len(got) != 0 {
		t.Fatalf("Passkeys of a hostile id = %+v", got)
	}
}

// testUsePasskey: the sign count moves only from the value the caller
// read, so of two assertions that read the same count one wins.
func testUsePasskey(t *testing.T, db *sqldb.DB) {
	u := createUser(t, db, "use-alice")
	p := addPasskey(t, db, u.ID, "key")
	at := now()
	if err := db.UsePasskey(t.Context(), u.ID, p.ID, 7, 9, at); err != nil {
		t.Fatalf("UsePasskey: %v", err)
	}
	wantCode(t, db.UsePasskey(t.Context(), u.ID, p.ID, 7, 10, at), gatehouse.ENOTFOUND)
	got := passkeys(t, db, u.ID)[0]
	if got.SignCount != 9 || !got.LastUsedAt.Equal(at) {
		t.Fatalf("after use: count %d, last used %v; want 9, %v", got.SignCount, got.LastUsedAt, at)
	}
	// Authenticators without a counter send 0 every time.
	q := addPasskey(t, db, u.ID, "no counter")
	for range 2 {
		if err := db.UsePasskey(t.Context(), u.ID, q.ID, 7, 7, at); err != nil {
			t.Fatalf("UsePasskey with an unchanged count: %v", err)
		}
	}
}

func putCeremony(t *testing.T, db *sqldb.DB, userID string, expires, at time.Time) *gatehouse.WebAuthnCeremony {
	t.Helper()
	c := &gatehouse.WebAuthnCeremony{ChallengeHash: newHash(), UserID: userID, Kind: gatehouse.CeremonyLogin,
		Binding: "binding-1", Data: []byte(`{"challenge":"abc"}`), ExpiresAt: expires}
	if err := db.PutCeremony(t.Context(), c, at); err != nil {
		t.Fatalf("PutCeremony: %v", err)
	}
	return c
}

// testCeremony: a ceremony is taken once, not after it expired, and
// expired ones are dropped by the next put.
func testCeremony(t *testing.T, db *sqldb.DB) {
	u := createUser(t, db, "cer-alice")
	t0 := now()
	c := putCeremony(t, db, u.ID, t0.Add(time.Minute), t0)
	got, err := db.TakeCeremony(t.Context(), c.ChallengeHash, t0.Add(time.Second))
	if err != nil {
		t.Fatalf("TakeCeremony: %v", err)
	}
	if got.UserID != u.ID || got.Kind != gatehouse.CeremonyLogin || got.Binding != "binding-1" ||
		string(got.Data) != `{"challenge":"abc"}` || !got.ExpiresAt.Equal(c.ExpiresAt) {
		t.Fatalf("took %+v, want %+v", got, c)
	}
	_, err = db.TakeCeremony(t.Context(), c.ChallengeHash, t0.Add(time.Second))
	wantCode(t, err, gatehouse.ENOTFOUND)

	old := putCeremony(t, db, u.ID, t0.Add(time.Minute), t0)
	_, err = db.TakeCeremony(t.Context(), old.ChallengeHash, t0.Add(time.Minute))
	wantCode(t, err, gatehouse.ENOTFOUND) // expired: and gone, not to be taken later either

	stale := putCeremony(t, db, u.ID, t0.Add(time.Minute), t0)
	putCeremony(t, db, u.ID, t0.Add(3*time.Minute), t0.Add(2*time.Minute)) // drops stale
	_, err = db.TakeCeremony(t.Context(), stale.ChallengeHash, t0)
	wantCode(t, err, gatehouse.ENOTFOUND)

	_, err = db.TakeCeremony(t.Context(), []byte("not a hash"), t0)
	wantCode(t, err, gatehouse.ENOTFOUND)
	wantCode(t, db.PutCeremony(t.Context(), &gatehouse.WebAuthnCeremony{ChallengeHash: newHash(), UserID: "ghost",
		Kind: gatehouse.CeremonyRegister, Data: []byte("{}"), ExpiresAt: t0.Add(time.Minute)}, t0), gatehouse.ENOTFOUND)
}

// testCeremonyConcurrentTake: of many instances finishing one ceremony at
// once, exactly one gets it.
func testCeremonyConcurrentTake(t *testing.T, db *sqldb.DB) {
	u := createUser(t, db, "race-alice")
	t0 := now()
	c := putCeremony(t, db, u.ID, t0.Add(time.Minute), t0)
	var wg sync.WaitGroup
	var won, lost atomic.Int32
	for range 10 {
		wg.Go(func() {
			_, err := db.TakeCeremony(t.Context(), c.ChallengeHash, t0)
			switch gatehouse.ErrorCode(err) {
			case "":
				won.Add(1)
			case gatehouse.ENOTFOUND:
				lost.Add(1)
			default:
				t.Errorf("TakeCeremony: %v", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || lost.Load() != 9 {
		t.Fatalf("won %d, lost %d; want 1 and 9", won.Load(), lost.Load())
	}
}

// testPasskeysGoWithUser: deleting a user deletes their passkeys and
// ceremonies.
func testPasskeysGoWithUser(t *testing.T, db *sqldb.DB) {
	u := createUser(t, db, "gone-alice")
	p := addPasskey(t, db, u.ID, "key")
	t0 := now()
	c := putCeremony(t, db, u.ID, t0.Add(time.Minute), t0)
	if _, err := db.DeleteUser(t.Context(), u.ID, t0, t0.Add(time.Hour)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if got := passkeys(t, db, u.ID); len(got) != 0 {
		t.Fatalf("passkeys after DeleteUser: %+v", got)
	}
	_, err := db.TakeCeremony(t.Context(), c.ChallengeHash, t0)
	wantCode(t, err, gatehouse.ENOTFOUND)
	// Its credential id is free again.
	again := &gatehouse.Passkey{UserID: createUser(t, db, "new-alice").ID, CredentialID: p.CredentialID, PublicKey: []byte{1}, Name: "k"}
	if err := db.AddPasskey(t.Context(), again); err != nil {
		t.Fatalf("AddPasskey after the owner was deleted: %v", err)
	}
}
