package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Password hashing schemes. A stored hash names its scheme, so a hash made
// under an older configuration still verifies and is upgraded at the next
// successful login.
const (
	// Bcrypt is bcrypt over a keyed SHA-256 pre-hash of the password (see
	// prehash). Stored as "$bcrypt-hmac-sha256$2a$COST$…".
	Bcrypt = "bcrypt"
	// Argon2id is argon2id (RFC 9106) in the PHC string format
	// "$argon2id$v=19$m=…,t=…,p=…$salt$hash".
	Argon2id = "argon2id"
)

const bcryptPrefix = "$bcrypt-hmac-sha256"

// prehashKey keys the pre-hash. It is public: it only makes our pre-hash
// differ from a plain SHA-256, so that unsalted SHA-256 hashes leaked from
// elsewhere cannot be tested against our bcrypt hashes ("password shucking").
var prehashKey = []byte("gatehouse/bcrypt-hmac-sha256/v1")

// Argon2Params are the argon2id cost parameters.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2 follows OWASP's password storage guidance (2023+):
// 19 MiB, two passes, one lane.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Hasher hashes and verifies passwords under one configured scheme.
// Passwords reach it already validated and NFC-normalised.
type Hasher struct {
	Algorithm  string // Bcrypt (default) or Argon2id
	BcryptCost int
	Argon2     Argon2Params
}

// prehash makes every character of a long password count: bcrypt reads
// only the first 72 bytes of its input, so it is given the base64 of
// HMAC-SHA256(prehashKey, password) instead: 44 bytes, never a NUL byte.
func prehash(password string) []byte {
	m := hmac.New(sha256.New, prehashKey)
	m.Write([]byte(password))
	out := make([]byte, base64.StdEncoding.EncodedLen(sha256.Size))
	base64.StdEncoding.Encode(out, m.Sum(nil))
	return out
}

// Hash returns the encoded hash of password under the configured scheme.
func (h *Hasher) Hash(password string) (string, error) {
	if h.Algorithm == Argon2id {
		return h.hashArgon2(password)
	}
	b, err := bcrypt.GenerateFromPassword(prehash(password), h.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("bcrypt: %w", err)
	}
	return bcryptPrefix + string(b), nil
}

func (h *Hasher) hashArgon2(password string) (string, error) {
	p := h.Argon2
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// errUnknownHash is returned for a stored hash no scheme recognises.
var errUnknownHash = errors.New("unrecognised password hash format")

// Verify reports whether password matches encoded, and whether encoded
// should be replaced by a fresh hash under the configured scheme (an older
// algorithm or different cost). Plain bcrypt hashes ("$2a$", "$2b$", "$2y$",
// as imported from a system that hashed the raw password) verify too and
// always need an upgrade.
func (h *Hasher) Verify(encoded, password string) (ok, upgrade bool, err error) {
	switch {
	case strings.HasPrefix(encoded, bcryptPrefix):
		b := []byte(encoded[len(bcryptPrefix):])
		if err := bcrypt.CompareHashAndPassword(b, prehash(password)); err != nil {
			return false, false, bcryptErr(err)
		}
		cost, _ := bcrypt.Cost(b)
		return true, h.Algorithm == Argon2id || cost != h.BcryptCost, nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		if err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)); err != nil {
			return false, false, bcryptErr(err)
		}
		return true, true, nil
	case strings.HasPrefix(encoded, "$argon2id$"):
		return h.verifyArgon2(encoded, password)
	}
	return false, false, errUnknownHash
}

func bcryptErr(err error) error {
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return nil
	}
	return fmt.Errorf("bcrypt: %w", err)
}

func (h *Hasher) verifyArgon2(encoded, password string) (ok, upgrade bool, err error) {
	p, salt, sum, err := parseArgon2(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(sum)))
	if subtle.ConstantTimeCompare(got, sum) != 1 {
		return false, false, nil
	}
	return true, h.Algorithm != Argon2id || p != h.Argon2, nil
}

// parseArgon2 reads "$argon2id$v=19$m=M,t=T,p=P$salt$hash".
func parseArgon2(encoded string) (p Argon2Params, salt, sum []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errUnknownHash
	}
	var m, t, th uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errUnknownHash
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			th = n
		}
	}
	if m == 0 || t == 0 || th == 0 || th > 255 {
		return p, nil, nil, errUnknownHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, errUnknownHash
	}
	if sum, err = b64.DecodeString(parts[5]); err != nil || len(sum) < 16 {
		return p, nil, nil, errUnknownHash
	}
	return Argon2Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th)}, salt, sum, nil
}
