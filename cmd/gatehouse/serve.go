package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

// app is everything the commands share once the configuration is read.
type app struct {
	cfg   *config
	log   *slog.Logger
	store *sqldb.DB
	keys  *token.KeySet
	auth  *auth.Service
}

// openApp connects to and migrates the store, loads or makes the signing
// keys and builds the auth service.
func openApp(ctx context.Context, cfg *config, stderr io.Writer) (*app, error) {
	log := newLogger(cfg, stderr)
	if cfg.BcryptCost < 10 {
		log.Warn("BCRYPT_COST is below 10: for tests only, passwords are weakly protected", "cost", cfg.BcryptCost)
	}
	db, err := sqldb.Open(ctx, cfg.DatabaseURL, sqldb.Options{})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a := &app{cfg: cfg, log: log, store: db}
	if err := a.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) init(ctx context.Context) (err error) {
	if err := a.store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate store: %w", err)
	}
	if a.keys, err = loadKeys(ctx, a.cfg, a.store); err != nil {
		return err
	}
	tokens := token.New(a.keys, token.Options{Issuer: a.cfg.Issuer, Audience: a.cfg.Audience, TTL: a.cfg.AccessTTL})
	a.auth, err = auth.New(auth.Config{
		Store:      a.store,
		Tokens:     tokens,
		Hasher:     &auth.Hasher{Algorithm: a.cfg.PasswordHash, BcryptCost: a.cfg.BcryptCost, Argon2: auth.DefaultArgon2},
		RefreshTTL: a.cfg.RefreshTTL,
		Strict:     a.cfg.StrictRevocation,
		Logger:     a.log,
		Pool:       a.cfg.pool(),
		Throttling: a.cfg.throttling(),
	})
	if err != nil {
		return err
	}
	if err := a.auth.SyncRevocations(ctx); err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	return nil
}

// loadKeys returns the HS256 key from JWT_SECRET, or the EdDSA keys kept in
// the store, making the first one on the first start.
func loadKeys(ctx context.Context, cfg *config, store gatehouse.KeyStore) (*token.KeySet, error) {
	if cfg.JWTSecret != "" {
		return token.NewHS256([]byte(cfg.JWTSecret))
	}
	keys, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	if len(keys) == 0 {
		k, err := token.GenerateEd25519(time.Now())
		if err != nil {
			return nil, err
		}
		if err := store.AddSigningKey(ctx, k); err != nil {
			return nil, fmt.Errorf("save signing key: %w", err)
		}
		// Read back: another instance starting at the same moment may
		// have added its own; both then verify each other's tokens.
		if keys, err = store.SigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
	}
	return token.NewEdDSA(keys, time.Now())
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
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
	a, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	return a.serve(ctx, stdout)
}

// serve listens on the configured address until ctx ends, then lets the
// requests in flight finish.
func (a *app) serve(ctx context.Context, stdout io.Writer) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := newHTTPServer(web.NewServer(web.Deps{
		Auth: a.auth, Keys: a.keys, Store: a.store, Logger: a.log,
		TrustedProxies: a.cfg.TrustedProxies, ClientIPHeader: a.cfg.ClientIPHeader,
	}), a.log)
	a.logAbuseSettings()
	bg, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	go a.auth.FollowRevocations(bg, a.cfg.RevocationSync)
	go a.auth.SweepThrottles(bg, throttleSweepInterval)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("gatehouse started", "addr", ln.Addr().String(), "store", a.store.Dialect(), "alg", a.keys.Algorithm(), "version", gatehouse.Version)
	fmt.Fprintf(stdout, "gatehouse listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
