// Command gatehouse-bench measures gatehouse against baselines taken in the
// same run on the same machine: GET /api/main against a bare net/http
// server answering the same JSON, login and register against the raw
// bcrypt rate, refresh and logout against the store's single-row UPDATE.
// Everything runs in this process on loopback ports, interleaved round by
// round, and is bounded in time.
//
//	gatehouse-bench [run]    the side-by-side comparison (see -h)
//	gatehouse-bench seed     load users and sessions into a store, fast
//	gatehouse-bench scale    latency with 1,000 users against 1,000,000
//	gatehouse-bench process  start-up time and idle RSS of the gatehouse binary
//	gatehouse-bench soak     memory and goroutines under a long mixed load
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "gatehouse-bench: %v\n", err)
		os.Exit(1)
	}
}

const usage = `usage: gatehouse-bench [command] [flags]

commands:
  run       gatehouse side by side with its baselines (the default)
  seed      load users and sessions into a store quickly
  scale     login and /api/main latency at 1,000 and at 1,000,000 users
  process   start-up time and idle RSS of the gatehouse binary
  soak      memory and goroutines under a long mixed load

Run 'gatehouse-bench <command> -h' for a command's flags.
`

// run is the whole program, its inputs and outputs passed in for tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "run", args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return cmdRun(ctx, rest, getenv, stdout, stderr)
	case "seed":
		return cmdSeed(ctx, rest, getenv, stdout, stderr)
	case "scale":
		return cmdScale(ctx, rest, getenv, stdout, stderr)
	case "process":
		return cmdProcess(ctx, rest, stdout, stderr)
	case "soak":
		return cmdSoak(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gatehouse-bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// commandLine is how the run was asked for, for the report.
func commandLine(cmd string, args []string) string {
	return strings.TrimSpace("go run ./cmd/gatehouse-bench " + cmd + " " + strings.Join(args, " "))
}
