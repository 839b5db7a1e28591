// Command gatehouse is an authentication server: users register and log in,
// get a JSON Web Token, and logging out kills the token at once.
//
//	gatehouse [serve]        run the server (the default)
//	gatehouse migrate        apply database migrations and exit
//	gatehouse user add|list|show|lock|unlock|reset-mfa|delete
//	gatehouse sessions list|revoke
//	gatehouse keys list|rotate
//	gatehouse audit          list the audit trail
//	gatehouse hash-cost      find the bcrypt cost that takes ~250 ms here
//	gatehouse version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "gatehouse: %v\n", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError marks a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Exit codes. Scripts can tell the failures apart without reading the
// message; README.md lists them.
const (
	exitOK          = 0
	exitFailure     = 1 // anything else (an internal error)
	exitUsage       = 2 // a mistake in the command line
	exitConfig      = 3 // invalid configuration
	exitNotFound    = 4 // no such user, session or key
	exitConflict    = 5 // the username is taken
	exitInvalid     = 6 // the input breaks a rule (username, password)
	exitUnavailable = 7 // the database does not answer
)

// exitCode maps err to its exit code: help is success, then usage and
// configuration mistakes, then the code of a gatehouse error.
func exitCode(err error) int {
	var ue *usageError
	var ce *configError
	var ge *gatehouse.Error
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		return exitConfig
	case !errors.As(err, &ge):
		return exitFailure
	}
	switch ge.Code {
	case gatehouse.ENOTFOUND:
		return exitNotFound
	case gatehouse.EUSERNAMETAKEN:
		return exitConflict
	case gatehouse.EINVALIDUSERNAME, gatehouse.EWEAKPASSWORD, gatehouse.EMALFORMED:
		return exitInvalid
	case gatehouse.EUNAVAILABLE:
		return exitUnavailable
	}
	return exitFailure
}

const usage = `usage: gatehouse <command> [flags]

commands:
  serve       run the server (default when no command is given)
  migrate     apply database migrations and exit
  user        add, list, show, lock, unlock, reset-mfa or delete users
  sessions    list or revoke a user's sessions
  keys        list or rotate the token signing keys
  audit       list the audit trail (--user, --type, --since, --limit)
  hash-cost   measure which bcrypt cost takes about 250 ms on this machine
  version     print the version

Configuration comes from the environment and a .env file in the working
directory; see README.md. Run 'gatehouse <command> -h' for a command's flags;
the admin commands take --json.

exit codes: 0 success, 1 failure, 2 usage, 3 configuration, 4 not found,
5 conflict (username taken), 6 invalid input, 7 database unavailable
`

// run is the whole program, with its inputs and outputs passed in so that
// tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, rest = args[0], args[1:]
	}
	env := func() (*config, error) {
		file, err := readDotEnv(".env")
		if err != nil {
			return nil, err
		}
		return loadConfig(withDotEnv(getenv, file))
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, env, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, env, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, env, stdin, stdout, stderr)
	case "sessions":
		return cmdSessions(ctx, rest, env, stdin, stdout, stderr)
	case "keys":
		return cmdKeys(ctx, rest, env, stdin, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, env, stdin, stdout, stderr)
	case "hash-cost":
		return cmdHashCost(rest, stdout, stderr)
	case "version":
		return cmdVersion(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// newFlagSet returns a flag set that prints its usage to stderr and
// returns errors instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gatehouse %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning a flag mistake into a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	return nil
}
