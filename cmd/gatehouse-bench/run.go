package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

// defaultCost is the cost the comparison hashes at: gatehouse's own default
// BCRYPT_COST, so that login and register are measured as deployed. The
// ratios hold at any cost — both sides hash at the same one — but the lower
// the cost the larger the share of everything around the hash, so 12 is
// also the kinder cost to the targets; pass -cost 10 for a harder check.
const defaultCost = 12

func cmdRun(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	cfg := compareConfig{}
	fs.DurationVar(&cfg.dur, "duration", 2*time.Second, "length of each round of /api/main, refresh, logout and the store baseline")
	fs.DurationVar(&cfg.hashDur, "hash-duration", 0, "length of each round of login, register and the raw hash rates (0: -duration, at least 40 hashes' worth at -cost)")
	fs.IntVar(&cfg.rounds, "rounds", 5, "interleaved rounds; the report gives medians over them")
	fs.IntVar(&cfg.slices, "slices", 8, "turns per round: /api/main, refresh, logout and their baselines alternate this many times a round")
	fs.IntVar(&cfg.conns, "conns", 64, "connections for /api/main, refresh, logout and the store baseline")
	fs.IntVar(&cfg.hashConns, "hash-conns", 2*cpus(), "connections for login and register (more queue in the hashing pool, whose wait is 2 s)")
	fs.IntVar(&cfg.cost, "cost", defaultCost, "bcrypt cost for login, register and the raw hash rate")
	fs.StringVar(&cfg.dbURL, "db", getenv("DATABASE_URL"), "store URL (default $DATABASE_URL, else SQLite in a temp dir)")
	fs.BoolVar(&cfg.strict, "strict", false, "STRICT_REVOCATION: ask the store about the session on every request")
	fs.BoolVar(&cfg.accessLog, "access-log", true, "ACCESS_LOG: a log line a request, written to the null device")
	only := fs.String("only", "main,login,register,refresh,logout", "the scenario groups to run, comma-separated")
	svgPath := fs.String("svg", "", "write the chart to this SVG file")
	jsonPath := fs.String("json", "", `write the whole report as JSON to this file ("-": standard output, instead of the table)`)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured rounds to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.groups = strings.Split(*only, ",")
	if cfg.rounds < 1 || cfg.slices < 1 || cfg.conns < 1 || cfg.hashConns < 1 || cfg.dur <= 0 {
		return fmt.Errorf("-rounds, -slices, -conns, -hash-conns and -duration must be positive")
	}
	rep := &report{Command: commandLine("run", args), Machine: describeMachine()}
	b, err := newBench(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	if b.cfg.hashDur == 0 {
		b.cfg.hashDur = b.hashRoundLength()
	}
	fmt.Fprintf(stderr, "warming up…\n")
	if _, err := b.warmUp(); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	rep.Rounds, err = b.measure(cfg.rounds, true)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	rep.Machine.LoadEnd = loadAverage()
	rep.Ratios, rep.Medians = ratios(rep.Rounds), medians(rep.Rounds)
	rep.Config = b.describe()
	return rep.write(stdout, *jsonPath, *svgPath)
}

// hashRoundLength makes a hash round long enough for 40 hashes on all
// cores (10 a slice), so that a hash more or less moves a rate by a few
// percent at most, and no shorter than -duration.
func (b *bench) hashRoundLength() time.Duration {
	start := time.Now()
	b.g.hasher.Verify(b.storedHash, benchPassword)
	one := time.Since(start)
	d := time.Duration(40/float64(cpus())) * one
	return max(b.cfg.dur, d.Round(100*time.Millisecond))
}

// warmUp runs the cheap scenarios briefly — connections, caches and the
// Go runtime reach their steady state — and throws the figures away.
func (b *bench) warmUp() ([]map[string]result, error) {
	saved := b.cfg
	defer func() { b.cfg = saved }()
	b.cfg.dur = min(b.cfg.dur, 300*time.Millisecond)
	b.runner.slices = 1
	defer func() { b.runner.slices = saved.slices }()
	b.cfg.hashDur = time.Millisecond // one hash each
	return b.measure(1, false)
}

func (b *bench) describe() map[string]any {
	c := b.cfg
	m := map[string]any{
		"duration": c.dur.String(), "hash_duration": c.hashDur.String(), "rounds": c.rounds, "slices": c.slices,
		"conns": c.conns, "hash_conns": c.hashConns, "bcrypt_cost": c.cost,
		"store": b.g.store.Dialect(), "strict": c.strict, "access_log": c.accessLog, "groups": c.groups,
	}
	for n, k := range b.conc {
		m["conns."+n] = k
	}
	return m
}

// write prints the report and writes the files asked for.
func (rep *report) write(stdout io.Writer, jsonPath, svgPath string) error {
	if jsonPath != "-" {
		rep.print(stdout)
	}
	if jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if jsonPath == "-" {
			_, err = stdout.Write(b)
		} else {
			err = os.WriteFile(jsonPath, b, 0o644)
		}
		if err != nil {
			return err
		}
	}
	if svgPath != "" {
		if err := os.WriteFile(svgPath, rep.svg(), 0o644); err != nil {
			return err
		}
		if jsonPath != "-" {
			fmt.Fprintf(stdout, "\nchart written to %s\n", svgPath)
		}
	}
	return nil
}
