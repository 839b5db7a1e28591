package token

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/golang-jwt/jwt/v5"
)

// Algorithm names, as they appear in the alg header.
const (
	EdDSA = "EdDSA"
	HS256 = "HS256"
)

// MinSecretSize is the shortest HS256 secret NewHS256 accepts: 256 bits, the
// size of the HMAC-SHA256 output (RFC 7518 §3.2 requires at least that).
const MinSecretSize = 32

// KeySet is the set of keys tokens are signed and verified with. Its
// algorithm is fixed when it is made; Verify accepts no other (so there is no
// algorithm confusion). Make one with NewHS256 or NewEdDSA; the zero value
// is not usable. It is safe for concurrent use: Update builds a new
// immutable state and swaps it in atomically, so verification never locks.
type KeySet struct {
	alg    string
	public bool       // made by NewEdDSAPublic: verifies only
	mu     sync.Mutex // serialises Update; readers never take it
	state  atomic.Pointer[keyState]
}

// keyState is one immutable generation of a KeySet.
type keyState struct {
	byID    map[string]*key
	signers []*key // every key, newest first; Issue takes the first current one
	jwks    []byte
	// epoch changes whenever a kid is removed or its key material changes, and
	// only then: a cached verification is valid while the epoch is the same.
	epoch uint64
}

// key is one signing and verification key.
type key struct {
	id        string
	method    jwt.SigningMethod
	verifyKey any               // what method.Verify expects: ed25519.PublicKey or []byte
	signKey   any               // what method.Sign expects: ed25519.PrivateKey or []byte
	public    ed25519.PublicKey // EdDSA only: published in the JWKS
	header    string            // base64url of the JOSE header Issue writes
	createdAt time.Time
	notBefore time.Time
	retireAt  time.Time
}

// canSign reports whether k may sign at now: NotBefore has come (keys are
// published before they sign, so that every instance knows them first) and
// RetireAt, if set, has not.
func (k *key) canSign(now time.Time) bool {
	return !now.Before(k.notBefore) && (k.retireAt.IsZero() || now.Before(k.retireAt))
}

// signer returns the newest key that may sign at now, or nil.
func (st *keyState) signer(now time.Time) *key {
	for _, k := range st.signers {
		if k.canSign(now) {
			return k
		}
	}
	return nil
}

// NewHS256 returns a KeySet that signs and verifies with HMAC-SHA256 under
// secret, taken as it is (copied). A secret shorter than MinSecretSize is
// refused: a short HMAC key can be brute-forced offline from any one token.
//
// The kid is the base64url of the first 8 bytes of SHA-256("gatehouse-kid" ||
// secret). It reveals nothing usable about the secret: anyone who could
// search the secret space against the kid could search it against the HMAC
// of any token just as well.
func NewHS256(secret []byte) (*KeySet, error) {
	if len(secret) < MinSecretSize {
		return nil, fmt.Errorf("token: HS256 secret is %d bytes, must be at least %d", len(secret), MinSecretSize)
	}
	h := sha256.New()
	h.Write([]byte("gatehouse-kid"))
	h.Write(secret)
	kid := base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:8])
	s := bytes.Clone(secret)
	k := &key{
		id:        kid,
		method:    jwt.SigningMethodHS256,
		verifyKey: s,
		signKey:   s,
		header:    encodeHeader(HS256, kid),
	}
	ks := &KeySet{alg: HS256}
	ks.state.Store(&keyState{
		byID:    map[string]*key{kid: k},
		signers: []*key{k},
		jwks:    encodeJWKS(nil),
	})
	return ks, nil
}

// NewEdDSA returns a KeySet that verifies with every one of keys and signs
// with the newest (by CreatedAt; the later in keys on a tie) whose NotBefore
// has come and whose RetireAt, if set, has not. Which key signs is decided at
// each Issue, so a key published ahead with a future NotBefore starts signing
// by itself. It is an error if no key can sign at now, or if any key is not a
// well-formed Ed25519 key (a stored private key whose public half does not
// match its seed is refused rather than trusted).
func NewEdDSA(keys []*gatehouse.SigningKey, now time.Time) (*KeySet, error) {
	st, err := newEdDSAState(keys, now)
	if err != nil {
		return nil, err
	}
	ks := &KeySet{alg: EdDSA}
	ks.state.Store(st)
	return ks, nil
}

// Update replaces the keys of an EdDSA KeySet, for rotation and to learn the
// keys other instances made. The rules are those of NewEdDSA; on error the
// KeySet is left as it was. Removing a key (or changing the key under a kid)
// invalidates every cached verification, so tokens signed with a removed key
// are refused at once. An HS256 KeySet cannot be updated.
func (ks *KeySet) Update(keys []*gatehouse.SigningKey, now time.Time) error {
	if ks.alg != EdDSA || ks.public {
		return errors.New("token: only an EdDSA key set that signs can be updated with signing keys")
	}
	st, err := newEdDSAState(keys, now)
	if err != nil {
		return err
	}
	ks.swap(st)
	return nil
}

// swap installs st, carrying the epoch over unless a kid went away or its
// key changed.
func (ks *KeySet) swap(st *keyState) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	old := ks.state.Load()
	st.epoch = old.epoch
	for id, k := range old.byID {
		if n := st.byID[id]; n == nil || !n.public.Equal(k.public) {
			st.epoch++
			break
		}
	}
	ks.state.Store(st)
}

// SignerID returns the kid that Issue would sign with at now, or "" when no
// key may sign (or the set verifies only).
func (ks *KeySet) SignerID(now time.Time) string {
	if k := ks.state.Load().signer(now); k != nil {
		return k.id
	}
	return ""
}

// Algorithm returns the alg the KeySet signs with and the only one it
// verifies: "EdDSA" or "HS256".
func (ks *KeySet) Algorithm() string { return ks.alg }

// JWKS returns the public JWK Set, {"keys":[...]}: each Ed25519 key as an OKP
// JWK with kid, alg, use and x, never the private part. In HS256 mode the
// set is empty, since the secret must never be published. The document is
// built when the keys change; each call returns a copy of it.
func (ks *KeySet) JWKS() []byte { return bytes.Clone(ks.state.Load().jwks) }

// newEdDSAState checks keys and builds the state that holds them.
func newEdDSAState(keys []*gatehouse.SigningKey, now time.Time) (*keyState, error) {
	st := &keyState{byID: make(map[string]*key, len(keys))}
	for _, sk := range keys {
		k, err := edKey(sk)
		if err != nil {
			return nil, err
		}
		if st.byID[k.id] != nil {
			return nil, fmt.Errorf("token: signing key %q is given twice", k.id)
		}
		st.byID[k.id] = k
		st.signers = append(st.signers, k)
	}
	st.jwks = encodeJWKS(st.signers) // in the order given: the store's, oldest first
	// Newest first; SortStableFunc keeps the later of two equal CreatedAt first
	// because the list is reversed before.
	slices.Reverse(st.signers)
	slices.SortStableFunc(st.signers, func(a, b *key) int { return b.createdAt.Compare(a.createdAt) })
	if st.signer(now) == nil {
		return nil, errors.New("token: no signing key is current (NotBefore not reached or RetireAt passed)")
	}
	return st, nil
}

// edKey checks one stored Ed25519 key and makes a key of it.
func edKey(sk *gatehouse.SigningKey) (*key, error) {
	switch {
	case sk == nil:
		return nil, errors.New("token: nil signing key")
	case sk.ID == "":
		return nil, errors.New("token: signing key without an id")
	case sk.Algorithm != EdDSA:
		return nil, fmt.Errorf("token: signing key %q: algorithm %q, want %q", sk.ID, sk.Algorithm, EdDSA)
	case len(sk.Private) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("token: signing key %q: private key is %d bytes, want %d", sk.ID, len(sk.Private), ed25519.PrivateKeySize)
	}
	priv := ed25519.NewKeyFromSeed(sk.Private[:ed25519.SeedSize])
	if !bytes.Equal(priv, sk.Private) {
		return nil, fmt.Errorf("token: signing key %q: public half does not match the seed", sk.ID)
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &key{
		id:        sk.ID,
		method:    jwt.SigningMethodEdDSA,
		verifyKey: pub,
		signKey:   priv,
		public:    pub,
		header:    encodeHeader(EdDSA, sk.ID),
		createdAt: sk.CreatedAt,
		notBefore: sk.NotBefore,
		retireAt:  sk.RetireAt,
	}, nil
}

// encodeHeader returns the base64url JOSE header of tokens signed by kid.
// It is fixed per key, so Issue does not encode it each time.
func encodeHeader(alg, kid string) string {
	b, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, "at+jwt"})
	if err != nil {
		panic(err) // three strings always encode
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
