package mail

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// noticeQueue bounds the events waiting to become notices.
const noticeQueue = 1024

// Notifier turns security events (password changed or reset, email
// changed, a second factor added) into notices mailed to the user's
// verified address, or, for an address being replaced or removed, to
// that one. It is an auth.Observer: Event only hands the event to a
// goroutine, which looks the user up and queues the mail in the outbox,
// so the request that caused it never waits.
type Notifier struct {
	store   gatehouse.Store
	compose *Composer
	log     *slog.Logger
	queued  func()

	ch     chan notice
	done   chan struct{}
	mu     sync.RWMutex
	closed bool
}

type notice struct {
	e  gatehouse.AuditEvent
	to string // auth.NoticeAddress of the event's context, or ""
}

var _ auth.Observer = (*Notifier)(nil)

// NewNotifier starts the notifier; queued (may be nil) is called after
// each mail is queued. Close stops it.
func NewNotifier(store gatehouse.Store, c *Composer, log *slog.Logger, queued func()) *Notifier {
	n := &Notifier{store: store, compose: c, log: log, queued: queued,
		ch: make(chan notice, noticeQueue), done: make(chan struct{})}
	go n.run()
	return n
}

// Event implements auth.Observer. It never blocks: with the queue full,
// the notice is dropped and logged.
func (n *Notifier) Event(ctx context.Context, e gatehouse.AuditEvent) {
	if !Notifies(e.Type) || e.UserID == "" {
		return
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return
	}
	select {
	case n.ch <- notice{e: e, to: auth.NoticeAddress(ctx)}:
	default:
		n.log.Warn("security notice dropped: queue full", "type", e.Type, "user_id", e.UserID)
	}
}

// RevocationLag implements auth.Observer.
func (n *Notifier) RevocationLag(time.Duration) {}

func (n *Notifier) run() {
	defer close(n.done)
	for x := range n.ch {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.notify(ctx, x); err != nil {
			n.log.Error("security notice not queued", "type", x.e.Type, "user_id", x.e.UserID, "err", err)
		}
		cancel()
	}
}

func (n *Notifier) notify(ctx context.Context, x notice) error {
	u, err := n.store.UserByID(ctx, x.e.UserID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	to := x.to
	if to == "" {
		to = u.Email
	}
	if to == "" {
		return nil // no verified address: nobody to tell
	}
	m, err := n.compose.Notice(to, u.Username, x.e)
	if err != nil || m == nil {
		return err
	}
	if err := n.store.QueueMail(ctx, nil, m); err != nil {
		return err
	}
	if n.queued != nil {
		n.queued()
	}
	return nil
}

// Flush waits until the notices handed over so far are queued, for tests.
func (n *Notifier) Flush(ctx context.Context) error {
	for len(n.ch) > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Close queues the notices still waiting and stops.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.ch)
	}
	n.mu.Unlock()
	select {
	case <-n.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
