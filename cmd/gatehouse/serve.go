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

// keySyncInterval is how often an instance reads the signing keys (and
// rotates them when due). It is far below the publish-ahead time of a new
// key, and a token with an unknown kid makes an instance reload at once.
const keySyncInterval = 10 * time.Second

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
		Keys:       auth.KeyPolicy{Rotation: a.cfg.KeyRotation},
		Logger:     a.log,
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
// the store, making the first one on the first start (one between all the
// instances that start at once).
func loadKeys(ctx context.Context, cfg *config, store gatehouse.KeyStore) (*token.KeySet, error) {
	if cfg.JWTSecret != "" {
		return token.NewHS256([]byte(cfg.JWTSecret))
	}
	return auth.LoadKeys(ctx, store, time.Now())
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
	srv := &http.Server{
		Handler:           web.NewServer(web.Deps{Auth: a.auth, Keys: a.keys, Store: a.store, Logger: a.log, ServiceClients: a.cfg.ServiceClients}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	bg, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	go a.auth.FollowRevocations(bg, a.cfg.RevocationSync)
	go a.auth.FollowKeys(bg, keySyncInterval)

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
