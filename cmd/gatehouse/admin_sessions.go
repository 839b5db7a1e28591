package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse/gatehouse"
)

var sessionsCommands = []command{
	{name: "list", args: "NAME", nargs: [2]int{1, 1}, run: sessionsList, about: "list a user's active sessions"},
	{name: "revoke", args: "NAME [SESSION_ID]", nargs: [2]int{1, 2}, run: sessionsRevoke,
		about: "revoke one session of a user, or all of them with --all",
		check: func(c *cli) error {
			if c.opts.all == (len(c.args) == 2) {
				return &usageError{"sessions revoke: give either a SESSION_ID or --all"}
			}
			return nil
		},
		flags: func(fs *flag.FlagSet, o *cliOpts) {
			fs.BoolVar(&o.all, "all", false, "revoke every session of the user")
		}},
}

func cmdSessions(ctx context.Context, args []string, env func() (*config, error), stdin io.Reader, stdout, stderr io.Writer) error {
	return group(ctx, "sessions", sessionsCommands, args, env, stdin, stdout, stderr)
}

// now is the time the admin commands compare with.
func (a *app) now() time.Time { return time.Now().UTC() }

type sessionJSON struct {
	ID         string  `json:"id"`
	CreatedAt  *string `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	ExpiresAt  *string `json:"expires_at"`
	UserAgent  string  `json:"user_agent"`
	IP         string  `json:"ip"`
}

func sessionsList(ctx context.Context, a *app, c *cli) error {
	u, err := a.lookupUser(ctx, c.args[0])
	if err != nil {
		return err
	}
	list, err := a.store.ListSessions(ctx, u.ID, a.now())
	if err != nil {
		return userError(err)
	}
	out := make([]sessionJSON, 0, len(list))
	rows := make([][]string, 0, len(list))
	for _, s := range list {
		out = append(out, sessionJSON{ID: s.ID, CreatedAt: timeJSON(s.CreatedAt), LastUsedAt: timeJSON(s.LastUsedAt),
			ExpiresAt: timeJSON(s.ExpiresAt), UserAgent: s.UserAgent, IP: s.IP})
		rows = append(rows, []string{s.ID, timeText(s.CreatedAt), timeText(s.LastUsedAt), timeText(s.ExpiresAt), s.IP, s.UserAgent})
	}
	return c.output(map[string]any{"user": toUserJSON(u), "sessions": out}, func(w io.Writer) error {
		return table(w, "ID\tCREATED\tLAST USED\tEXPIRES\tIP\tUSER AGENT", rows)
	})
}

func sessionsRevoke(ctx context.Context, a *app, c *cli) error {
	u, err := a.lookupUser(ctx, c.args[0])
	if err != nil {
		return err
	}
	sid := ""
	if len(c.args) == 2 {
		sid = c.args[1]
	}
	ids, err := a.auth.RevokeUserSessions(ctx, u.ID, sid)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND && sid != "" {
		return &codedError{gatehouse.Errorf(gatehouse.ENOTFOUND, "no active session %q of user %s", sid, u.Username)}
	} else if err != nil {
		return userError(err)
	}
	return c.output(map[string]any{"user": toUserJSON(u), "revoked": ids}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "revoked %d sessions of %s\n", len(ids), u.Username)
		return err
	})
}
