package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// keysCommands list and rotate the EdDSA signing keys kept in the store.
// Running instances follow a rotation without a restart: they read the
// keys every few seconds, and at once when a token names a key they do not
// know.
var keysCommands = []command{
	{name: "list", nargs: [2]int{0, 0}, run: keysList, about: "list the token signing keys (never their private part)"},
	{name: "rotate", nargs: [2]int{0, 0}, run: keysRotate, about: "make a new signing key: published now, signing once caches have seen it",
		flags: func(fs *flag.FlagSet, o *cliOpts) {
			fs.BoolVar(&o.now, "now", false, "sign with the new key at once (for a key that must stop signing now) instead of after publishing it ahead")
		}},
}

func cmdKeys(ctx context.Context, args []string, env func() (*config, error), stdin io.Reader, stdout, stderr io.Writer) error {
	return group(ctx, "keys", keysCommands, args, env, stdin, stdout, stderr)
}

type keyJSON struct {
	KID         string  `json:"kid"`
	Algorithm   string  `json:"algorithm"`
	State       string  `json:"state"`
	CreatedAt   *string `json:"created_at"`
	NotBefore   *string `json:"not_before"`
	RetireAt    *string `json:"retire_at"`
	DeleteAfter *string `json:"delete_after"`
	Stored      bool    `json:"stored"`
}

func keysList(ctx context.Context, a *app, c *cli) error {
	var out []keyJSON
	if a.keys.Algorithm() == "HS256" {
		// The key is JWT_SECRET itself: nothing is stored, only its kid is shown.
		for _, kid := range a.keys.KeyIDs() {
			out = append(out, keyJSON{KID: kid, Algorithm: "HS256", State: "signing"})
		}
	} else {
		keys, err := a.auth.ListKeys(ctx)
		if err != nil {
			return userError(err)
		}
		out = keysJSON(keys)
	}
	rows := make([][]string, 0, len(out))
	for _, k := range out {
		rows = append(rows, []string{k.KID, k.Algorithm, k.State, strOr(k.CreatedAt), strOr(k.NotBefore), strOr(k.RetireAt), strOr(k.DeleteAfter)})
	}
	return c.output(map[string]any{"algorithm": a.keys.Algorithm(), "rotation_interval": a.cfg.KeyRotation.String(), "keys": out}, func(w io.Writer) error {
		if a.keys.Algorithm() == "HS256" {
			fmt.Fprintln(w, "HS256 mode: the key is JWT_SECRET; it is not stored")
		}
		if err := table(w, "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tRETIRES\tDELETED AFTER", rows); err != nil {
			return err
		}
		if a.keys.Algorithm() == "HS256" {
			return nil
		}
		if r := a.cfg.KeyRotation; r > 0 {
			_, err := fmt.Fprintf(w, "\nautomatic rotation every %v (KEY_ROTATION_INTERVAL)\n", r)
			return err
		}
		_, err := fmt.Fprintln(w, "\nautomatic rotation is off (KEY_ROTATION_INTERVAL=0)")
		return err
	})
}

func keysRotate(ctx context.Context, a *app, c *cli) error {
	k, err := a.auth.RotateKey(ctx, c.opts.now)
	if err != nil {
		return userError(err)
	}
	if !c.opts.json {
		fmt.Fprintf(c.stdout, "new signing key %s: published now, signs from %s\n", k.ID, k.NotBefore.UTC().Format(time.RFC3339))
	}
	return keysList(ctx, a, c)
}

// keysJSON describes stored keys with the states auth.ListKeys gives
// (signing, next, verifying, retired).
func keysJSON(keys []auth.KeyInfo) []keyJSON {
	out := make([]keyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyJSON{KID: k.ID, Algorithm: "EdDSA", State: k.State, Stored: true,
			CreatedAt: timeJSON(k.CreatedAt), NotBefore: timeJSON(k.NotBefore), RetireAt: timeJSON(k.RetireAt), DeleteAfter: timeJSON(k.DeleteAfter)})
	}
	return out
}

func strOr(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
