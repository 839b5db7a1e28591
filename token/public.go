package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// NewEdDSAPublic returns a KeySet that verifies with the Ed25519 public keys
// of a JWK Set document, as gatehouse's JWKS endpoint serves it, and never
// signs: it is what a resource server holds. Keys of another type or curve
// are skipped (RFC 7517 §5 lets a reader ignore what it does not use); an
// Ed25519 key without a kid, with a malformed x, or with an alg other than
// EdDSA or a use other than sig refuses the whole document, since a
// half-read set would refuse good tokens for no visible reason.
func NewEdDSAPublic(jwks []byte) (*KeySet, error) {
	st, err := newPublicState(jwks)
	if err != nil {
		return nil, err
	}
	ks := &KeySet{alg: EdDSA, public: true}
	ks.state.Store(st)
	return ks, nil
}

// UpdatePublic replaces the keys of a KeySet made by NewEdDSAPublic with
// those of a newer JWK Set document. On error the KeySet is left as it
// was. As with Update, removing a kid (or changing its key) invalidates
// every cached verification.
func (ks *KeySet) UpdatePublic(jwks []byte) error {
	if !ks.public {
		return errors.New("token: UpdatePublic on a key set that signs")
	}
	st, err := newPublicState(jwks)
	if err != nil {
		return err
	}
	ks.swap(st)
	return nil
}

// Has reports whether the KeySet knows the key kid, so that a caller can
// tell whether fetching the keys again could help.
func (ks *KeySet) Has(kid string) bool {
	_, ok := ks.state.Load().byID[kid]
	return ok
}

// publicJWK is one member of a JWK Set as read. Unknown members are
// ignored; "d" is never read.
type publicJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// newPublicState parses a JWK Set into a state that verifies only: it has
// no signers, so Issue on it fails.
func newPublicState(doc []byte) (*keyState, error) {
	var set struct {
		Keys []publicJWK `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("token: JWK Set: %w", err)
	}
	st := &keyState{byID: make(map[string]*key, len(set.Keys))}
	var keys []*key
	for i, j := range set.Keys {
		if j.Kty != "OKP" || j.Crv != "Ed25519" {
			continue
		}
		k, err := publicKey(j)
		if err != nil {
			return nil, fmt.Errorf("token: JWK Set key %d: %w", i, err)
		}
		if st.byID[k.id] != nil {
			return nil, fmt.Errorf("token: JWK Set: kid %q is given twice", k.id)
		}
		st.byID[k.id] = k
		keys = append(keys, k)
	}
	st.jwks = encodeJWKS(keys)
	return st, nil
}

// publicKey checks one Ed25519 JWK and makes a verify-only key of it.
func publicKey(j publicJWK) (*key, error) {
	switch {
	case j.Kid == "":
		return nil, errors.New("no kid")
	case j.Alg != "" && j.Alg != EdDSA:
		return nil, fmt.Errorf("kid %q: alg %q, want %q", j.Kid, j.Alg, EdDSA)
	case j.Use != "" && j.Use != "sig":
		return nil, fmt.Errorf("kid %q: use %q, want sig", j.Kid, j.Use)
	}
	x, err := base64.RawURLEncoding.Strict().DecodeString(j.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("kid %q: x is not a base64url Ed25519 public key", j.Kid)
	}
	pub := ed25519.PublicKey(x)
	return &key{id: j.Kid, method: jwt.SigningMethodEdDSA, verifyKey: pub, public: pub}, nil
}
