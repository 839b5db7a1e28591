package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// ratioDef is one figure of the issue: a scenario's metric over its
// baseline's, with the target when there is one.
type ratioDef struct {
	Key      string
	Label    string
	Subject  string // scenario
	Baseline string // scenario
	Metric   string // "rate", "p50" or "p99"
	Target   float64
	Higher   bool // the target is a floor (rates) rather than a ceiling (latency)
}

var ratioDefs = []ratioDef{
	{"main.rate", "/api/main throughput ÷ bare net/http", "main/gatehouse", "main/bare", "rate", 0.80, true},
	{"main.p99", "/api/main p99 latency ÷ bare net/http", "main/gatehouse", "main/bare", "p99", 2, false},
	{"main.p50", "/api/main p50 latency ÷ bare net/http", "main/gatehouse", "main/bare", "p50", 0, false},
	{"login", "login rate ÷ raw bcrypt verify rate", "login", "hash/verify", "rate", 0.90, true},
	{"register", "register rate ÷ raw bcrypt hash rate", "register", "hash/new", "rate", 0.90, true},
	{"refresh", "refresh rate ÷ store single-row UPDATE rate", "refresh", "store/update", "rate", 0.50, true},
	{"logout", "logout rate ÷ store single-row UPDATE rate", "logout", "store/update", "rate", 0, true},
}

// ratio is a ratioDef measured: the median of the per-round ratios (each
// round's pair was measured back to back, so the median of ratios is
// steadier under a noisy machine than the ratio of medians).
type ratio struct {
	ratioDef
	Value    float64   `json:"value"`
	PerRound []float64 `json:"per_round"`
	Met      *bool     `json:"met,omitempty"` // nil: no target
	// ByCPU, for rates, is the baseline's CPU per operation over the
	// scenario's (median of rounds): the rate ratio a machine with nothing
	// else to do, bound by its CPUs, would show. 0: not a rate.
	ByCPU float64 `json:"by_cpu,omitempty"`
}

func metric(r result, m string) float64 {
	switch m {
	case "p50":
		return r.P50.Seconds()
	case "p99":
		return r.P99.Seconds()
	}
	return r.Rate
}

func ratios(rounds []map[string]result) []ratio {
	var out []ratio
	for _, d := range ratioDefs {
		rt := ratio{ratioDef: d}
		for _, round := range rounds {
			s, ok1 := round[d.Subject]
			base, ok2 := round[d.Baseline]
			if ok1 && ok2 && metric(base, d.Metric) > 0 {
				rt.PerRound = append(rt.PerRound, metric(s, d.Metric)/metric(base, d.Metric))
			}
		}
		if len(rt.PerRound) == 0 {
			continue
		}
		rt.Value = median(rt.PerRound)
		if d.Metric == "rate" {
			var cpu []float64
			for _, round := range rounds {
				if s, base := round[d.Subject], round[d.Baseline]; s.CPUPerOp > 0 {
					cpu = append(cpu, float64(base.CPUPerOp)/float64(s.CPUPerOp))
				}
			}
			if len(cpu) > 0 {
				rt.ByCPU = median(cpu)
			}
		}
		if d.Target > 0 {
			met := rt.Value <= d.Target
			if d.Higher {
				met = rt.Value >= d.Target
			}
			rt.Met = &met
		}
		out = append(out, rt)
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medians returns, by scenario, the median over rounds of each figure.
func medians(rounds []map[string]result) map[string]result {
	out := map[string]result{}
	names := map[string]bool{}
	for _, r := range rounds {
		for n := range r {
			names[n] = true
		}
	}
	for n := range names {
		var rate, p50, p99, cpu []float64
		var m result
		for _, r := range rounds {
			if x, ok := r[n]; ok {
				rate, p50, p99 = append(rate, x.Rate), append(p50, float64(x.P50)), append(p99, float64(x.P99))
				cpu = append(cpu, float64(x.CPUPerOp))
				m.N += x.N
				m.Errors += x.Errors
				m.Elapsed += x.Elapsed
				if m.FirstErr == "" {
					m.FirstErr = x.FirstErr
				}
			}
		}
		m.Rate, m.P50, m.P99 = median(rate), time.Duration(median(p50)), time.Duration(median(p99))
		m.CPUPerOp = time.Duration(median(cpu))
		out[n] = m
	}
	return out
}

// machine describes where a run happened.
type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	LoadStart  string `json:"load_average_start"`
	LoadEnd    string `json:"load_average_end"`
	Date       string `json:"date"`
}

func describeMachine() machine {
	return machine{
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPUModel: cpuModel(),
		Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		LoadStart: loadAverage(), Date: time.Now().UTC().Format(time.RFC3339),
	}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage is the 1, 5 and 15 minute load average from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// report is everything a run found, as -json writes it.
type report struct {
	Command string               `json:"command"`
	Machine machine              `json:"machine"`
	Config  map[string]any       `json:"config"`
	Ratios  []ratio              `json:"ratios"`
	Medians map[string]result    `json:"medians"`
	Rounds  []map[string]result  `json:"rounds"`
	Extra   map[string][]float64 `json:"extra,omitempty"`
}

// scenarioOrder is the order of the table of absolute figures.
var scenarioOrder = []string{"main/bare", "main/gatehouse", "hash/verify", "login", "hash/new", "register", "store/update", "refresh", "logout"}

func (rep *report) print(w io.Writer) {
	m := rep.Machine
	fmt.Fprintf(w, "gatehouse-bench  %s  %d CPUs (%s), GOMAXPROCS %d, %s\n", m.Date, m.CPUs, m.CPUModel, m.GOMAXPROCS, m.Go)
	fmt.Fprintf(w, "load average %s at start, %s at end\n", m.LoadStart, m.LoadEnd)
	fmt.Fprintf(w, "%s\n\n", rep.Command)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "RATIO (median of %d interleaved rounds)\tMEASURED\tTARGET\t\tBY CPU/OP\tPER ROUND\n", len(rep.Rounds))
	for _, r := range rep.Ratios {
		target, verdict := "—", ""
		if r.Met != nil {
			target = fmt.Sprintf("≤ %.2f×", r.Target)
			if r.Higher {
				target = fmt.Sprintf("≥ %.2f×", r.Target)
			}
			verdict = "met"
			if !*r.Met {
				verdict = "NOT MET"
			}
		}
		var per []string
		for _, x := range r.PerRound {
			per = append(per, fmt.Sprintf("%.2f", x))
		}
		byCPU := "—"
		if r.ByCPU > 0 {
			byCPU = fmt.Sprintf("%.2f×", r.ByCPU)
		}
		fmt.Fprintf(tw, "%s\t%.2f×\t%s\t%s\t%s\t%s\n", r.Label, r.Value, target, verdict, byCPU, strings.Join(per, " "))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "SCENARIO\tCONNS\tRATE /s\tP50\tP99\tCPU/OP\tDONE\tERRORS\t\n")
	for _, name := range scenarioOrder {
		r, ok := rep.Medians[name]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "%s\t%v\t%.1f\t%v\t%v\t%v\t%d\t%d\t\n", name, rep.Config["conns."+name], r.Rate, roundDur(r.P50), roundDur(r.P99), roundDur(r.CPUPerOp), r.N, r.Errors)
	}
	tw.Flush()
	fmt.Fprintf(w, "(rates, p50, p99 and CPU/op are medians over the rounds; CPU/op is this process's CPU per operation, servers and\nload generator together; BY CPU/OP is the baseline's CPU/op over the scenario's: the rate ratio a quiet, CPU-bound machine would show)\n")
	for _, name := range scenarioOrder {
		if r, ok := rep.Medians[name]; ok && r.Errors > 0 {
			fmt.Fprintf(w, "%s: %d errors, the first: %s\n", name, r.Errors, r.FirstErr)
		}
	}
}
