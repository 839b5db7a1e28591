package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse"
)

var userCommands = []command{
	{name: "add", args: "NAME", nargs: [2]int{1, 1}, run: userAdd,
		about: "create a user; the password is read from the first line of standard input"},
	{name: "list", nargs: [2]int{0, 0}, run: userList, about: "list every user"},
	{name: "show", args: "NAME", nargs: [2]int{1, 1}, run: userShow,
		about: "show a user: lock, active sessions, last login"},
	{name: "lock", args: "NAME", nargs: [2]int{1, 1}, run: userLock,
		about: "lock a user out and revoke all of their sessions"},
	{name: "unlock", args: "NAME", nargs: [2]int{1, 1}, run: userUnlock, about: "let a locked user log in again"},
	{name: "reset-mfa", args: "NAME", nargs: [2]int{1, 1}, run: userResetMFA,
		about: "remove a user's second factors (TOTP, recovery codes, passkeys) and revoke all of their sessions"},
	{name: "delete", args: "NAME", nargs: [2]int{1, 1}, run: userDelete,
		about: "delete a user and revoke all of their sessions"},
}

func cmdUser(ctx context.Context, args []string, env func() (*config, error), stdin io.Reader, stdout, stderr io.Writer) error {
	return group(ctx, "user", userCommands, args, env, stdin, stdout, stderr)
}

// userJSON is a user in --json output: never the password hash.
type userJSON struct {
	ID             string  `json:"id"`
	Username       string  `json:"username"`
	CreatedAt      *string `json:"created_at"`
	UpdatedAt      *string `json:"updated_at"`
	LockedAt       *string `json:"locked_at"`
	ActiveSessions *int    `json:"active_sessions,omitempty"`
	LastLoginAt    *string `json:"last_login_at,omitempty"`
}

func toUserJSON(u *gatehouse.User) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, CreatedAt: timeJSON(u.CreatedAt),
		UpdatedAt: timeJSON(u.UpdatedAt), LockedAt: timeJSON(u.LockedAt)}
}

// lookupUser finds a user by name (without regard to case).
func (a *app) lookupUser(ctx context.Context, name string) (*gatehouse.User, error) {
	u, err := a.store.UserByUsername(ctx, name)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, &codedError{gatehouse.Errorf(gatehouse.ENOTFOUND, "no user %q", name)}
	}
	return u, userError(err)
}

func userAdd(ctx context.Context, a *app, c *cli) error {
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read password: %w", err)
	}
	u, err := a.auth.Register(ctx, c.args[0], strings.TrimRight(line, "\r\n"))
	if err != nil {
		return userError(err)
	}
	return c.output(map[string]any{"user": toUserJSON(u)}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "created user %s (id %s)\n", u.Username, u.ID)
		return err
	})
}

func userList(ctx context.Context, a *app, c *cli) error {
	users, err := a.store.ListUsers(ctx)
	if err != nil {
		return userError(err)
	}
	out := make([]userJSON, 0, len(users))
	rows := make([][]string, 0, len(users))
	for _, u := range users {
		out = append(out, toUserJSON(u))
		rows = append(rows, []string{u.ID, u.Username, timeText(u.CreatedAt), lockText(u)})
	}
	return c.output(map[string]any{"users": out}, func(w io.Writer) error {
		return table(w, "ID\tUSERNAME\tCREATED\tLOCKED", rows)
	})
}

func lockText(u *gatehouse.User) string {
	if u.LockedAt.IsZero() {
		return "no"
	}
	return "since " + timeText(u.LockedAt)
}

func userShow(ctx context.Context, a *app, c *cli) error {
	u, err := a.lookupUser(ctx, c.args[0])
	if err != nil {
		return err
	}
	sessions, err := a.store.ListSessions(ctx, u.ID, a.now())
	if err != nil {
		return userError(err)
	}
	logins, err := a.store.AuditEvents(ctx, gatehouse.AuditFilter{UserID: u.ID, Types: []string{gatehouse.AuditLogin}, Limit: 1})
	if err != nil {
		return userError(err)
	}
	out := toUserJSON(u)
	n := len(sessions)
	out.ActiveSessions = &n
	last := "-"
	if len(logins) > 0 {
		out.LastLoginAt = timeJSON(logins[0].Time)
		last = timeText(logins[0].Time) + " from " + logins[0].IP
	}
	return c.output(map[string]any{"user": out}, func(w io.Writer) error {
		return table(w, "FIELD\tVALUE", [][]string{
			{"id", u.ID}, {"username", u.Username}, {"created", timeText(u.CreatedAt)},
			{"updated", timeText(u.UpdatedAt)}, {"locked", lockText(u)},
			{"active sessions", fmt.Sprint(n)}, {"last login", last},
		})
	})
}

func userLock(ctx context.Context, a *app, c *cli) error {
	u, err := a.lookupUser(ctx, c.args[0])
	if err != nil {
		return err
	}
	n, err := a.auth.LockUser(ctx, u.ID)
	if err != nil {
		return userError(err)
	}
	if u, err = a.store.UserByID(ctx, u.ID); err != nil {
		return userError(err)
	}
	return c.output(map[string]any{"user": toUserJSON(u), "revoked_sessions": n}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "locked user %s and revoked %d sessions\n", u.Username, n)
		return err
	})
}

func userUnlock(ctx context.Context, a *app, c *cli) error {
	u, err := a.lookupUser(ctx, c.args[0])
	if err != nil {
		return err
	}
	if err := a.auth.UnlockUser(ctx, u.ID); err != nil {
		return userError(err)
	}
	if u, err = a.store.UserByID(ctx, u.ID); err != nil {
		return userError(err)
	}
	return c.output(map[string]any{"user": toUserJSON(u)}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "unlocked user %s\n", u.Username)
		return err
	})
}

func userDelete(ctx context.Context, a *app, c *cli) error {
	u, err := a.lookupUser(ctx, c.args[0])
	if err != nil {
		return err
	}
	if err := a.auth.DeleteUser(ctx, u.ID); err != nil {
		return userError(err)
	}
	return c.output(map[string]any{"deleted": toUserJSON(u)}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "deleted user %s and revoked their sessions\n", u.Username)
		return err
	})
}

// userResetMFA is for a user who lost both the authenticator and the
// recovery codes: after it, the password alone logs in again.
func userResetMFA(ctx context.Context, a *app, c *cli) error {
	u, err := a.lookupUser(ctx, c.args[0])
	if err != nil {
		return err
	}
	removed, n, err := a.auth.ResetSecondFactors(ctx, u.ID)
	if err != nil {
		return userError(err)
	}
	return c.output(map[string]any{"user": toUserJSON(u), "removed": removed, "revoked_sessions": n}, func(w io.Writer) error {
		if !removed {
			_, err := fmt.Fprintf(w, "user %s has no second factor\n", u.Username)
			return err
		}
		_, err := fmt.Fprintf(w, "removed the second factor of user %s and revoked %d sessions\n", u.Username, n)
		return err
	})
}
