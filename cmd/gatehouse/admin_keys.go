package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse"
)

// keys rotate is issue 6's (key rotation); until it lands, keys has list.
var keysCommands = []command{
	{name: "list", nargs: [2]int{0, 0}, run: keysList, about: "list the token signing keys (never their private part)"},
}

func cmdKeys(ctx context.Context, args []string, env func() (*config, error), stdin io.Reader, stdout, stderr io.Writer) error {
	return group(ctx, "keys", keysCommands, args, env, stdin, stdout, stderr)
}

type keyJSON struct {
	KID       string  `json:"kid"`
	Algorithm string  `json:"algorithm"`
	State     string  `json:"state"`
	CreatedAt *string `json:"created_at"`
	NotBefore *string `json:"not_before"`
	RetireAt  *string `json:"retire_at"`
	Stored    bool    `json:"stored"`
}

func keysList(ctx context.Context, a *app, c *cli) error {
	var out []keyJSON
	if a.keys.Algorithm() == "HS256" {
		// The key is JWT_SECRET itself: nothing is stored, only its kid is shown.
		for _, kid := range a.keys.KeyIDs() {
			out = append(out, keyJSON{KID: kid, Algorithm: "HS256", State: "signing"})
		}
	} else {
		keys, err := a.store.SigningKeys(ctx)
		if err != nil {
			return userError(err)
		}
		out = edKeysJSON(keys, a.now())
	}
	rows := make([][]string, 0, len(out))
	for _, k := range out {
		rows = append(rows, []string{k.KID, k.Algorithm, k.State, strOr(k.CreatedAt), strOr(k.NotBefore), strOr(k.RetireAt)})
	}
	return c.output(map[string]any{"algorithm": a.keys.Algorithm(), "keys": out}, func(w io.Writer) error {
		if a.keys.Algorithm() == "HS256" {
			fmt.Fprintln(w, "HS256 mode: the key is JWT_SECRET; it is not stored")
		}
		return table(w, "KID\tALG\tSTATE\tCREATED\tNOT BEFORE\tRETIRE AT", rows)
	})
}

// edKeysJSON describes stored keys: the newest that may sign now is
// "signing"; one whose NotBefore is still ahead is "next" (published, not
// yet signing); the others verify the tokens they signed ("verifying").
func edKeysJSON(keys []*gatehouse.SigningKey, now time.Time) []keyJSON {
	signer := -1
	for i, k := range keys {
		if !now.Before(k.NotBefore) && (k.RetireAt.IsZero() || now.Before(k.RetireAt)) {
			signer = i // keys are oldest first: the last match is the newest
		}
	}
	out := make([]keyJSON, 0, len(keys))
	for i, k := range keys {
		state := "verifying"
		switch {
		case i == signer:
			state = "signing"
		case now.Before(k.NotBefore):
			state = "next"
		}
		out = append(out, keyJSON{KID: k.ID, Algorithm: k.Algorithm, State: state, Stored: true,
			CreatedAt: timeJSON(k.CreatedAt), NotBefore: timeJSON(k.NotBefore), RetireAt: timeJSON(k.RetireAt)})
	}
	return out
}

func strOr(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
