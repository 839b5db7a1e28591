package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

const keysUsage = `keys list
       gatehouse keys rotate [-now]`

// cmdKeys lists or rotates the EdDSA signing keys kept in the store.
// Running instances follow a rotation without a restart: they read the
// keys every few seconds, and at once when a token names a key they do not
// know.
func cmdKeys(ctx context.Context, args []string, env func() (*config, error), stdout, stderr io.Writer) error {
	fs := newFlagSet("keys", keysUsage, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sub := fs.Arg(0)
	rfs := newFlagSet("keys rotate", "keys rotate [-now]", stderr)
	now := rfs.Bool("now", false, "sign with the new key at once (for a key that must stop signing now) instead of after publishing it ahead")
	switch {
	case sub == "list" && fs.NArg() == 1:
	case sub == "rotate":
		if err := parseFlags(rfs, fs.Args()[1:]); err != nil {
			return err
		}
		if rfs.NArg() == 0 {
			break
		}
		fallthrough
	default:
		fs.Usage()
		return &usageError{"keys: expected list or rotate [-now]"}
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
	if sub == "rotate" {
		k, err := a.auth.RotateKey(ctx, *now)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s: published now, signs from %s\n", k.ID, k.NotBefore.UTC().Format(time.RFC3339))
	}
	return a.keysList(ctx, stdout)
}

func (a *app) keysList(ctx context.Context, stdout io.Writer) error {
	keys, err := a.auth.ListKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATE\tCREATED\tSIGNS FROM\tRETIRES\tDELETED AFTER")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.State, stamp(k.CreatedAt), stamp(k.NotBefore), stamp(k.RetireAt), stamp(k.DeleteAfter))
	}
	if r := a.cfg.KeyRotation; r > 0 {
		fmt.Fprintf(tw, "\nautomatic rotation every %v (KEY_ROTATION_INTERVAL)\n", r)
	} else {
		fmt.Fprintln(tw, "\nautomatic rotation is off (KEY_ROTATION_INTERVAL=0)")
	}
	return tw.Flush()
}

// stamp formats t for a listing: RFC 3339 in UTC, "-" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
