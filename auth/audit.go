package auth

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
)

// The audit trail is written asynchronously, by one goroutine, in batches.
//
// Why not in the request: on SQLite every write is a transaction that
// queues for the one write lock, so a synchronous insert would add a whole
// write to every login, and a flood of failed logins would become a flood
// of writes competing with real ones. Batched, a burst of events costs one
// transaction. A login answers without waiting for its event; the event is
// in the store a few milliseconds later (Flush waits for it, which GET
// /api/audit does, so a user always sees their own latest events).
//
// What may be lost: on a graceful shutdown nothing (Close drains the queue
// after the HTTP server has finished its requests, and an event recorded
// after Close is written synchronously); on a crash or SIGKILL, the events
// of the last moments that were still queued. When the store is down, a
// batch is retried for a few seconds and then dropped with an error in
// the log and the dropped count (gatehouse_audit_dropped_events_total).
const (
	auditQueue     = 4096            // events waiting at most
	auditBatch     = 256             // events per transaction at most
	auditFullWait  = time.Second     // how long Record waits for room in a full queue
	auditWriteWait = 5 * time.Second // one batch's deadline
	throttleQuiet  = time.Minute     // a repeated throttled event is kept once per minute
)

// auditItem is an event, or a flush marker to close once everything queued
// before it is written.
type auditItem struct {
	e     gatehouse.AuditEvent
	flush chan struct{}
}

// auditWriter queues audit events and writes them in batches.
type auditWriter struct {
	store gatehouse.AuditStore
	log   *slog.Logger
	ch    chan auditItem
	done  chan struct{}

	mu     sync.RWMutex // held for reading while sending on ch; Close takes it to close ch
	closed bool

	dropped atomic.Int64

	quietMu sync.Mutex
	quiet   map[gatehouse.AuditEvent]time.Time // throttled events seen lately, by who and where
}

func newAuditWriter(store gatehouse.AuditStore, log *slog.Logger) *auditWriter {
	w := &auditWriter{store: store, log: log, ch: make(chan auditItem, auditQueue),
		done: make(chan struct{}), quiet: map[gatehouse.AuditEvent]time.Time{}}
	go w.run()
	return w
}

// enqueue queues e. A throttled event repeated by the same client for the
// same name within throttleQuiet is counted (by the Observer) but kept
// once: throttling is what a flood gets, and the flood must not fill the
// store. After Close, e is written at once.
func (w *auditWriter) enqueue(e gatehouse.AuditEvent) {
	if e.Type == gatehouse.AuditThrottled && w.repeated(e) {
		return
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.write([]*gatehouse.AuditEvent{&e})
		return
	}
	select {
	case w.ch <- auditItem{e: e}:
		return
	default:
	}
	t := time.NewTimer(auditFullWait)
	defer t.Stop()
	select {
	case w.ch <- auditItem{e: e}:
	case <-t.C:
		w.dropped.Add(1)
		w.log.Error("audit queue full: event dropped", "type", e.Type, "user_id", e.UserID)
	}
}

func (w *auditWriter) repeated(e gatehouse.AuditEvent) bool {
	key := gatehouse.AuditEvent{Type: e.Type, Username: e.Username, IP: e.IP, Reason: e.Reason}
	w.quietMu.Lock()
	defer w.quietMu.Unlock()
	if last, ok := w.quiet[key]; ok && e.Time.Sub(last) < throttleQuiet {
		return true
	}
	if len(w.quiet) >= 10_000 {
		for k, t := range w.quiet {
			if e.Time.Sub(t) >= throttleQuiet {
				delete(w.quiet, k)
			}
		}
	}
	w.quiet[key] = e.Time
	return false
}

// run writes what arrives until the queue is closed and empty.
func (w *auditWriter) run() {
	defer close(w.done)
	batch := make([]*gatehouse.AuditEvent, 0, auditBatch)
	var flushes []chan struct{}
	add := func(it auditItem) {
		if it.flush != nil {
			flushes = append(flushes, it.flush)
		} else {
			batch = append(batch, &it.e)
		}
	}
	for it := range w.ch {
		add(it)
	drain:
		for len(batch) < auditBatch {
			select {
			case it, ok := <-w.ch:
				if !ok {
					break drain
				}
				add(it)
			default:
				break drain
			}
		}
		w.write(batch)
		for _, f := range flushes {
			close(f)
		}
		batch, flushes = batch[:0], flushes[:0]
	}
}

// write stores a batch, retrying while the store is unavailable.
func (w *auditWriter) write(batch []*gatehouse.AuditEvent) {
	if len(batch) == 0 {
		return
	}
	var err error
	for attempt, pause := 0, 100*time.Millisecond; attempt < 3; attempt, pause = attempt+1, pause*4 {
		if attempt > 0 {
			time.Sleep(pause)
		}
		ctx, cancel := context.WithTimeout(context.Background(), auditWriteWait)
		err = w.store.AppendAudit(ctx, batch)
		cancel()
		if err == nil || gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
			break
		}
	}
	if err != nil {
		w.dropped.Add(int64(len(batch)))
		w.log.Error("audit events not written", "events", len(batch), "err", err)
	}
}

// flush waits until every event queued before it has been written.
func (w *auditWriter) flush(ctx context.Context) error {
	done := make(chan struct{})
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return nil
	}
	select {
	case w.ch <- auditItem{flush: done}:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the queue and waits until everything in it is written.
func (w *auditWriter) close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("audit: %d events still queued at shutdown: %w", len(w.ch), ctx.Err())
	}
}

// Close writes the audit events still queued and stops the writer. Call it
// after the last request has finished (after http.Server.Shutdown) and
// before closing the store; an event recorded later is written at once.
func (s *Service) Close(ctx context.Context) error { return s.audit.close(ctx) }

// AuditQueued returns how many audit events wait to be written.
func (s *Service) AuditQueued() int { return len(s.audit.ch) }

// AuditDropped returns how many audit events could not be written since
// the start (queue full, or the store down for longer than the retries).
func (s *Service) AuditDropped() int64 { return s.audit.dropped.Load() }

// AuditEvents returns the principal's own most recent audit events, newest
// first, at most limit. It waits (briefly) for the events still queued, so
// that the login that made the token is already listed.
func (s *Service) AuditEvents(ctx context.Context, p *Principal, limit int) ([]*gatehouse.AuditEvent, error) {
	fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.audit.flush(fctx); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "audit flush before listing timed out", "err", err)
	}
	return s.store.AuditEvents(ctx, gatehouse.AuditFilter{UserID: p.UserID, Limit: limit})
}
