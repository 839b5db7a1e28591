package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// compareConfig is what `gatehouse-bench run` measures and how.
type compareConfig struct {
	dur, hashDur time.Duration
	rounds       int
	conns        int // connections of /api/main, refresh, logout and the store baseline
	hashConns    int // connections of login and register
	cost         int
	dbURL        string
	strict       bool
	accessLog    bool          // ACCESS_LOG, as serve's default
	ttl          time.Duration // access-token lifetime; 0: an hour, longer than any run
	slices       int           // turns per round of the cheap scenarios
	groups       []string      // the scenario groups to run
}

// bench holds one run: both servers and the fixtures every round uses.
type bench struct {
	cfg     compareConfig
	g       *gatehouseTarget
	bare    string // address of the bare server
	bareSrv *http.Server
	log     io.Writer // progress

	mainCreds  []cred             // one per connection, for /api/main and the store baseline
	loginUsers []*gatehouse.User  // logged in by the login scenario
	chains     []string           // one refresh token per connection
	storedHash string             // the users' password hash, for the raw verify rate
	update     func(string) error // the store baseline: one single-row UPDATE
	runID      string
	registered atomic.Int64
	logoutRate float64 // of the last round, to size the next one's sessions

	connPool map[string][]*httpConn
	runner
}

// scenario is one thing measured; its workers are built outside the timed
// window.
type scenario struct {
	name string
	dur  time.Duration
	hash bool // long operations: measured in one slice
	// ops builds the workers of one slice of length d.
	ops func(d time.Duration) ([]op, error)
}

// newBench starts both servers and makes the fixtures.
func newBench(ctx context.Context, cfg compareConfig, stderr io.Writer) (*bench, error) {
	b := &bench{cfg: cfg, log: stderr, connPool: map[string][]*httpConn{}}
	b.runner = runner{ctx: ctx, slices: cfg.slices, conc: map[string]int{}, after: func(name string, res result) {
		if name == "logout" {
			b.logoutRate = res.Rate
		}
	}}
	var id [3]byte
	rand.Read(id[:])
	b.runID = hex.EncodeToString(id[:])
	var err error
	if cfg.ttl == 0 {
		cfg.ttl = time.Hour
	}
	b.g, err = startGatehouse(ctx, targetConfig{dbURL: cfg.dbURL, cost: cfg.cost, ttl: cfg.ttl, strict: cfg.strict, log: stderr, accessLog: cfg.accessLog})
	if err != nil {
		return nil, fmt.Errorf("start gatehouse: %w", err)
	}
	if err := b.fixtures(ctx); err != nil {
		b.close()
		return nil, err
	}
	u := b.mainCreds[0].user
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if b.bare, b.bareSrv, err = serve(bareMain(u.Username, u.ID, u.CreatedAt), log); err != nil {
		b.close()
		return nil, err
	}
	b.update = storeUpdate(b.g.store)
	return b, nil
}

func (b *bench) close() {
	for _, cs := range b.connPool {
		for _, c := range cs {
			c.close()
		}
	}
	if b.bareSrv != nil {
		b.bareSrv.Close()
	}
	b.g.close()
}

// fixtures makes the users, the sessions of /api/main and, by real
// logins, the refresh-token chains.
func (b *bench) fixtures(ctx context.Context) error {
	start := time.Now()
	h, err := b.g.hasher.Hash(benchPassword)
	if err != nil {
		return err
	}
	b.storedHash = h
	now := time.Now().UTC()
	prefix := "b" + b.runID + "-"
	users := newUsers(prefix, 0, b.cfg.conns+b.cfg.hashConns*8, h, now)
	if err := seedUsers(ctx, b.g.store, users); err != nil {
		return fmt.Errorf("seed users: %w", err)
	}
	b.loginUsers = users[b.cfg.conns:]
	if b.mainCreds, err = newSessions(ctx, b.g.store, b.g.tokens, users[:b.cfg.conns], b.cfg.conns); err != nil {
		return fmt.Errorf("seed sessions: %w", err)
	}
	if b.wants("refresh") {
		fmt.Fprintf(b.log, "preparing: %d logins at bcrypt cost %d for the refresh chains…\n", b.cfg.conns, b.cfg.cost)
		pairs, err := login(b.g.addr, users[:b.cfg.conns], b.cfg.hashConns)
		if err != nil {
			return err
		}
		for _, p := range pairs {
			b.chains = append(b.chains, p.RefreshToken)
		}
	}
	fmt.Fprintf(b.log, "preparing: fixtures ready in %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func (b *bench) wants(group string) bool {
	for _, g := range b.cfg.groups {
		if g == group {
			return true
		}
	}
	return false
}

// conns returns n kept-alive connections to addr, the same ones every
// round, so that no round pays for dialling.
func (b *bench) conns(key, addr string, n int) []*httpConn {
	cs := b.connPool[key]
	for len(cs) < n {
		cs = append(cs, newConn(addr))
	}
	b.connPool[key] = cs
	return cs[:n]
}

// groups returns the scenarios in the groups asked for. Each group's
// first scenario is the baseline of the others.
func (b *bench) groups() [][]scenario {
	var out [][]scenario
	write := []scenario{b.storeUpdate()}
	for _, g := range b.cfg.groups {
		switch g {
		case "main":
			out = append(out, []scenario{b.mainBare(), b.mainGatehouse()})
		case "login":
			out = append(out, []scenario{b.rawVerify(), b.login()})
		case "register":
			out = append(out, []scenario{b.rawHash(), b.register()})
		case "refresh":
			write = append(write, b.refresh())
		case "logout":
			write = append(write, b.logout())
		}
	}
	if len(write) > 1 {
		out = append(out, write)
	}
	return out
}

// runner measures groups of scenarios interleaved.
type runner struct {
	ctx    context.Context // ends the measuring between two slices (SIGINT, SIGTERM)
	slices int             // turns per round of the cheap scenarios
	conc   map[string]int  // workers by scenario, for the report
	// after is told each scenario's result of a round.
	after func(name string, res result)
}

// hashSlices is the number of turns a round of the hash scenarios takes:
// fewer than the cheap ones', since a slice must hold several hashes.
const hashSlices = 4

// measureGroup measures a group's scenarios in turns of one slice each —
// A B, B A, A B, … — so that a change of load on the machine during the
// round (other processes come and go) falls on every side alike. The
// order also turns from round to round.
func (rn *runner) measureGroup(g []scenario, round int) ([]result, error) {
	n := rn.slices
	if g[0].hash {
		n = min(n, hashSlices)
	}
	samples := make([]sample, len(g))
	for s := range n {
		if err := rn.ctx.Err(); err != nil {
			return nil, err
		}
		for i := range g {
			k := (i + round + s) % len(g)
			sc := g[k]
			ops, err := sc.ops(sc.dur / time.Duration(n))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sc.name, err)
			}
			samples[k].add(closedLoop(ops, sc.dur/time.Duration(n)))
			rn.conc[sc.name] = len(ops)
		}
	}
	res := make([]result, len(g))
	for i := range samples {
		res[i] = samples[i].summarize()
		if rn.after != nil {
			rn.after(g[i].name, res[i])
		}
	}
	return res, nil
}

// measure runs every group once per round and returns each round's
// results by scenario name.
func (rn *runner) measure(groups [][]scenario, rounds int, progress func(r int, name string, res result)) ([]map[string]result, error) {
	var all []map[string]result
	for r := range rounds {
		got := map[string]result{}
		for _, g := range groups {
			res, err := rn.measureGroup(g, r)
			if err != nil {
				return nil, err
			}
			for i, sc := range g {
				got[sc.name] = res[i]
				if progress != nil {
					progress(r, sc.name, res[i])
				}
			}
		}
		all = append(all, got)
	}
	return all, nil
}

// progressTo returns a progress function that prints a line a scenario.
func progressTo(w io.Writer, rounds int, conc map[string]int) func(int, string, result) {
	return func(r int, name string, res result) {
		fmt.Fprintf(w, "round %d/%d  %-15s %3d conns  %9.1f/s  p50 %-9v p99 %-9v",
			r+1, rounds, name, conc[name], res.Rate, roundDur(res.P50), roundDur(res.P99))
		if res.Errors > 0 {
			fmt.Fprintf(w, "  %d ERRORS, first: %s", res.Errors, res.FirstErr)
		}
		fmt.Fprintln(w)
	}
}

// measure runs the groups asked for, rounds times.
func (b *bench) measure(rounds int, progress bool) ([]map[string]result, error) {
	var p func(int, string, result)
	if progress {
		p = progressTo(b.log, rounds, b.conc)
	}
	return b.runner.measure(b.groups(), rounds, p)
}

// roundDur shows a latency with three significant digits or so.
func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// cpus is how many hashes run at once when "all cores" hash: GOMAXPROCS
// as the process started, before the server raised it (auth.ReserveProc).
func cpus() int { return auth.DefaultPoolSize() }
