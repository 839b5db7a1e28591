package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/metrics"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

// gatehouseTarget is gatehouse as cmd/gatehouse wires it — the real store,
// token, auth and web packages behind a real http.Server — on a loopback
// port of this process, with its parts at hand for the fixtures.
type gatehouseTarget struct {
	addr   string
	store  *sqldb.DB
	tokens *token.Tokens
	auth   *auth.Service
	hasher *auth.Hasher
	srv    *http.Server
	tmp    string // temp dir of the default SQLite file, removed by close
}

type targetConfig struct {
	dbURL  string // "": SQLite in a temp dir
	cost   int
	ttl    time.Duration // access-token lifetime
	strict bool
	log    io.Writer
	// accessLog turns on the access log, as ACCESS_LOG (on by default)
	// does for serve; its lines go to the null device (see serverLogger).
	accessLog bool
}

// startGatehouse opens and migrates the store and serves gatehouse.
func startGatehouse(ctx context.Context, tc targetConfig) (*gatehouseTarget, error) {
	g := &gatehouseTarget{}
	url := tc.dbURL
	if url == "" {
		dir, err := os.MkdirTemp("", "gatehouse-bench-")
		if err != nil {
			return nil, err
		}
		g.tmp = dir
		url = "sqlite:" + filepath.Join(dir, "gatehouse.db")
	}
	if err := g.open(ctx, url, tc); err != nil {
		g.close()
		return nil, err
	}
	return g, nil
}

func (g *gatehouseTarget) open(ctx context.Context, url string, tc targetConfig) error {
	log, accessOut, err := serverLogger(tc)
	if err != nil {
		return err
	}
	if g.store, err = sqldb.Open(ctx, url, sqldb.Options{}); err != nil {
		return err
	}
	if err := g.store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	k, err := token.GenerateEd25519(time.Now().Add(-time.Minute))
	if err != nil {
		return err
	}
	keys, err := token.NewEdDSA([]*gatehouse.SigningKey{k}, time.Now())
	if err != nil {
		return err
	}
	g.tokens = token.New(keys, token.Options{Issuer: "http://gatehouse-bench", Audience: "gatehouse", TTL: tc.ttl})
	g.hasher = &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: tc.cost}
	// As the server runs by default: Prometheus metrics, and the login
	// throttle per username (a store write per attempt). The per-address
	// limits are off: every request of the load comes from 127.0.0.1.
	m := metrics.New()
	throttling := auth.DefaultThrottling
	throttling.LoginAddress.Limit, throttling.Register.Limit = 0, 0
	// The hashing pool as serve makes it by default: a slot per core at
	// nice 19, and a spare processor for everything else.
	slots := auth.DefaultPoolSize()
	pool := auth.NewPool(slots, auth.DefaultQueue*slots, auth.DefaultQueueWait)
	pool.SetNice(auth.DefaultNice)
	auth.ReserveProc(slots)
	g.auth, err = auth.New(auth.Config{
		Store: g.store, Tokens: g.tokens, Hasher: g.hasher, Pool: pool,
		RefreshTTL: 720 * time.Hour, Strict: tc.strict, Logger: log,
		Observer: m, Throttling: throttling,
	})
	if err != nil {
		return err
	}
	h := web.NewServer(web.Deps{
		Auth: g.auth, Keys: keys, Store: g.store, Logger: log, Metrics: m.Handler(), Requests: m,
		AccessLog: tc.accessLog, AccessLogText: accessOut,
	})
	g.addr, g.srv, err = serve(h, log)
	return err
}

// serverLogger is the server's logger: warnings to tc.log, and with the
// access log on, every line at info formatted as serve formats it by
// default and written to the null device, so that the server pays for
// each line as one logging to a file does. The access lines themselves
// go, as serve sends them, straight to the returned writer
// (web.Deps.AccessLogText).
func serverLogger(tc targetConfig) (*slog.Logger, io.Writer, error) {
	var h slog.Handler = slog.NewTextHandler(tc.log, &slog.HandlerOptions{Level: slog.LevelWarn})
	if !tc.accessLog {
		return slog.New(web.LogHandler(h)), nil, nil
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	h = teeHandler{h, slog.NewTextHandler(null, &slog.HandlerOptions{Level: slog.LevelInfo})}
	return slog.New(web.LogHandler(h)), null, nil
}

// teeHandler hands each record to every handler that takes its level.
type teeHandler []slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return t.each(func(h slog.Handler) slog.Handler { return h.WithAttrs(as) })
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return t.each(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (t teeHandler) each(f func(slog.Handler) slog.Handler) teeHandler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = f(h)
	}
	return out
}

func (g *gatehouseTarget) close() {
	if g.srv != nil {
		g.srv.Close()
	}
	if g.store != nil {
		g.store.Close()
	}
	if g.tmp != "" {
		os.RemoveAll(g.tmp)
	}
}

// serve serves h on a fresh loopback port with cmd/gatehouse's server
// settings.
func serve(h http.Handler, log *slog.Logger) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go srv.Serve(ln)
	return ln.Addr().String(), srv, nil
}

// bareMain is GET /api/main as plain net/http would answer it with no auth
// at all: the same JSON for the same user, marshalled on every request as
// gatehouse does, with the same headers.
func bareMain(username, id string, created time.Time) http.Handler {
	type user struct {
		ID        string `json:"id"`
		Username  string `json:"username"`
		CreatedAt string `json:"created_at"`
	}
	type response struct {
		Message string `json:"message"`
		User    user   `json:"user"`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/main", func(w http.ResponseWriter, r *http.Request) {
		b, err := json.Marshal(response{Message: "Welcome, " + username + "!", User: user{ID: id, Username: username, CreatedAt: created.UTC().Format(time.RFC3339)}})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Length", strconv.Itoa(len(b)+1))
		w.Write(append(b, '\n'))
	})
	return mux
}
