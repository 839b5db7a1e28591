package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// The flood benchmark is opt-in: it hashes at the production cost and runs
// for about a minute.
//
//	go test -run TestFloodBenchmark -v ./cmd/gatehouse/ -flood
var (
	flood         = flag.Bool("flood", false, "run TestFloodBenchmark")
	floodRuns     = flag.Int("flood.runs", 5, "quiet/flood pairs to run")
	floodFactor   = flag.Float64("flood.factor", 10, "login rate as a multiple of hashing capacity")
	floodCost     = flag.Int("flood.cost", 12, "bcrypt cost")
	floodSlots    = flag.Int("flood.slots", 0, "HASH_CONCURRENCY (0: the default)")
	floodNice     = flag.Int("flood.nice", -1, "HASH_NICE (-1: the default)")
	floodCompare  = flag.Bool("flood.compare", false, "also measure the same slots at nice 0 and the former default (a slot fewer than CPUs), in turn")
	floodPhase    = flag.Duration("flood.phase", 8*time.Second, "length of each measured phase")
	floodInterval = flag.Duration("flood.interval", 2*time.Millisecond, "pause between authenticated requests")
)

// TestFloodBenchmark measures the latency of authenticated requests (GET
// /api/main, one at a time, every flood.interval) with and without a
// concurrent flood of logins at flood.factor times the hashing capacity,
// through the real server on loopback. Throttling is off, so that every
// login reaches the hashing pool. It reports p99 per phase and the medians
// over flood.runs pairs; the target is flood p99 <= 3x quiet p99. With
// -flood.compare, two more instances are measured in turn with the first,
// run by run, so that all see the same machine: the same slots at nice 0,
// and the former default (a slot fewer than CPUs). They share the process
// and so its GOMAXPROCS, which the first raised (auth.ReserveProc): to
// measure a pool without the spare processor, run once with
// -flood.slots set to CPUs − 1. It decides nothing: timing is reported,
// not judged.
func TestFloodBenchmark(t *testing.T) {
	if !*flood {
		t.Skip("opt-in: go test -run TestFloodBenchmark -v ./cmd/gatehouse/ -flood")
	}
	base := map[string]string{
		"BCRYPT_COST": strconv.Itoa(*floodCost), "LOGIN_USER_LIMIT": "0", "LOGIN_ADDRESS_LIMIT": "0", "LOG_LEVEL": "error",
	}
	slots, nice := auth.DefaultPoolSize(), auth.DefaultNice
	if *floodSlots > 0 {
		slots = *floodSlots
	}
	if *floodNice >= 0 {
		nice = *floodNice
	}
	subjects := []*floodSubject{newFloodSubject(t, base, slots, nice)}
	if *floodCompare {
		subjects = append(subjects, newFloodSubject(t, base, slots, 0), newFloodSubject(t, base, max(slots-1, 1), nice))
	}
	hash := hashTime(t, *floodCost)
	t.Logf("bcrypt cost %d: %v a hash (nice 0, measured here); GOMAXPROCS %d", *floodCost, hash.Round(time.Millisecond), runtime.GOMAXPROCS(0))
	for run := range *floodRuns {
		for _, s := range subjects {
			s.run(t, run, float64(s.slots)/hash.Seconds()**floodFactor)
		}
	}
	for _, s := range subjects {
		t.Logf("MEDIANS over %d runs, %s: quiet p99 %.3f ms, flood p99 %.3f ms, ratio of p99s %.2f (target <= 3)",
			*floodRuns, s.name, medianOf(s.quiet), medianOf(s.flooded), medianOf(s.ratios))
	}
}

// floodSubject is one instance under the benchmark and its results.
type floodSubject struct {
	name, url, access      string
	slots                  int
	quiet, flooded, ratios []float64
}

func newFloodSubject(t *testing.T, base map[string]string, slots, nice int) *floodSubject {
	env := maps.Clone(base)
	env["HASH_CONCURRENCY"], env["HASH_NICE"] = strconv.Itoa(slots), strconv.Itoa(nice)
	g := start(t, testEnv(t, env))
	register(t, g.url, "bench", "bench password")
	return &floodSubject{
		name: fmt.Sprintf("%d hashing slot(s) at nice %d", slots, nice), slots: slots,
		url: g.url, access: login(t, g.url, "bench", "bench password").access,
	}
}

// run measures a quiet phase, then a flood phase at rate logins a second.
func (s *floodSubject) run(t *testing.T, run int, rate float64) {
	q := measure(t, s.url, s.access, *floodPhase)
	stop, stats := startFlood(s.url, rate)
	time.Sleep(time.Second) // let the queue fill
	f := measure(t, s.url, s.access, *floodPhase)
	stop()
	qp, fp := percentile(q, 0.99), percentile(f, 0.99)
	s.quiet, s.flooded, s.ratios = append(s.quiet, ms(qp)), append(s.flooded, ms(fp)), append(s.ratios, float64(fp)/float64(qp))
	t.Logf("run %d, %s: quiet p50 %v p99 %v (n=%d) | flood %.1f/s p50 %v p99 %v (n=%d) | ratio %.2f | logins %d: 401 %d, 503 %d, other %d",
		run+1, s.name, percentile(q, 0.5), qp, len(q), rate, percentile(f, 0.5), fp, len(f), float64(fp)/float64(qp),
		stats.sent.Load(), stats.served.Load(), stats.shed.Load(), stats.other.Load())
	time.Sleep(2 * time.Second) // let the queue drain before the next quiet phase
}

// hashTime is the median time of a few hashes at cost, here and now.
func hashTime(t *testing.T, cost int) time.Duration {
	h := &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: cost}
	var d []time.Duration
	for range 3 {
		start := time.Now()
		if _, err := h.Hash("calibration password"); err != nil {
			t.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	slices.Sort(d)
	return d[1]
}

// measure sends GET /api/main one at a time for d and returns each latency.
func measure(t *testing.T, base, access string, d time.Duration) []time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	var out []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(*floodInterval) {
		req, _ := http.NewRequest("GET", base+"/api/main", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, time.Since(start))
		if resp.StatusCode != 200 {
			t.Fatalf("GET /api/main: %d", resp.StatusCode)
		}
	}
	return out
}

type floodStats struct{ sent, served, shed, other atomic.Int64 }

// startFlood sends wrong-password logins at rate per second (open loop:
// at the rate whatever the answers, at most 2000 in flight) until stop.
func startFlood(base string, rate float64) (stop func(), stats *floodStats) {
	stats = &floodStats{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2000}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	inflight := make(chan struct{}, 2000)
	wg.Go(func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case inflight <- struct{}{}:
			default:
				continue
			}
			stats.sent.Add(1)
			wg.Go(func() {
				defer func() { <-inflight }()
				floodLogin(ctx, client, base, stats)
			})
		}
	})
	return func() { cancel(); wg.Wait(); client.CloseIdleConnections() }, stats
}

func floodLogin(ctx context.Context, client *http.Client, base string, stats *floodStats) {
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/login", strings.NewReader(`{"username":"bench","password":"not the password"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil { // not cut short by the end of the flood
			stats.other.Add(1)
		}
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		stats.served.Add(1)
	case http.StatusServiceUnavailable:
		stats.shed.Add(1)
	default:
		stats.other.Add(1)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
