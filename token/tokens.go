package token

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// DefaultTTL is the access token lifetime when Options.TTL is not set.
	DefaultTTL = 15 * time.Minute

	// DefaultCacheSize is the number of verified tokens kept when
	// Options.CacheSize is zero.
	DefaultCacheSize = 10_000

	// Leeway is how far in the future iat and nbf may lie, for clock skew
	// between instances. exp gets none: a token is refused from its exp on,
	// exactly, so a revocation needs to be kept only until the exp of the
	// tokens it revokes.
	Leeway = 30 * time.Second

	// MaxTokenSize is the longest token Verify looks at; anything longer is
	// refused before it is decoded. Gatehouse's own tokens are well under
	// 1 KiB.
	MaxTokenSize = 8 << 10
)

// Options configure Tokens.
type Options struct {
	Issuer    string           // iss of every token, and the only one accepted; required
	Audience  string           // aud of every token, and the one required; required
	TTL       time.Duration    // access token lifetime; <= 0: DefaultTTL
	Now       func() time.Time // the clock, called concurrently; nil: time.Now
	CacheSize int              // verified-token cache entries; 0: DefaultCacheSize; < 0: no cache
}

// Tokens issues and verifies access tokens with one KeySet. It is safe for
// concurrent use.
type Tokens struct {
	ks       *KeySet
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
	cache    *cache // nil: none
}

// New returns Tokens that sign with ks and accept only tokens whose iss and
// aud are opts'. An empty Issuer or Audience would switch the parser's check
// of that claim off, so New panics on them, as on a nil ks: they are
// programming errors, caught at start.
func New(ks *KeySet, opts Options) *Tokens {
	switch {
	case ks == nil || ks.state.Load() == nil:
		panic("token: New with a nil or zero KeySet")
	case opts.Issuer == "":
		panic("token: New with an empty Options.Issuer")
	case opts.Audience == "":
		panic("token: New with an empty Options.Audience")
	}
	t := &Tokens{
		ks:       ks,
		issuer:   opts.Issuer,
		audience: opts.Audience,
		ttl:      opts.TTL,
		now:      opts.Now,
	}
	if t.ttl <= 0 {
		t.ttl = DefaultTTL
	}
	if t.now == nil {
		t.now = time.Now
	}
	// Security: the algorithm is pinned to the KeySet's, so a token naming
	// none or another algorithm is refused before a key is chosen. The
	// parser's exp check has Leeway too (it has one leeway for all three);
	// Verify then checks exp again with none. Strict decoding refuses
	// non-canonical base64 (stray low bits), so a token has one spelling.
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{ks.alg}),
		jwt.WithIssuer(opts.Issuer),
		jwt.WithAudience(opts.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	switch size := opts.CacheSize; {
	case size == 0:
		t.cache = newCache(DefaultCacheSize)
	case size > 0:
		t.cache = newCache(size)
	}
	return t
}

// TTL returns the lifetime of the access tokens Issue makes.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Keys returns the KeySet the Tokens sign and verify with, so that its
// owner can update it when keys rotate.
func (t *Tokens) Keys() *KeySet { return t.ks }

// Issuer returns the iss of every token, which is also the base of the
// URLs gatehouse publishes about itself.
func (t *Tokens) Issuer() string { return t.issuer }

// Audience returns the aud of every token.
func (t *Tokens) Audience() string { return t.audience }
