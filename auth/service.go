// Package auth holds gatehouse's rules, written once: registration, login,
// refresh-token rotation, logout and revocation, authentication of access
// tokens and password hashing. It speaks only the root package's
// vocabulary; the store and the token format are handed to it.
package auth

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

// Service carries out the auth flows. Create it with New.
type Service struct {
	store      gatehouse.Store
	tokens     *token.Tokens
	hasher     *Hasher
	pool       *Pool
	revoked    *Revoked
	users      *userCache
	refreshTTL time.Duration
	strict     bool
	emailLogin bool // a verified address may stand for the username (email.go)
	keyPolicy  KeyPolicy
	reloads    keyReloads
	now        func() time.Time
	log        *slog.Logger
	observer   Observer
	audit      *auditWriter

	webauthn     *webauthn.WebAuthn // nil: passkeys are off
	ceremonyTTL  time.Duration
	challengeTTL time.Duration
	totpIssuer   string

	throttling Throttling
	addrs      *memThrottle // failed logins per client address
	regs       *memThrottle // registrations per client address
	refused    throttleCounters

	// dummyHash is verified against when the username is unknown, so that
	// an unknown user costs the same hash as a wrong password and timing
	// does not reveal whether the account exists. It and dummyErr are set
	// before dummyReady closes.
	dummyHash  string
	dummyErr   error
	dummyReady chan struct{}
}

// Config holds the Service's settings.
type Config struct {
	Store      gatehouse.Store
	Tokens     *token.Tokens
	Hasher     *Hasher
	Pool       *Pool            // nil: DefaultPoolSize slots, DefaultQueue per slot, DefaultQueueWait
	RefreshTTL time.Duration    // refresh-token (and session) lifetime
	Strict     bool             // ask the store on every Authenticate
	Keys       KeyPolicy        // EdDSA key rotation; the zero value rotates only by hand
	Now        func() time.Time // nil: time.Now
	Logger     *slog.Logger     // nil: slog.Default()
	Observer   Observer         // nil: none; see Observer and Observers
	Throttling Throttling       // zero: no throttling; see DefaultThrottling
	Passkeys   PasskeyConfig    // zero: passkeys off; see passkey.go

	ChallengeTTL time.Duration // a login challenge's lifetime; 0: DefaultChallengeTTL
	TOTPIssuer   string        // the issuer shown by authenticator apps; "": "gatehouse"
}

// maxAddresses bounds each in-memory throttle (about 100 bytes a record).
const maxAddresses = 100_000

// New returns a Service. It starts making the dummy hash and returns
// without waiting for it: at BCRYPT_COST 12 one hash is a quarter of a
// second, most of a start-up, and at 15 two seconds. Logins wait for it.
func New(cfg Config) (*Service, error) {
	s := &Service{
		store:      cfg.Store,
		tokens:     cfg.Tokens,
		hasher:     cfg.Hasher,
		pool:       cfg.Pool,
		revoked:    NewRevoked(),
		users:      newUserCache(100_000),
		refreshTTL: cfg.RefreshTTL,
		strict:     cfg.Strict,
		keyPolicy:  cfg.Keys.withDefaults(),
		now:        cfg.Now,
		log:        cfg.Logger,
		throttling: cfg.Throttling,
		addrs:      newMemThrottle(maxAddresses),
		regs:       newMemThrottle(maxAddresses),

		challengeTTL: cmp.Or(cfg.ChallengeTTL, DefaultChallengeTTL),
		totpIssuer:   cmp.Or(cfg.TOTPIssuer, "gatehouse"),
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.webauthn, s.ceremonyTTL, err = newWebAuthn(cfg.Passkeys); err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.observer = cfg.Observer
	if s.observer == nil {
		s.observer = nopObserver{}
	}
	s.revoked.ObserveLag(s.observer.RevocationLag)
	if s.pool == nil {
		n := DefaultPoolSize()
		s.pool = NewPool(n, n*DefaultQueue, DefaultQueueWait)
	}
	s.dummyReady = make(chan struct{})
	go func() {
		defer close(s.dummyReady)
		s.dummyHash, s.dummyErr = s.hasher.Hash("gatehouse dummy password, never matches")
	}()
	s.audit = newAuditWriter(s.store, s.log)
	return s, nil
}

// awaitDummy waits until the dummy hash is made. Every login waits, not
// only those of unknown users, so that the first logins after a start do
// not tell the two apart either.
func (s *Service) awaitDummy(ctx context.Context) error {
	select {
	case <-s.dummyReady:
		return s.dummyErr
	case <-ctx.Done():
		return ErrBusy
	}
}

// Revoked returns the service's revocation set.
func (s *Service) Revoked() *Revoked { return s.revoked }

// Pool returns the service's hashing pool.
func (s *Service) Pool() *Pool { return s.pool }

// Tokens returns the service's token issuer.
func (s *Service) Tokens() *token.Tokens { return s.tokens }

// Store returns the service's store.
func (s *Service) Store() gatehouse.Store { return s.store }

// KeyPolicy returns the service's key rotation policy, defaults filled in.
func (s *Service) KeyPolicy() KeyPolicy { return s.keyPolicy }

// SyncRevocations pulls revocations made by other instances into the set.
func (s *Service) SyncRevocations(ctx context.Context) error {
	return s.revoked.Sync(ctx, s.store, s.now())
}

// syncTimeout bounds one read of the revocation feed: the set's lock is
// held while the store is read, and a store that stopped answering must not
// stall revocations made by this instance.
const syncTimeout = 5 * time.Second

// RevocationWatcher is implemented by stores that can tell at once that a
// revocation was committed (sqldb on PostgreSQL, by LISTEN/NOTIFY). The
// channel is a hint to sync now; nil never receives.
type RevocationWatcher interface {
	WatchRevocations(ctx context.Context) <-chan struct{}
}

// minWakeGap is the least time between two syncs that a watcher's signal
// starts, so that a storm of revocations costs at most one sync per gap.
const minWakeGap = 10 * time.Millisecond

// FollowRevocations calls SyncRevocations every interval until ctx ends,
// and also as soon as the store signals a new revocation, if it can.
func (s *Service) FollowRevocations(ctx context.Context, interval time.Duration) {
	var wake <-chan struct{}
	if w, ok := s.store.(RevocationWatcher); ok {
		wake = w.WatchRevocations(ctx)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
			if gap := minWakeGap - time.Since(last); gap > 0 {
				time.Sleep(gap)
			}
		}
		last = time.Now()
		sctx, cancel := context.WithTimeout(ctx, syncTimeout)
		if err := s.SyncRevocations(sctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "revocation sync failed", "err", err)
		}
		cancel()
	}
}

// hash runs the configured hash on the pool.
func (s *Service) hash(ctx context.Context, password string) (h string, err error) {
	if perr := s.pool.Do(ctx, func() { h, err = s.hasher.Hash(password) }); perr != nil {
		return "", perr
	}
	return h, err
}

// verify checks a password against a stored hash on the pool.
func (s *Service) verify(ctx context.Context, encoded, password string) (ok, upgrade bool, err error) {
	if perr := s.pool.Do(ctx, func() { ok, upgrade, err = s.hasher.Verify(encoded, password) }); perr != nil {
		return false, false, perr
	}
	return ok, upgrade, err
}

// revocationUntil is how long a revocation made at now must be remembered:
// until the last access token of the session could expire, with a margin
// for clock skew between instances.
func (s *Service) revocationUntil(now time.Time) time.Time {
	return now.Add(s.tokens.TTL() + time.Minute)
}
