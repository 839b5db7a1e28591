package token

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims of a gatehouse access token.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub: user id
	Audience  string    // aud: ours, also when the token's aud is an array containing it
	ExpiresAt time.Time // exp
	IssuedAt  time.Time // iat
	ID        string    // jti
	SessionID string    // sid
	Username  string    // preferred_username
	AMR       []string  // amr (RFC 8176): how the session's login authenticated; nil when absent
}

// issuedClaims is the payload as Issue writes it: a struct rather than a
// map so that encoding is cheap and its field order fixed, aud a single
// string (RFC 7519 allows either; a string is what resource servers expect).
type issuedClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  string   `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	SessionID string   `json:"sid"`
	Username  string   `json:"preferred_username"`
	AMR       []string `json:"amr,omitempty"`
}

// parsedClaims is the payload as Verify decodes it: a struct, not
// jwt.MapClaims, so decoding allocates little and every claim has one type.
// jwt.RegisteredClaims accepts aud as a string or an array.
type parsedClaims struct {
	jwt.RegisteredClaims
	SessionID string   `json:"sid"`
	Username  string   `json:"preferred_username"`
	AMR       []string `json:"amr"`
}

var (
	errNoSubject  = errors.New("sub claim is required")
	errNoSession  = errors.New("sid claim is required")
	errNoID       = errors.New("jti claim is required")
	errNoIssuedAt = errors.New("iat claim is required")
)

// Validate is called by the jwt parser after its own checks (iss, aud, exp,
// nbf, iat). It requires the claims gatehouse relies on: a token without
// sid could not be revoked, one without sub names nobody.
func (c *parsedClaims) Validate() error {
	switch {
	case c.Subject == "":
		return errNoSubject
	case c.SessionID == "":
		return errNoSession
	case c.ID == "":
		return errNoID
	case c.IssuedAt == nil:
		return errNoIssuedAt
	}
	return nil
}

// claims converts verified wire claims to Claims. audience is ours: the
// parser has checked that aud is it or an array that contains it.
func (c *parsedClaims) claims(audience string) *Claims {
	return &Claims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  audience,
		ExpiresAt: c.ExpiresAt.UTC(),
		IssuedAt:  c.IssuedAt.UTC(),
		ID:        c.ID,
		SessionID: c.SessionID,
		Username:  c.Username,
		AMR:       c.AMR,
	}
}

// validFrom is the earliest instant at which a token with these claims is
// accepted: iat and nbf may lie up to Leeway in the future.
func (c *parsedClaims) validFrom() time.Time {
	from := c.IssuedAt.Time
	if c.NotBefore != nil && c.NotBefore.After(from) {
		from = c.NotBefore.Time
	}
	return from.Add(-Leeway)
}
