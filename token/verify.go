package token

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/golang-jwt/jwt/v5"
)

// ErrUnknownKey is the cause (errors.Is) of a refusal because the token's
// kid names no key of the KeySet. It is the one refusal that reloading the
// keys can cure: a key made by another instance, or published since the
// keys were last read.
var ErrUnknownKey = errors.New("kid is unknown")

// Causes of refusal. They are wrapped beside the client-facing
// *gatehouse.Error for logs and tests; their text never reaches a client,
// which sees only the Error's Message.
var (
	errTooLarge  = errors.New("token is longer than MaxTokenSize")
	errMalformed = errors.New("token is not three base64url segments")
	errAlgorithm = errors.New("alg is not the key set's")
	errHeader    = errors.New("header has a parameter other than alg, kid and typ")
	errType      = errors.New("typ is not at+jwt")
	errNoKid     = errors.New("kid is missing")
	errExpired   = errors.New("token is expired")
)

// Verify checks a compact JWT and returns its claims. It refuses anything
// but a token signed by a key of the KeySet, with the KeySet's algorithm,
// typ at+jwt, our iss and aud, sub, sid, jti and iat present, exp not
// reached and iat and nbf not beyond Leeway in the future. Every failure is
// a *gatehouse.Error (errors.As) with code EINVALIDTOKEN and the message
// "token has expired" or "token is invalid"; the cause is wrapped beside it
// for logs.
//
// A token verified before is answered from a cache, which changes no
// outcome: the time checks are made again and a KeySet.Update that removed
// a key invalidates it.
func (t *Tokens) Verify(raw string) (*Claims, error) {
	if len(raw) > MaxTokenSize {
		return nil, invalid(errTooLarge)
	}
	now := t.now()
	st := t.ks.state.Load()
	if c := t.cache.get(raw, now, st.epoch); c != nil {
		return c, nil
	}
	// Security: only the base64url alphabet and dots, before any decoding. The
	// decoder would skip \r and \n, which would give one token many spellings.
	if !wellFormed(raw) {
		return nil, invalid(errMalformed)
	}
	var pc parsedClaims
	_, err := t.parser.ParseWithClaims(raw, &pc, func(tok *jwt.Token) (any, error) {
		k, err := st.keyFor(tok, t.ks.alg)
		if err != nil {
			return nil, err
		}
		return k.verifyKey, nil
	})
	if err != nil {
		// The parser checks claims only once the signature is good, so a
		// forged token is never told it has expired.
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, expired(err)
		}
		return nil, invalid(err)
	}
	if !now.Before(pc.ExpiresAt.Time) {
		return nil, expired(errExpired)
	}
	c := pc.claims(t.audience)
	t.cache.put(raw, c, pc.validFrom(), pc.ExpiresAt.Time, st.epoch, now)
	return c, nil
}

// keyFor is the parser's key function: it checks the header and returns the
// key named by kid. Security: the key comes from the KeySet only; a header
// with anything but alg, kid and typ (jwk, jku, x5u, x5c, crit, ...) is
// refused and nothing it names is ever fetched.
func (st *keyState) keyFor(tok *jwt.Token, alg string) (*key, error) {
	if tok.Method == nil || tok.Method.Alg() != alg {
		return nil, errAlgorithm // the parser has checked already; kept so it never depends on that
	}
	for name := range tok.Header {
		if name != "alg" && name != "kid" && name != "typ" {
			return nil, errHeader
		}
	}
	if typ, _ := tok.Header["typ"].(string); !isAccessTokenType(typ) {
		return nil, errType
	}
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return nil, errNoKid
	}
	k := st.byID[kid]
	if k == nil || k.method.Alg() != alg {
		return nil, ErrUnknownKey
	}
	return k, nil
}

// isAccessTokenType reports whether typ names an RFC 9068 access token.
// Media types compare without regard to case and the "application/" prefix
// may be left out (RFC 7515 §4.1.9).
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}

// base64url marks the bytes of the base64url alphabet.
var base64url = func() (t [256]bool) {
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[r] = true
	}
	return t
}()

// wellFormed reports whether raw is three non-empty base64url segments
// joined by dots.
func wellFormed(raw string) bool {
	dots, last := 0, -1
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c == '.' {
			if i == last+1 {
				return false // empty segment
			}
			dots, last = dots+1, i
		} else if !base64url[c] {
			return false
		}
	}
	return dots == 2 && last < len(raw)-1
}

// invalid returns the error for a refused token.
func invalid(cause error) error {
	return fmt.Errorf("%w: %w", &gatehouse.Error{Code: gatehouse.EINVALIDTOKEN, Message: "token is invalid"}, cause)
}

// expired returns the error for a token whose signature is good but whose
// exp has come.
func expired(cause error) error {
	return fmt.Errorf("%w: %w", &gatehouse.Error{Code: gatehouse.EINVALIDTOKEN, Message: "token has expired"}, cause)
}
