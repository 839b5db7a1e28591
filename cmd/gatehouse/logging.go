package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/web"
)

// newLogger returns the configured logger: text or JSON on w, at the
// configured level, with every line of a request carrying its request_id
// (web.LogHandler), and any attribute whose key names a secret redacted.
func newLogger(cfg *config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redact}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(web.LogHandler(h))
}

// lockedWriter serializes the writes of the log handler and of the
// access log, which writes its lines directly (web.Deps.AccessLogText).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// accessLogText is where the access log writes its lines directly: the
// log's output in the text format; nil in JSON, whose lines go through
// the handler.
func (a *app) accessLogText() io.Writer {
	if a.cfg.LogFormat == "json" {
		return nil
	}
	return a.logOut
}

// secretKeys are the words that mark an attribute as a secret. gatehouse
// never logs one (a test runs every flow at debug level and searches the
// log for each secret); this is the second line, for a mistake to come.
var secretKeys = []string{"password", "token", "secret", "hash", "authorization", "cookie", "private"}

// redact replaces the value of an attribute whose key names a secret.
func redact(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range secretKeys {
		if strings.Contains(k, s) {
			return slog.String(a.Key, "[redacted]")
		}
	}
	return a
}

// purgeAudit deletes the audit events older than AUDIT_RETENTION, and the
// sessions (with their refresh tokens) and revocations that have ended, now and then
// every interval until ctx ends. Several instances purging the same store
// do no harm: the deletes are idempotent.
func (a *app) purgeAudit(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := a.store.DeleteAuditBefore(ctx, time.Now().Add(-a.cfg.AuditRetention))
		if err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "audit purge failed", "err", err)
		} else if n > 0 {
			a.log.InfoContext(ctx, "audit events purged", "events", n, "retention", a.cfg.AuditRetention.String())
		}
		// Sessions (with their refresh tokens) and revocations that have
		// ended are of no use to anyone: without this they would pile up for ever.
		n, err = a.store.DeleteExpired(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "expired sessions purge failed", "err", err)
		} else if n > 0 {
			a.log.InfoContext(ctx, "expired sessions purged", "rows", n)
		}
		a.purgeMail(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
