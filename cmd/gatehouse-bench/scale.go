package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"text/tabwriter"
	"time"
)

// scaleConfig is what `gatehouse-bench scale` compares.
type scaleConfig struct {
	small, large   int    // users (and sessions) in the two stores
	largeDB        string // a store seeded before with `seed -users large`; "": seed one now
	cost           int
	dur            time.Duration
	rounds, slices int
	conns          int
	hashConns      int
	tokens         int // distinct users sending /api/main
	strict         bool
	accessLog      bool // ACCESS_LOG, as serve's default
}

func cmdScale(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scale", stderr)
	c := scaleConfig{}
	fs.IntVar(&c.small, "small", 1000, "users and sessions in the small store")
	fs.IntVar(&c.large, "large", 1_000_000, "users and sessions in the large store")
	fs.StringVar(&c.largeDB, "large-db", "", "a store already filled by `gatehouse-bench seed -users LARGE -sessions LARGE` (default: seed a temp SQLite file now, which takes minutes)")
	fs.IntVar(&c.cost, "cost", defaultCost, "bcrypt cost (the seeded users' and the server's)")
	fs.DurationVar(&c.dur, "duration", 4*time.Second, "length of each round of /api/main and of login")
	fs.IntVar(&c.rounds, "rounds", 3, "interleaved rounds")
	fs.IntVar(&c.slices, "slices", 8, "turns per round of /api/main")
	fs.IntVar(&c.conns, "conns", 64, "connections for /api/main")
	fs.IntVar(&c.hashConns, "hash-conns", 2*cpus(), "connections for login")
	fs.IntVar(&c.tokens, "tokens", 1000, "distinct users (random among the seeded) sending /api/main")
	fs.BoolVar(&c.strict, "strict", false, "STRICT_REVOCATION: every /api/main asks the store about its session")
	fs.BoolVar(&c.accessLog, "access-log", true, "ACCESS_LOG: a log line a request, written to the null device")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.small < 1 || c.large < 1 || c.tokens < 1 {
		return errors.New("scale: -small, -large and -tokens must be positive")
	}
	start := loadAverage()
	small, err := newScaleTarget(ctx, c, c.small, "", stderr)
	if err != nil {
		return err
	}
	defer small.g.close()
	large, err := newScaleTarget(ctx, c, c.large, c.largeDB, stderr)
	if err != nil {
		return err
	}
	defer large.g.close()
	rn := runner{ctx: ctx, slices: c.slices, conc: map[string]int{}}
	// Warm up first: every token's first use misses the token and user
	// caches, and on the large store reads the user from cold pages.
	fmt.Fprintf(stderr, "warming up…\n")
	warm := c
	warm.dur = max(time.Second, c.dur/4)
	if _, err := (&runner{ctx: ctx, slices: 1, conc: map[string]int{}}).measure([][]scenario{{small.main(warm), large.main(warm)}}, 1, nil); err != nil {
		return err
	}
	groups := [][]scenario{
		{small.main(c), large.main(c)},
		{small.login(c), large.login(c)},
	}
	rounds, err := rn.measure(groups, c.rounds, progressTo(stderr, c.rounds, rn.conc))
	if err != nil {
		return err
	}
	printScale(stdout, commandLine("scale", args), start, c, small, large, rounds)
	return nil
}

// scaleTarget is gatehouse over a store of n seeded users and sessions.
type scaleTarget struct {
	g     *gatehouseTarget
	n     int
	creds []cred
	conns map[string][]*httpConn
}

func newScaleTarget(ctx context.Context, c scaleConfig, n int, url string, log io.Writer) (*scaleTarget, error) {
	g, err := startGatehouse(ctx, targetConfig{dbURL: url, cost: c.cost, ttl: time.Hour, strict: c.strict, log: log, accessLog: c.accessLog})
	if err != nil {
		return nil, err
	}
	t := &scaleTarget{g: g, n: n, conns: map[string][]*httpConn{}}
	if url == "" {
		fmt.Fprintf(log, "seeding %d users and sessions…\n", n)
		h, err := g.hasher.Hash(benchPassword)
		if err == nil {
			_, err = seed(ctx, g.store, n, n, h, log)
		}
		if err != nil {
			g.close()
			return nil, err
		}
	}
	if err := t.issue(ctx, min(c.tokens, n)); err != nil {
		g.close()
		return nil, err
	}
	return t, nil
}

// issue makes k access tokens for the sessions of k random seeded users.
func (t *scaleTarget) issue(ctx context.Context, k int) error {
	for _, i := range rand.Perm(t.n)[:k] {
		u, err := t.g.store.UserByUsername(ctx, fmt.Sprintf("%s%07d", seedPrefix, i))
		if err != nil {
			return fmt.Errorf("seeded user %d: %w (was the store seeded with -users %d?)", i, err, t.n)
		}
		list, err := t.g.store.ListSessions(ctx, u.ID, time.Now())
		if err != nil || len(list) == 0 {
			return fmt.Errorf("seeded user %d has no session (%v)", i, err)
		}
		at, _, err := t.g.tokens.Issue(u.ID, list[0].ID, u.Username)
		if err != nil {
			return err
		}
		t.creds = append(t.creds, cred{user: u, session: list[0].ID, access: at})
	}
	return nil
}

func (t *scaleTarget) name(what string) string { return fmt.Sprintf("%s@%d", what, t.n) }

func (t *scaleTarget) main(c scaleConfig) scenario {
	return scenario{name: t.name("main"), dur: c.dur, ops: func(time.Duration) ([]op, error) {
		cs := t.conns["main"]
		for len(cs) < c.conns {
			cs = append(cs, newConn(t.g.addr))
		}
		t.conns["main"] = cs
		var ops []op
		for i, conn := range cs {
			req := request("GET", t.g.addr, "/api/main", t.creds[i%len(t.creds)].access, nil)
			ops = append(ops, httpOp(conn, 200, func() []byte { return req }, nil))
		}
		return ops, nil
	}}
}

// login logs random seeded users in: the lookup by name, the hash and the
// new session's insert, in a store of n.
func (t *scaleTarget) login(c scaleConfig) scenario {
	return scenario{name: t.name("login"), hash: true, dur: c.dur, ops: func(time.Duration) ([]op, error) {
		var ops []op
		for range c.hashConns {
			conn := newConn(t.g.addr)
			ops = append(ops, httpOp(conn, 200, func() []byte {
				name := fmt.Sprintf("%s%07d", seedPrefix, rand.N(t.n))
				return request("POST", t.g.addr, "/api/login", "", loginBody(name))
			}, nil))
		}
		return ops, nil
	}}
}

func printScale(w io.Writer, cmd, loadStart string, c scaleConfig, small, large *scaleTarget, rounds []map[string]result) {
	m := medians(rounds)
	fmt.Fprintf(w, "gatehouse-bench scale  %s  load average %s at start, %s at end\n%s\n\n", time.Now().UTC().Format(time.RFC3339), loadStart, loadAverage(), cmd)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "FIGURE (median of %d rounds)\t%d USERS\t%d USERS\tRATIO\tTARGET\n", len(rounds), small.n, large.n)
	row := func(label, what, which string) {
		s, l := m[small.name(what)], m[large.name(what)]
		var per []float64
		for _, r := range rounds {
			if b := metric(r[small.name(what)], which); b > 0 {
				per = append(per, metric(r[large.name(what)], which)/b)
			}
		}
		ratio := median(per)
		verdict := "≤ 1.20× met"
		if ratio > 1.2 {
			verdict = "≤ 1.20× NOT MET"
		}
		if which == "rate" {
			verdict = "—"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f×\t%s\n", label, fmtMetric(s, which), fmtMetric(l, which), ratio, verdict)
	}
	row("/api/main p50", "main", "p50")
	row("/api/main p99", "main", "p99")
	row("/api/main throughput", "main", "rate")
	row("login p50", "login", "p50")
	row("login p99", "login", "p99")
	row("login throughput", "login", "rate")
	tw.Flush()
	fmt.Fprintf(w, "\nstore %s, bcrypt cost %d, %d connections for /api/main from %d users, %d for login; ratios are large ÷ small, per round then median\n",
		small.g.store.Dialect(), c.cost, c.conns, len(small.creds), c.hashConns)
}

func fmtMetric(r result, which string) string {
	switch which {
	case "p50":
		return roundDur(r.P50).String()
	case "p99":
		return roundDur(r.P99).String()
	}
	return fmt.Sprintf("%.1f/s", r.Rate)
}
