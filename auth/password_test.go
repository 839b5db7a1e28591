package auth

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func testHasher() *Hasher {
	return &Hasher{Algorithm: Bcrypt, BcryptCost: bcrypt.MinCost, Argon2: Argon2Params{Memory: 64, Time: 1, Threads: 1}}
}

func TestHashVerify(t *testing.T) {
	for _, alg := range []string{Bcrypt, Argon2id} {
		t.Run(alg, func(t *testing.T) {
			h := testHasher()
			h.Algorithm = alg
			enc, err := h.Hash("correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(enc, "correct") {
				t.Fatalf("hash %q contains the password", enc)
			}
			ok, upgrade, err := h.Verify(enc, "correct horse battery")
			if err != nil || !ok || upgrade {
				t.Errorf("Verify(right) = %v, %v, %v; want true, false, nil", ok, upgrade, err)
			}
			ok, _, err = h.Verify(enc, "correct horse batterY")
			if err != nil || ok {
				t.Errorf("Verify(wrong) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

// TestEveryCharacterCounts checks the 72-byte rule: bcrypt alone ignores
// bytes after 72, the pre-hash must not.
func TestEveryCharacterCounts(t *testing.T) {
	h := testHasher()
	base := strings.Repeat("x", 100)
	a, b := base+"a", base+"b"
	// Control: raw bcrypt cannot tell them apart. (x/crypto refuses to
	// hash more than 72 bytes, so hash the common prefix: both verify.)
	raw, err := bcrypt.GenerateFromPassword([]byte(a[:72]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword(raw, []byte(a)) != nil || bcrypt.CompareHashAndPassword(raw, []byte(b)) != nil {
		t.Fatal("control failed: raw bcrypt distinguished passwords that differ after byte 72")
	}
	enc, err := h.Hash(a)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := h.Verify(enc, b); ok {
		t.Error("passwords that differ only after byte 72 verified as the same")
	}
	if ok, _, _ := h.Verify(enc, a); !ok {
		t.Error("the right long password did not verify")
	}
}

func TestUpgradeNeeded(t *testing.T) {
	old := testHasher()
	legacy, _ := bcrypt.GenerateFromPassword([]byte("legacy password"), bcrypt.MinCost)
	oldBcrypt, _ := old.Hash("legacy password")
	argon := testHasher()
	argon.Algorithm = Argon2id
	oldArgon, _ := argon.Hash("legacy password")

	tests := []struct {
		name    string
		hasher  func() *Hasher
		encoded string
		upgrade bool
	}{
		{name: "same scheme and cost", hasher: testHasher, encoded: oldBcrypt, upgrade: false},
		{name: "higher bcrypt cost configured", hasher: func() *Hasher { h := testHasher(); h.BcryptCost = 5; return h }, encoded: oldBcrypt, upgrade: true},
		{name: "plain bcrypt of the raw password", hasher: testHasher, encoded: string(legacy), upgrade: true},
		{name: "argon2id configured, bcrypt stored", hasher: func() *Hasher { h := testHasher(); h.Algorithm = Argon2id; return h }, encoded: oldBcrypt, upgrade: true},
		{name: "bcrypt configured, argon2id stored", hasher: testHasher, encoded: oldArgon, upgrade: true},
		{name: "argon2id with other parameters", hasher: func() *Hasher { h := testHasher(); h.Algorithm = Argon2id; h.Argon2.Time = 2; return h }, encoded: oldArgon, upgrade: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, upgrade, err := tt.hasher().Verify(tt.encoded, "legacy password")
			if err != nil || !ok {
				t.Fatalf("Verify = %v, %v; want a match", ok, err)
			}
			if upgrade != tt.upgrade {
				t.Errorf("upgrade = %v, want %v", upgrade, tt.upgrade)
			}
		})
	}
}

func TestVerifyRefusesUnknownHashes(t *testing.T) {
	for _, enc := range []string{"", "plain", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", "$argon2id$v=18$m=64,t=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA", "$bcrypt-hmac-sha256$2a$04$short"} {
		ok, _, err := testHasher().Verify(enc, "whatever password")
		if ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want false and an error", enc, ok, err)
		}
	}
}

func TestPrehashIsFixedLengthWithoutNUL(t *testing.T) {
	for _, pw := range []string{"a", strings.Repeat("é", 256), "\x00\x00"} {
		p := prehash(pw)
		if len(p) != 44 || strings.IndexByte(string(p), 0) >= 0 {
			t.Errorf("prehash(%q) = %q: want 44 bytes without NUL", pw, p)
		}
	}
}
