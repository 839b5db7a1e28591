// Package verify lets a Go service (a resource server) accept gatehouse
// access tokens without asking gatehouse on every request, and still refuse
// a revoked token within a second, as gatehouse itself does.
//
// A Verifier checks each token locally against gatehouse's public keys
// (its JWKS, fetched and cached, and fetched again when a token names a
// key it does not know), and checks the token's session against a set of
// revoked sessions that it keeps by following gatehouse's revocation feed
// (GET /api/revocations, with a service credential from gatehouse's
// SERVICE_CLIENTS). When the feed cannot be read for longer than
// MaxStaleness, it fails closed: tokens are refused (503) rather than
// trusted without knowing whether they were revoked.
//
//	v, err := verify.New(ctx, verify.Config{
//		Issuer:       "https://auth.example.com",
//		ClientID:     "billing",
//		ClientSecret: os.Getenv("GATEHOUSE_CLIENT_SECRET"),
//	})
//	if err != nil { ... }
//	go v.Run(ctx)
//	http.Handle("/api/", v.Middleware(api))  // verify.ClaimsFrom(r.Context()) inside
//
// It imports gatehouse's token package and nothing of the server.
package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/token"
)

// Claims are the claims of a verified gatehouse access token.
type Claims = token.Claims

// Errors of Verify, for errors.Is.
var (
	// ErrInvalidToken: the token is malformed, forged, expired, not for
	// this audience or revoked. Answer 401.
	ErrInvalidToken = errors.New("verify: token is invalid, expired or revoked")
	// ErrStale: the revocation feed has not been read for longer than
	// MaxStaleness (or not yet), so a revoked token cannot be told from a
	// good one. Answer 503.
	ErrStale = errors.New("verify: revocation feed is stale")
)

// Config configures a Verifier. Issuer, ClientID and ClientSecret are
// required.
type Config struct {
	Issuer       string // gatehouse's ISSUER: the iss every token must have
	Audience     string // the aud every token must have; "" : "gatehouse"
	URL          string // where to reach gatehouse; "": Issuer
	ClientID     string // a service client of gatehouse's SERVICE_CLIENTS
	ClientSecret string

	PollInterval  time.Duration // how often the feed is read; 0: 200ms
	MaxStaleness  time.Duration // fail closed when the last good read is older; 0: 5s
	KeyRefreshMin time.Duration // least time between JWKS fetches for unknown kids; 0: 5s

	HTTPClient *http.Client     // nil: a client with a 5 s timeout
	Logger     *slog.Logger     // nil: slog.Default()
	Now        func() time.Time // nil: time.Now
}

func (c Config) withDefaults() (Config, error) {
	if c.Issuer == "" || c.ClientID == "" || c.ClientSecret == "" {
		return c, errors.New("verify: Config needs Issuer, ClientID and ClientSecret")
	}
	if c.Audience == "" {
		c.Audience = "gatehouse"
	}
	if c.URL == "" {
		c.URL = c.Issuer
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.MaxStaleness <= 0 {
		c.MaxStaleness = 5 * time.Second
	}
	if c.KeyRefreshMin <= 0 {
		c.KeyRefreshMin = 5 * time.Second
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Verifier verifies gatehouse access tokens locally. Make one with New and
// keep it following gatehouse with Run. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	keys   *token.KeySet
	tokens *token.Tokens

	revoked atomic.Pointer[map[string]time.Time] // sid → until; copied on write
	synced  atomic.Int64                         // unix nanos when the last good feed read began
	feedMu  sync.Mutex                           // one feed read at a time
	cursor  atomic.Int64                         // written under feedMu

	keysMu      sync.Mutex    // one JWKS fetch at a time
	keysFetched time.Time     // last good fetch; guarded by keysMu
	keysTried   time.Time     // last fetch for an unknown kid; guarded by keysMu
	keysMaxAge  time.Duration // the JWKS response's max-age; guarded by keysMu

	stats counters
}

// New checks cfg, fetches gatehouse's JWKS and reads the revocation feed
// once, so that a wrong URL or credential shows at start. The Verifier
// refuses every token (ErrStale) once MaxStaleness has passed unless Run
// keeps it following gatehouse.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg}
	empty := map[string]time.Time{}
	v.revoked.Store(&empty)
	if v.keys, err = token.NewEdDSAPublic([]byte(`{"keys":[]}`)); err != nil {
		return nil, err
	}
	v.tokens = token.New(v.keys, token.Options{Issuer: cfg.Issuer, Audience: cfg.Audience, Now: cfg.Now})
	if err := v.fetchKeys(ctx); err != nil {
		return nil, err
	}
	if err := v.syncFeed(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// Run reads the revocation feed every PollInterval and the JWKS whenever
// its max-age has passed, until ctx ends; it returns ctx's error. Failures
// are logged and retried; after MaxStaleness without a good read of the
// feed, Verify fails closed until one succeeds.
func (v *Verifier) Run(ctx context.Context) error {
	t := time.NewTicker(v.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := v.syncFeed(ctx); err != nil && ctx.Err() == nil {
			v.cfg.Logger.Warn("gatehouse revocation feed read failed", "err", err)
		}
		if v.keysDue() {
			if err := v.fetchKeys(ctx); err != nil && ctx.Err() == nil {
				v.cfg.Logger.Warn("gatehouse JWKS fetch failed", "err", err)
			}
		}
	}
}

// Verify checks raw, a compact JWT, and returns its claims. It fails with
// ErrInvalidToken (wrapping the cause) or ErrStale.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	c, err := v.tokens.Verify(raw)
	if errors.Is(err, token.ErrUnknownKey) && v.refreshForUnknownKey(ctx) {
		c, err = v.tokens.Verify(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	now := v.cfg.Now()
	if v.stale(now) {
		return nil, ErrStale
	}
	if until, ok := (*v.revoked.Load())[c.SessionID]; ok && now.Before(until) {
		return nil, fmt.Errorf("%w: session revoked", ErrInvalidToken)
	}
	return c, nil
}

// stale reports whether the feed's last good read began more than
// MaxStaleness before now.
func (v *Verifier) stale(now time.Time) bool {
	return now.Sub(time.Unix(0, v.synced.Load())) > v.cfg.MaxStaleness
}
