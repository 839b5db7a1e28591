package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

var auditAbout = "list the audit trail, newest first: the security events (types: " +
	strings.Join(gatehouse.AuditTypes, ", ") + ")"

var auditCommand = command{name: "audit", nargs: [2]int{0, 0}, run: auditList, about: auditAbout,
	check: func(c *cli) error { _, err := auditFilter(c.opts, time.Now()); return err },
	flags: func(fs *flag.FlagSet, o *cliOpts) {
		fs.StringVar(&o.user, "user", "", "only this user's events (a username, or the id of a deleted user)")
		fs.StringVar(&o.types, "type", "", "only these event types, comma-separated")
		fs.StringVar(&o.since, "since", "", "only events since: a duration back from now (24h), a date (2026-01-31) or an RFC 3339 time")
		fs.IntVar(&o.limit, "limit", 100, "at most this many events (1 to 10000)")
	}}

func cmdAudit(ctx context.Context, args []string, env func() (*config, error), stdin io.Reader, stdout, stderr io.Writer) error {
	return runCommand(ctx, "", auditCommand, args, env, stdin, stdout, stderr)
}

type auditJSON struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Time      string `json:"time"`
	UserID    string `json:"user_id"`
	Username  string `json:"username"`
	SessionID string `json:"session_id"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	Reason    string `json:"reason"`
}

// auditFilter turns the flags into a filter; a bad flag value is a usage
// error (exit 2), checked before the store is asked.
func auditFilter(o cliOpts, now time.Time) (gatehouse.AuditFilter, error) {
	f := gatehouse.AuditFilter{Limit: o.limit}
	if o.limit < 1 || o.limit > 10_000 {
		return f, &usageError{"audit: --limit must be from 1 to 10000"}
	}
	if o.types != "" {
		for _, t := range strings.Split(o.types, ",") {
			if t = strings.TrimSpace(t); !gatehouse.IsAuditType(t) {
				return f, &usageError{fmt.Sprintf("audit: unknown --type %q (one of %s)", t, strings.Join(gatehouse.AuditTypes, ", "))}
			}
			f.Types = append(f.Types, strings.TrimSpace(t))
		}
	}
	if o.since != "" {
		since, err := parseSince(o.since, now)
		if err != nil {
			return f, &usageError{"audit: " + err.Error()}
		}
		f.Since = since
	}
	return f, nil
}

func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q is not a duration (24h), a date (2026-01-31) or an RFC 3339 time", v)
}

func auditList(ctx context.Context, a *app, c *cli) error {
	f, err := auditFilter(c.opts, a.now())
	if err != nil {
		return err
	}
	if c.opts.user != "" {
		f.UserID = c.opts.user // the id of a deleted user
		if u, err := a.store.UserByUsername(ctx, c.opts.user); err == nil {
			f.UserID = u.ID
		} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return userError(err)
		}
	}
	events, err := a.store.AuditEvents(ctx, f)
	if err != nil {
		return userError(err)
	}
	out := make([]auditJSON, 0, len(events))
	rows := make([][]string, 0, len(events))
	for _, e := range events {
		out = append(out, auditJSON{ID: strconv.FormatInt(e.ID, 10), Type: e.Type, Time: e.Time.UTC().Format(time.RFC3339Nano),
			UserID: e.UserID, Username: e.Username, SessionID: e.SessionID, IP: e.IP, UserAgent: e.UserAgent, Reason: e.Reason})
		rows = append(rows, []string{strconv.FormatInt(e.ID, 10), timeText(e.Time), e.Type, dash(e.Reason),
			dash(e.Username), dash(e.IP), dash(e.SessionID), dash(e.UserAgent)})
	}
	return c.output(map[string]any{"events": out}, func(w io.Writer) error {
		return table(w, "ID\tTIME\tTYPE\tREASON\tUSER\tIP\tSESSION\tUSER AGENT", rows)
	})
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
