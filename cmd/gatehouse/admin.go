package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The admin commands (user, sessions, keys, audit) share one shape: a
// group of subcommands, each with its own flags and -h, positional
// arguments before or after the flags, text for people or --json for
// scripts, and an exit code that tells the failures apart (see exitCode).

// command is one subcommand of a group.
type command struct {
	name  string
	args  string // the positional arguments, for the usage line
	nargs [2]int // how many positional arguments: at least, at most
	about string
	flags func(fs *flag.FlagSet, o *cliOpts) // its own flags, beside --json
	check func(c *cli) error                 // checks the arguments before the store is opened
	run   func(ctx context.Context, a *app, c *cli) error
}

// cli is what a subcommand runs with.
type cli struct {
	args   []string
	opts   cliOpts
	stdin  io.Reader
	stdout io.Writer
}

// cliOpts are the flags a subcommand may have.
type cliOpts struct {
	json  bool
	all   bool
	now   bool
	user  string
	types string
	since string
	limit int
}

// group runs the subcommand args[0] of the group name.
func group(ctx context.Context, name string, cmds []command, args []string, env func() (*config, error), stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		groupUsage(stderr, name, cmds)
		if len(args) == 0 {
			return &usageError{name + ": a subcommand is required"}
		}
		return flag.ErrHelp
	}
	for _, cmd := range cmds {
		if cmd.name == args[0] {
			return runCommand(ctx, name, cmd, args[1:], env, stdin, stdout, stderr)
		}
	}
	groupUsage(stderr, name, cmds)
	return &usageError{fmt.Sprintf("%s: unknown subcommand %q", name, args[0])}
}

func groupUsage(w io.Writer, name string, cmds []command) {
	fmt.Fprintf(w, "usage: gatehouse %s <subcommand> [flags]\n\nsubcommands:\n", name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.about)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun 'gatehouse %s <subcommand> -h' for its flags. Every subcommand takes --json.\n", name)
}

func runCommand(ctx context.Context, group string, cmd command, args []string, env func() (*config, error), stdin io.Reader, stdout, stderr io.Writer) error {
	c := &cli{stdin: stdin, stdout: stdout}
	name := strings.TrimSpace(group + " " + cmd.name)
	fs := newFlagSet(name, strings.TrimSpace(name+" "+cmd.args)+" [flags]\n\n"+cmd.about, stderr)
	fs.BoolVar(&c.opts.json, "json", false, "print JSON instead of text")
	if cmd.flags != nil {
		cmd.flags(fs, &c.opts)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < cmd.nargs[0] || len(pos) > cmd.nargs[1] {
		fs.Usage()
		return &usageError{fmt.Sprintf("%s: expected %s", name, strings.TrimSpace(cmd.args+" [flags]"))}
	}
	c.args = pos
	if cmd.check != nil {
		if err := cmd.check(c); err != nil {
			return err
		}
	}
	cfg, err := env()
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	return cmd.run(ctx, a, c)
}

// parseInterspersed parses flags that come before, between or after the
// positional arguments ("user show alice --json"), as the standard flag
// package stops at the first positional one. After "--" everything is
// positional, for a username that starts with a dash.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// output writes v as indented JSON, or calls text.
func (c *cli) output(v any, text func(w io.Writer) error) error {
	if c.opts.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return text(c.stdout)
}

// table writes rows aligned in columns.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// codedError shows a gatehouse error by its client-safe message and code,
// and keeps it in the chain for exitCode.
type codedError struct{ err error }

func (e *codedError) Error() string {
	code := gatehouse.ErrorCode(e.err)
	if code == gatehouse.EUNAVAILABLE { // the operator needs the cause
		return fmt.Sprintf("%s (%s): %v", gatehouse.ErrorMessage(e.err), code, e.err)
	}
	return fmt.Sprintf("%s (%s)", gatehouse.ErrorMessage(e.err), code)
}

func (e *codedError) Unwrap() error { return e.err }

// userError is err for the person at the terminal: a gatehouse error by
// its message and code, anything else as it is (its detail helps there).
func userError(err error) error {
	var ge *gatehouse.Error
	if errors.As(err, &ge) && ge.Code != gatehouse.EINTERNAL {
		return &codedError{err}
	}
	return err
}

// timeText formats t for a table: RFC 3339 in UTC, "-" when zero.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// timeJSON is t for --json: RFC 3339 in UTC, null when zero.
func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}
