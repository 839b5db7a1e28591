package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
)

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gatehouse %s\n", gatehouse.Version)
	return nil
}

func cmdMigrate(ctx context.Context, args []string, env func() (*config, error), stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "migrate", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := env()
	if err != nil {
		return err
	}
	db, err := sqldb.Open(ctx, cfg.DatabaseURL, cfg.DB)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stdout, "migrations applied (%s)\n", db.Dialect())
	return nil
}

const userUsage = `user add NAME     (reads the password from standard input)
       gatehouse user list
       gatehouse user delete NAME`

func cmdUser(ctx context.Context, args []string, env func() (*config, error), stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("user", userUsage, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sub, rest := fs.Arg(0), fs.Args()
	if len(rest) > 0 {
		rest = rest[1:]
	}
	want := map[string]int{"add": 1, "delete": 1, "list": 0}
	n, ok := want[sub]
	if !ok || len(rest) != n {
		fs.Usage()
		return &usageError{"user: expected add NAME, list or delete NAME"}
	}
	cfg, err := env()
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	switch sub {
	case "add":
		return a.userAdd(ctx, rest[0], stdin, stdout)
	case "delete":
		return a.userDelete(ctx, rest[0], stdout)
	}
	return a.userList(ctx, stdout)
}

func (a *app) userAdd(ctx context.Context, name string, stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read password: %w", err)
	}
	u, err := a.auth.Register(ctx, name, strings.TrimRight(line, "\r\n"))
	if err != nil {
		return userError(err)
	}
	fmt.Fprintf(stdout, "created user %s (id %s)\n", u.Username, u.ID)
	return nil
}

func (a *app) userDelete(ctx context.Context, name string, stdout io.Writer) error {
	u, err := a.store.UserByUsername(ctx, name)
	if err == nil {
		err = a.auth.DeleteUser(ctx, u.ID)
	}
	if err != nil {
		return userError(err)
	}
	fmt.Fprintf(stdout, "deleted user %s and revoked their sessions\n", u.Username)
	return nil
}

func (a *app) userList(ctx context.Context, stdout io.Writer) error {
	users, err := a.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tCREATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.ID, u.Username, u.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// userError shows a gatehouse error by its message, not its Go form.
func userError(err error) error {
	if c := gatehouse.ErrorCode(err); c != gatehouse.EINTERNAL {
		return fmt.Errorf("%s (%s)", gatehouse.ErrorMessage(err), c)
	}
	return err
}

func cmdHashCost(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hash-cost", "hash-cost [-target 250ms]", stderr)
	target := fs.Duration("target", 250*time.Millisecond, "how long one hash should take")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	best := 0
	for cost := 8; cost <= 15; cost++ {
		h := auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: cost}
		start := time.Now()
		if _, err := h.Hash("a password of a usual length"); err != nil {
			return err
		}
		d := time.Since(start)
		fmt.Fprintf(stdout, "cost %2d: %v\n", cost, d.Round(time.Millisecond))
		if d <= *target || best == 0 {
			best = cost
		}
		if d > *target*2 {
			break
		}
	}
	fmt.Fprintf(stdout, "BCRYPT_COST=%d is the highest cost within %v on this machine\n", best, *target)
	return nil
}
