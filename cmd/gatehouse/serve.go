package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

// keySyncInterval is how often an instance reads the signing keys (and
// rotates them when due). It is far below the publish-ahead time of a new
// key, and a token with an unknown kid makes an instance reload at once.
const keySyncInterval = 10 * time.Second

// app is everything the commands share once the configuration is read.
type app struct {
	cfg     *config
	log     *slog.Logger
	logOut  io.Writer // where log lines go: the access log writes there directly in text format
	store   *sqldb.DB
	keys    *token.KeySet
	auth    *auth.Service
	metrics *metrics.Metrics
	// csrfKey signs the pages' CSRF tokens; see pageKey.
	csrfKey []byte
	mail    mailParts // mail.go
}

// openApp connects to and migrates the store, loads or makes the signing
// keys and builds the auth service, failing at once if any of it fails:
// the one-shot commands have an operator watching.
func openApp(ctx context.Context, cfg *config, stderr io.Writer) (*app, error) {
	a, err := newApp(ctx, cfg, stderr)
	if err != nil {
		return nil, err
	}
	if err := a.init(ctx); err != nil {
		a.store.Close()
		return nil, err
	}
	return a, nil
}

// newApp opens the store without touching a database server: only a bad
// url or an SQLite file that cannot be opened fails here.
func newApp(ctx context.Context, cfg *config, stderr io.Writer) (*app, error) {
	out := &lockedWriter{w: stderr}
	log := newLogger(cfg, out)
	if cfg.BcryptCost < 10 {
		log.Warn("BCRYPT_COST is below 10: for tests only, passwords are weakly protected", "cost", cfg.BcryptCost)
	}
	m := metrics.New()
	opts := cfg.DB
	opts.OnError = m.StoreError
	db, err := sqldb.Open(ctx, cfg.DatabaseURL, opts)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &app{cfg: cfg, log: log, logOut: out, store: db, metrics: m}, nil
}

func (a *app) init(ctx context.Context) (err error) {
	if err := a.store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate store: %w", err)
	}
	if a.keys, err = loadKeys(ctx, a.cfg, a.store); err != nil {
		return err
	}
	if a.csrfKey, err = pageKey(ctx, a.cfg, a.store); err != nil {
		return err
	}
	tokens := token.New(a.keys, token.Options{Issuer: a.cfg.Issuer, Audience: a.cfg.Audience, TTL: a.cfg.AccessTTL})
	a.auth, err = auth.New(auth.Config{
		Store:      a.store,
		Tokens:     tokens,
		Hasher:     &auth.Hasher{Algorithm: a.cfg.PasswordHash, BcryptCost: a.cfg.BcryptCost, Argon2: auth.DefaultArgon2},
		RefreshTTL: a.cfg.RefreshTTL,
		Strict:     a.cfg.StrictRevocation,
		Keys:       auth.KeyPolicy{Rotation: a.cfg.KeyRotation},
		Logger:     a.log,
		Observer:   a.observer(),
		Pool:       a.cfg.pool(),
		Throttling: a.cfg.throttling(),
		Passkeys:   a.cfg.passkeys(),

		ChallengeTTL: a.cfg.SecondFactorTTL,
		TOTPIssuer:   a.cfg.TOTPIssuer,
	})
	if err != nil {
		return err
	}
	a.metrics.Watch(metrics.Sources{
		HashPool:       a.auth.Pool(),
		RevokedLen:     a.auth.Revoked().Len,
		AuditQueued:    a.auth.AuditQueued,
		AuditDropped:   a.auth.AuditDropped,
		ActiveSessions: a.store.CountActiveSessions,
	})
	if err := a.auth.SyncRevocations(ctx); err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	return nil
}

// loadKeys returns the HS256 key from JWT_SECRET, or the EdDSA keys kept in
// the store, making the first one on the first start (one between all the
// instances that start at once).
func loadKeys(ctx context.Context, cfg *config, store gatehouse.KeyStore) (*token.KeySet, error) {
	if cfg.JWTSecret != "" {
		return token.NewHS256([]byte(cfg.JWTSecret))
	}
	return auth.LoadKeys(ctx, store, time.Now())
}

// close writes the audit events still queued, then closes the store.
func (a *app) close() {
	if a.auth != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.closeMail(ctx)
		if err := a.auth.Close(ctx); err != nil {
			a.log.Error("audit trail not flushed", "err", err)
		}
	}
	a.store.Close()
}

func cmdServe(ctx context.Context, args []string, env func() (*config, error), stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := env()
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	a.openMail() // the admin commands send no mail
	return a.serve(ctx, stdout)
}

// serve listens on the configured address until ctx ends, then lets the
// requests in flight finish. It listens before the store is ready (see
// waitForStore), answering 503 meanwhile, so that a database that starts
// after gatehouse, or is down for a while, needs no restart.
func (a *app) serve(ctx context.Context, stdout io.Writer) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var h handlerSwitch
	h.set(web.NotReady())
	srv := a.httpServer(&h)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("gatehouse listening", "addr", ln.Addr().String(), "store", a.store.Dialect(), "version", gatehouse.Version)
	fmt.Fprintf(stdout, "gatehouse listening on http://%s\n", ln.Addr())

	bg, stopBg := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // the store closes after this returns: stop using it first
	defer stopBg()
	wg.Go(func() {
		if err := a.becomeReady(bg, &h); err != nil && bg.Err() == nil {
			errc <- err
		}
	})

	var runErr error
	select {
	case runErr = <-errc:
	case <-ctx.Done():
		a.log.Info("shutting down")
	}
	stopBg()
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("shutdown: %w", err)
	}
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) {
		return runErr
	}
	return nil
}

// becomeReady waits for the store, switches h to the real handler, then
// follows the revocations of other instances until ctx ends.
func (a *app) becomeReady(ctx context.Context, h *handlerSwitch) error {
	if err := a.waitForStore(ctx); err != nil {
		return err
	}
	h.set(withDeadline(web.NewServer(web.Deps{Auth: a.auth, Keys: a.keys, Store: a.store, Logger: a.log,
		Metrics: a.metrics.Handler(), Requests: a.metrics, AccessLog: a.cfg.AccessLog, AccessLogText: a.accessLogText(),
		CSRFKey: a.csrfKey, CORSAllowedOrigins: a.cfg.CORSOrigins, ServiceClients: a.cfg.ServiceClients,
		TrustedProxies: a.cfg.TrustedProxies, ClientIPHeader: a.cfg.ClientIPHeader, Email: a.newEmail()}), a.cfg.RequestTimeout))
	a.log.Info("gatehouse ready", "store", a.store.Dialect(), "alg", a.keys.Algorithm())
	a.logAbuseSettings()
	var wg sync.WaitGroup
	defer wg.Wait() // the store closes after serve returns: stop using it first
	wg.Go(func() { a.purgeAudit(ctx, time.Hour) })
	wg.Go(func() { a.auth.FollowKeys(ctx, keySyncInterval) })
	wg.Go(func() { a.auth.SweepThrottles(ctx, throttleSweepInterval) })
	wg.Go(func() { a.runMail(ctx) })
	a.auth.FollowRevocations(ctx, a.cfg.RevocationSync)
	return nil
}

// httpServer bounds how long a client may take over each part of a
// request, so that slow clients cannot hold connections open for ever.
func (a *app) httpServer(h http.Handler) *http.Server {
	srv := newHTTPServer(h, a.log)
	srv.WriteTimeout = max(srv.WriteTimeout, a.cfg.RequestTimeout+5*time.Second)
	return srv
}

// Pauses between attempts to reach the store at start: short at first,
// since a database that starts beside gatehouse is usually seconds away,
// then no more than a few log lines a minute for one that stays down.
const (
	storeRetryFirst = time.Second
	storeRetryMax   = 15 * time.Second
)

// waitForStore migrates the store, loads the keys and builds the auth
// service, retrying for as long as the store cannot be reached
// (EUNAVAILABLE): the database may start after gatehouse, or be down or
// behind a wrong port for a while, and an operator expects the process to
// come up by itself once it answers, as /readyz tells. Any other failure
// (wrong password, unknown database, a failed migration) is returned,
// since waiting would not cure it.
func (a *app) waitForStore(ctx context.Context) error {
	pause := storeRetryFirst
	for {
		err := a.init(ctx)
		if err == nil || ctx.Err() != nil || gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
			return err
		}
		a.log.Error("store unavailable, answering 503 until it is back", "retry_in", pause, "err", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, storeRetryMax)
	}
}

// withDeadline gives every request at most d. A database that stops
// answering without closing its connections (a network partition, a hung
// server) would otherwise hold each request until its client gave up;
// when d runs out, the store call returns and the answer is 503.
func withDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// handlerSwitch serves with whichever handler was set last: the not-ready
// handler until the store is ready, then the real one.
type handlerSwitch struct{ h atomic.Pointer[http.Handler] }

func (s *handlerSwitch) set(h http.Handler) { s.h.Store(&h) }

func (s *handlerSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// The server's limits, so that slow or huge clients cannot hold it: a
// client must send its headers within readHeaderTimeout (slowloris) and
// its whole request within readTimeout; a response must be written within
// writeTimeout (above the hashing queue's longest wait); an idle
// keep-alive connection is closed after idleTimeout.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
)

// throttleSweepInterval is how often forgotten throttle records are dropped.
const throttleSweepInterval = 10 * time.Minute

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    web.ServerMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// logAbuseSettings logs the throttles and the hashing pool at start, and
// warns about settings that undo them.
func (a *app) logAbuseSettings() {
	c := a.cfg
	a.log.Info("abuse limits",
		"login_user_limit", c.LoginUserLimit, "login_address_limit", c.LoginAddressLimit,
		"login_window", c.LoginWindow, "login_lockout_max", c.LoginLockoutMax,
		"register_address_limit", c.RegisterLimit, "register_window", c.RegisterWindow,
		"hash_concurrency", c.HashConcurrency, "hash_queue", c.HashQueue, "hash_queue_wait", c.HashQueueWait, "hash_nice", c.HashNice,
		"trusted_proxies", len(c.TrustedProxies))
	if c.LoginUserLimit == 0 {
		a.log.Warn("LOGIN_USER_LIMIT is 0: passwords may be guessed without limit")
	}
	if c.trustsEveryone() {
		a.log.Warn("TRUSTED_PROXIES covers every address: any client can choose its own address", "header", c.ClientIPHeader)
	}
}
