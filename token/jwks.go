package token

import (
	"encoding/base64"
	"encoding/json"
)

// jwk is the public JWK of an Ed25519 key (RFC 8037). It has no field for
// the private part ("d"), so that no code path can publish it.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// encodeJWKS returns the JWK Set of keys' public halves. With no keys it is
// {"keys":[]}, never {"keys":null}.
func encodeJWKS(keys []*key) []byte {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, jwk{
			Kty: "OKP",
			Crv: "Ed25519",
			X:   base64.RawURLEncoding.EncodeToString(k.public),
			Kid: k.id,
			Alg: EdDSA,
			Use: "sig",
		})
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic(err) // strings only: always encodes
	}
	return b
}
