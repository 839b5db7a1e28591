// Package webauthntest is a software WebAuthn authenticator and browser
// for tests: it answers the options of a registration or an assertion
// ceremony the way navigator.credentials.create/get and
// PublicKeyCredential.toJSON() would, with an ES256 key and "none"
// attestation, so that the server's ceremonies can be driven over HTTP
// without a browser. Its fields can be changed between calls to answer
// wrongly on purpose.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator holds one credential (made by Create) and answers
// ceremonies for it.
type Authenticator struct {
	Origin       string // the page's origin, put in clientDataJSON
	RPID         string // "": the one the options name
	Key          *ecdsa.PrivateKey
	CredentialID []byte
	UserHandle   []byte // from Create; sent back by Get
	SignCount    uint32 // the count the next answer carries (each Get adds one first)
	NoUserHandle bool   // Get sends no userHandle
}

// New returns an authenticator with a fresh key and credential id for
// pages at origin.
func New(origin string) *Authenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &Authenticator{Origin: origin, Key: k, CredentialID: id}
}

var b64 = base64.RawURLEncoding

// options is what both kinds of ceremony options hold that we read.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"` // assertion
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"` // registration
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func parseOptions(raw []byte) (*options, error) {
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("webauthntest: options: %w", err)
	}
	if o.PublicKey.Challenge == "" {
		return nil, fmt.Errorf("webauthntest: options have no challenge: %s", raw)
	}
	return &o, nil
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// authData is rpIdHash, flags (user present and verified, plus extra)
// and the sign count.
func (a *Authenticator) authData(rpID string, extra byte) []byte {
	if a.RPID != "" {
		rpID = a.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], 0x01|0x04|extra)
	return binary.BigEndian.AppendUint32(out, a.SignCount)
}

// coseKey is the credential's public key as a COSE_Key (EC2, ES256, P-256).
func (a *Authenticator) coseKey() []byte {
	pub := a.Key.PublicKey
	x, y := make([]byte, 32), make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	b, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		panic(err)
	}
	return b
}

// Create answers registration options (the JSON of a
// CredentialCreation, {"publicKey": …}) with a PublicKeyCredential in
// JSON, attestation "none".
func (a *Authenticator) Create(optionsJSON []byte) ([]byte, error) {
	o, err := parseOptions(optionsJSON)
	if err != nil {
		return nil, err
	}
	if a.UserHandle, err = b64.DecodeString(o.PublicKey.User.ID); err != nil {
		return nil, fmt.Errorf("webauthntest: user id: %w", err)
	}
	ad := a.authData(o.PublicKey.RP.ID, 0x40) // attested credential data follows
	ad = append(ad, make([]byte, 16)...)      // AAGUID: none
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(a.CredentialID)))
	ad = append(ad, a.CredentialID...)
	ad = append(ad, a.coseKey()...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
}

// Get answers assertion options (the JSON of a CredentialAssertion) with
// a PublicKeyCredential in JSON, after adding one to the sign count.
func (a *Authenticator) Get(optionsJSON []byte) ([]byte, error) {
	o, err := parseOptions(optionsJSON)
	if err != nil {
		return nil, err
	}
	a.SignCount++
	return a.Sign(o.PublicKey.RPID, o.PublicKey.Challenge)
}

// Sign makes an assertion over challenge for rpID with the current sign
// count, as Get does, without reading options.
func (a *Authenticator) Sign(rpID, challenge string) ([]byte, error) {
	ad := a.authData(rpID, 0)
	cdj := a.clientData("webauthn.get", challenge)
	cdh := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		return nil, err
	}
	resp := map[string]any{
		"clientDataJSON":    b64.EncodeToString(cdj),
		"authenticatorData": b64.EncodeToString(ad),
		"signature":         b64.EncodeToString(sig),
	}
	if !a.NoUserHandle {
		resp["userHandle"] = b64.EncodeToString(a.UserHandle)
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": resp, "clientExtensionResults": map[string]any{},
	})
}
