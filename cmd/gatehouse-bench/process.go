package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func cmdProcess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("process", stderr)
	bin := fs.String("bin", "", "the gatehouse binary (default: go build github.com/gatehouse/gatehouse/cmd/gatehouse into a temp dir)")
	starts := fs.Int("starts", 5, "starts on an existing store, after the first on a new one")
	cost := fs.Int("cost", defaultCost, "BCRYPT_COST of the server (start-up makes one hash at it)")
	idle := fs.Duration("idle", 2*time.Second, "how long the server idles after start before its RSS is read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gatehouse-bench-process-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *bin == "" {
		*bin = filepath.Join(dir, "gatehouse")
		fmt.Fprintf(stderr, "building gatehouse…\n")
		build := exec.CommandContext(ctx, "go", "build", "-o", *bin, "github.com/gatehouse/gatehouse/cmd/gatehouse")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	load := loadAverage()
	var runs []procRun
	for i := range *starts + 1 {
		r, err := startProcess(ctx, *bin, dir, *cost, *idle)
		if err != nil {
			return fmt.Errorf("start %d: %w", i+1, err)
		}
		fmt.Fprintf(stderr, "start %d: listening after %v, /healthz 200 after %v, RSS %.1f MB\n", i+1, roundDur(r.listening), roundDur(r.healthy), r.rssMB)
		runs = append(runs, r)
	}
	printProcess(stdout, commandLine("process", args), load, *cost, runs)
	return nil
}

// procRun is one start of the binary.
type procRun struct {
	listening time.Duration // exec to the "listening" line
	healthy   time.Duration // exec to the first 200 from /healthz
	rssMB     float64       // VmRSS after idling
	hwmMB     float64       // VmHWM: the peak RSS so far
}

// startProcess runs the binary on dir's SQLite store, on a free loopback
// port, times its start, reads its memory once idle and stops it.
func startProcess(ctx context.Context, bin, dir string, cost int, idle time.Duration) (procRun, error) {
	var r procRun
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Dir = dir // no .env from elsewhere
	cmd.Env = []string{
		"ADDR=127.0.0.1:0", "DATABASE_URL=sqlite:" + filepath.Join(dir, "gatehouse.db"),
		"BCRYPT_COST=" + strconv.Itoa(cost), "LOG_LEVEL=warn", "PATH=" + os.Getenv("PATH"),
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return r, fmt.Errorf("no listening line: %w", err)
	}
	r.listening = time.Since(start)
	_, url, ok := strings.Cut(strings.TrimSpace(line), " on ")
	if !ok {
		return r, fmt.Errorf("unexpected first line %q", line)
	}
	go io.Copy(io.Discard, out)
	if err := waitHealthy(ctx, url+"/healthz"); err != nil {
		return r, err
	}
	r.healthy = time.Since(start)
	time.Sleep(idle)
	r.rssMB, r.hwmMB, err = procMemory(cmd.Process.Pid)
	return r, err
}

func waitHealthy(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("no 200 from /healthz within 30 s")
}

// procMemory reads VmRSS and VmHWM of pid, in MB (10^6 bytes).
func procMemory(pid int) (rss, hwm float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		kb, _ := strconv.ParseFloat(f[0], 64)
		switch k {
		case "VmRSS":
			rss = kb * 1024 / 1e6
		case "VmHWM":
			hwm = kb * 1024 / 1e6
		}
	}
	return rss, hwm, nil
}

func printProcess(w io.Writer, cmd, load string, cost int, runs []procRun) {
	fmt.Fprintf(w, "gatehouse-bench process  %s  load average %s at start, %s at end\n%s\n\n", time.Now().UTC().Format(time.RFC3339), load, loadAverage(), cmd)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "START\tEXEC → LISTENING\tEXEC → /healthz 200\tIDLE RSS\tPEAK RSS\n")
	for i, r := range runs {
		what := "existing store"
		if i == 0 {
			what = "new store (migrate, make key)"
		}
		fmt.Fprintf(tw, "%d, %s\t%v\t%v\t%.1f MB\t%.1f MB\n", i+1, what, roundDur(r.listening), roundDur(r.healthy), r.rssMB, r.hwmMB)
	}
	tw.Flush()
	if len(runs) > 1 {
		var h, rss []float64
		for _, r := range runs[1:] {
			h, rss = append(h, r.healthy.Seconds()), append(rss, r.rssMB)
		}
		fmt.Fprintf(w, "\nmedian of the %d starts on an existing store: /healthz 200 after %v (target < 1 s), idle RSS %.1f MB (target ≤ 60 MB); BCRYPT_COST=%d\n",
			len(h), roundDur(time.Duration(median(h)*float64(time.Second))), median(rss), cost)
	}
}
