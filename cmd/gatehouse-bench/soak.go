package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// soakConfig is the mixed load of `gatehouse-bench soak`.
type soakConfig struct {
	dur, every, ttl time.Duration
	cost            int
	mainRate        float64 // GET /api/main a second, all workers together
	hashRate        float64 // logins and registrations a second, together
	writeRate       float64 // refreshes and logouts a second, together
	conns           int
}

func cmdSoak(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("soak", stderr)
	c := soakConfig{}
	fs.DurationVar(&c.dur, "duration", 10*time.Minute, "how long the load runs")
	fs.DurationVar(&c.every, "every", 10*time.Second, "sampling interval")
	fs.DurationVar(&c.ttl, "ttl", time.Minute, "access-token lifetime: what lives in memory per token or revocation is kept about this long, so a short one lets it cycle many times within the soak")
	fs.IntVar(&c.cost, "cost", defaultCost, "bcrypt cost")
	fs.Float64Var(&c.mainRate, "main-rate", 1000, "GET /api/main a second")
	fs.Float64Var(&c.hashRate, "hash-rate", 2, "logins and registrations a second (half each)")
	fs.Float64Var(&c.writeRate, "write-rate", 40, "refreshes and logouts a second (half each)")
	fs.IntVar(&c.conns, "conns", 16, "connections for /api/main")
	dbURL := fs.String("db", getenv("DATABASE_URL"), "store URL (default $DATABASE_URL, else SQLite in a temp dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.dur <= 0 || c.every <= 0 || c.conns < 1 || c.ttl < 10*time.Second {
		return errors.New("soak: -duration, -every and -conns must be positive, -ttl at least 10s")
	}
	load := loadAverage()
	b, err := newBench(ctx, compareConfig{conns: 4, hashConns: 2, cost: c.cost, dbURL: *dbURL, ttl: c.ttl, groups: []string{"refresh"}, slices: 1}, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	s := &soak{b: b, cfg: c}
	if err := s.prepare(ctx); err != nil {
		return err
	}
	samples := s.run(ctx, stderr)
	printSoak(stdout, commandLine("soak", args), load, c, samples, &s.first)
	return nil
}

// soak is one soak run: the bench's gatehouse and fixtures, and a pool of
// access tokens for /api/main that is issued afresh every half lifetime.
type soak struct {
	b      *bench
	cfg    soakConfig
	tokens atomic.Pointer[[]string]
	creds  []cred
	counts [5]atomic.Int64 // main, login, register, refresh, logout
	errs   atomic.Int64
	first  atomic.Pointer[string]
}

var soakNames = [5]string{"main", "login", "register", "refresh", "logout"}

// prepare makes the sessions of /api/main: 2,000 of them, more than
// connections, so that the caches see many tokens.
func (s *soak) prepare(ctx context.Context) error {
	b := s.b
	var err error
	s.creds, err = newSessions(ctx, b.g.store, b.g.tokens, b.loginUsers, 2000)
	if err != nil {
		return err
	}
	return s.reissue()
}

func (s *soak) reissue() error {
	toks := make([]string, len(s.creds))
	for i, c := range s.creds {
		at, _, err := s.b.g.tokens.Issue(c.user.ID, c.session, c.user.Username)
		if err != nil {
			return err
		}
		toks[i] = at
	}
	s.tokens.Store(&toks)
	return nil
}

// sampleRow is one sampling of the soak.
type sampleRow struct {
	at         time.Duration
	rssMB      float64
	heapMB     float64 // live heap after a GC
	goroutines int
	revoked    int
	done       [5]int64
	errs       int64
}

func (s *soak) run(ctx context.Context, log io.Writer) []sampleRow {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.dur)
	defer cancel()
	var wg sync.WaitGroup
	s.start(ctx, &wg)
	start := time.Now()
	rows := []sampleRow{s.sample(0)}
	tick := time.NewTicker(s.cfg.every)
	defer tick.Stop()
	reissue := time.NewTicker(s.cfg.ttl / 2)
	defer reissue.Stop()
	for loop := true; loop; {
		select {
		case <-ctx.Done():
			loop = false
		case <-reissue.C:
			if err := s.reissue(); err != nil {
				s.fail(err)
			}
		case <-tick.C:
			r := s.sample(time.Since(start))
			rows = append(rows, r)
			fmt.Fprintf(log, "%6s  RSS %6.1f MB  heap %6.1f MB  goroutines %4d  revoked %5d  errors %d\n",
				r.at.Round(time.Second), r.rssMB, r.heapMB, r.goroutines, r.revoked, r.errs)
		}
	}
	wg.Wait()
	return rows
}

func (s *soak) sample(at time.Duration) sampleRow {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _, _ := procMemory(os.Getpid())
	r := sampleRow{at: at, rssMB: rss, heapMB: float64(ms.HeapAlloc) / 1e6, goroutines: runtime.NumGoroutine(),
		revoked: s.b.g.auth.Revoked().Len(), errs: s.errs.Load()}
	for i := range r.done {
		r.done[i] = s.counts[i].Load()
	}
	return r
}

func (s *soak) fail(err error) {
	if s.errs.Add(1) == 1 {
		msg := err.Error()
		s.first.Store(&msg)
	}
}

// start launches the paced workers of every kind of request.
func (s *soak) start(ctx context.Context, wg *sync.WaitGroup) {
	b, addr := s.b, s.b.g.addr
	mainOp := func(c *httpConn) op {
		return httpOp(c, 200, func() []byte {
			toks := *s.tokens.Load()
			return request("GET", addr, "/api/main", toks[rand.N(len(toks))], nil)
		}, nil)
	}
	for range s.cfg.conns {
		s.paced(ctx, wg, 0, s.cfg.mainRate/float64(s.cfg.conns), mainOp(newConn(addr)))
	}
	hashRate := s.cfg.hashRate / 2
	logins, _ := b.login().ops(time.Second)
	registers, _ := b.register().ops(time.Second)
	s.paced(ctx, wg, 1, hashRate, logins[0])
	s.paced(ctx, wg, 2, hashRate, registers[0])
	refreshes, _ := b.refresh().ops(time.Second)
	for _, o := range refreshes {
		s.paced(ctx, wg, 3, s.cfg.writeRate/2/float64(len(refreshes)), o)
	}
	s.paced(ctx, wg, 4, s.cfg.writeRate/2, s.logouts(ctx, addr))
}

// logouts logs out sessions made up to a few hundred at a time: as many as
// a quarter of the token lifetime uses at the logout rate, so that the
// last of a batch is used long before its access token expires.
func (s *soak) logouts(ctx context.Context, addr string) op {
	c := newConn(addr)
	batch := int(min(200, max(1, s.cfg.writeRate/2*s.cfg.ttl.Seconds()/4)))
	var pending []cred
	return func() error {
		if len(pending) == 0 {
			var err error
			if pending, err = newSessions(ctx, s.b.g.store, s.b.g.tokens, s.b.loginUsers, batch); err != nil {
				return err
			}
		}
		cr := pending[0]
		pending = pending[1:]
		return httpOp(c, 204, func() []byte { return request("POST", addr, "/api/logout", cr.access, nil) }, nil)()
	}
}

// paced runs o rate times a second until ctx ends, counting as kind.
func (s *soak) paced(ctx context.Context, wg *sync.WaitGroup, kind int, rate float64, o op) {
	if rate <= 0 {
		return
	}
	interval := time.Duration(float64(time.Second) / rate)
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := time.Now().Add(rand.N(interval))
		for {
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			} else if ctx.Err() != nil {
				return
			}
			if next = next.Add(interval); next.Before(time.Now()) {
				next = time.Now() // behind: no burst to catch up
			}
			if err := o(); err != nil {
				s.fail(fmt.Errorf("%s: %w", soakNames[kind], err))
				continue
			}
			s.counts[kind].Add(1)
		}
	}()
}

// flatWithin is how much a series may grow over the measured part of the
// soak, by its fitted line, and still be called flat.
const flatWithin = 0.10

func printSoak(w io.Writer, cmd, load string, c soakConfig, rows []sampleRow, first *atomic.Pointer[string]) {
	fmt.Fprintf(w, "gatehouse-bench soak  %s  load average %s at start, %s at end\n%s\n\n", time.Now().UTC().Format(time.RFC3339), load, loadAverage(), cmd)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "TIME\tRSS MB\tLIVE HEAP MB\tGOROUTINES\tREVOKED HELD\tMAIN/s\tLOGIN/s\tREGISTER/s\tREFRESH/s\tLOGOUT/s\tERRORS\t\n")
	for i, r := range rows {
		fmt.Fprintf(tw, "%v\t%.1f\t%.1f\t%d\t%d\t", r.at.Round(time.Second), r.rssMB, r.heapMB, r.goroutines, r.revoked)
		for k := range r.done {
			rate := 0.0
			if i > 0 {
				rate = float64(r.done[k]-rows[i-1].done[k]) / (r.at - rows[i-1].at).Seconds()
			}
			fmt.Fprintf(tw, "%.1f\t", rate)
		}
		fmt.Fprintf(tw, "%d\t\n", r.errs)
	}
	tw.Flush()
	if last := rows[len(rows)-1]; last.errs > 0 {
		msg := ""
		if p := first.Load(); p != nil {
			msg = *p
		}
		fmt.Fprintf(w, "\n%d requests failed, the first: %s\n", last.errs, msg)
	}
	judgeSoak(w, c, rows)
}

// judgeSoak says whether RSS, the live heap and the goroutines stayed flat.
func judgeSoak(w io.Writer, c soakConfig, rows []sampleRow) {
	// Judge only after everything that lives for a token's lifetime has
	// had time to fill up and turn over — revocations are kept a lifetime
	// and a minute — twice, or after the first fifth of the soak if that
	// is longer.
	warm := max(2*(c.ttl+time.Minute), c.dur/5)
	var xs, rss, heap, gor []float64
	for _, r := range rows {
		if r.at >= warm {
			xs, rss, heap, gor = append(xs, r.at.Seconds()), append(rss, r.rssMB), append(heap, r.heapMB), append(gor, float64(r.goroutines))
		}
	}
	if len(xs) < 3 {
		fmt.Fprintf(w, "\ntoo short to judge: fewer than 3 samples after the warm-up of %v\n", warm)
		return
	}
	fmt.Fprintf(w, "\nafter a warm-up of %v (%d samples, %v to %v):\n", warm, len(xs),
		time.Duration(xs[0]*1e9).Round(time.Second), time.Duration(xs[len(xs)-1]*1e9).Round(time.Second))
	// Goroutines come and go with the requests in flight (net/http runs a
	// reader beside each handler), up to one or two a load worker.
	workers := float64(c.conns + 8)
	for _, s := range []struct {
		name  string
		ys    []float64
		slack float64 // absolute change allowed besides flatWithin
	}{{"RSS", rss, 0}, {"live heap", heap, 0}, {"goroutines", gor, 2 * workers}} {
		g := growth(xs, s.ys)
		allowed := max(flatWithin, s.slack/median(s.ys))
		verdict := "flat"
		if g > allowed || g < -allowed {
			verdict = "NOT flat"
		}
		within := fmt.Sprintf("±%.0f%%", 100*allowed)
		if s.slack > 0 {
			within += fmt.Sprintf(", i.e. ±%.0f: requests in flight come and go", allowed*median(s.ys))
		}
		fmt.Fprintf(w, "  %-10s %s: the fitted line moves %+.1f%% over the span (flat: within %s); min %.1f, max %.1f\n",
			s.name, verdict, 100*g, within, slices.Min(s.ys), slices.Max(s.ys))
	}
}

// growth fits a line to (xs, ys) by least squares and returns how much it
// rises from the first x to the last, relative to the median of ys.
func growth(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	den := n*sxx - sx*sx
	m := median(ys)
	if den == 0 || m == 0 {
		return 0
	}
	slope := (n*sxy - sx*sy) / den
	return slope * (xs[len(xs)-1] - xs[0]) / m
}
