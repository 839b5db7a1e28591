package mail

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse"
)

// OutboxOptions tunes the sender loop. Zero fields take the defaults.
type OutboxOptions struct {
	Poll        time.Duration // how often the outbox is read when nobody wakes it; 5s
	Lease       time.Duration // how long a claimed message is this sender's; 2m
	FirstRetry  time.Duration // the pause after the first failure, doubling after each; 30s
	MaxRetry    time.Duration // the longest pause; 1h
	MaxAttempts int           // attempts before a message is given up; 12 (about 8 hours)
	Batch       int           // messages claimed at once; 10
}

func (o OutboxOptions) withDefaults() OutboxOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Poll, 5*time.Second)
	def(&o.Lease, 2*time.Minute)
	def(&o.FirstRetry, 30*time.Second)
	def(&o.MaxRetry, time.Hour)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.Batch <= 0 {
		o.Batch = 10
	}
	return o
}

// Outbox sends the messages queued in the store. Requests only queue
// (in the same transaction as their token), so a slow or failed mail
// server never holds up or loses a request; the outbox retries with
// exponential backoff. Every instance may run one: a message is claimed
// by one sender at a time (EmailStore.ClaimMail), for Lease, so it is
// sent twice only if a sender dies after the server took the message and
// before it recorded that.
type Outbox struct {
	store  gatehouse.EmailStore
	sender Sender
	log    *slog.Logger
	opts   OutboxOptions
	wake   chan struct{}
	now    func() time.Time
}

// NewOutbox returns the sender loop; Run runs it.
func NewOutbox(store gatehouse.EmailStore, sender Sender, log *slog.Logger, opts OutboxOptions) *Outbox {
	return &Outbox{store: store, sender: sender, log: log, opts: opts.withDefaults(),
		wake: make(chan struct{}, 1), now: time.Now}
}

// Wake makes the loop read the outbox now, without waiting for Poll.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	t := time.NewTicker(o.opts.Poll)
	defer t.Stop()
	for {
		for o.drain(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wake:
		}
	}
}

// drain sends one batch and reports whether there may be more.
func (o *Outbox) drain(ctx context.Context) bool {
	ms, err := o.store.ClaimMail(ctx, o.now().UTC(), o.opts.Lease, o.opts.Batch)
	if err != nil {
		if ctx.Err() == nil {
			o.log.Warn("mail outbox unreadable", "err", err)
		}
		return false
	}
	for _, m := range ms {
		o.send(ctx, m)
	}
	return len(ms) == o.opts.Batch && ctx.Err() == nil
}

func (o *Outbox) send(ctx context.Context, m *gatehouse.Mail) {
	sctx, cancel := context.WithTimeout(ctx, o.opts.Lease/2)
	err := o.sender.Send(sctx, m)
	cancel()
	now := o.now().UTC()
	// The outcome is recorded even while shutting down.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if err == nil {
		if err := o.store.MailSent(rctx, m.ID, now); err != nil {
			o.log.Error("mail sent but not marked sent: it may go out again", "id", m.ID, "err", err)
		}
		o.log.Info("mail sent", "id", m.ID, "subject", m.Subject, "attempts", m.Attempts+1)
		return
	}
	attempts := m.Attempts + 1
	giveUp := IsPermanent(err) || attempts >= o.opts.MaxAttempts
	next := now.Add(o.backoff(attempts))
	if giveUp {
		o.log.Error("mail given up", "id", m.ID, "subject", m.Subject, "attempts", attempts, "err", err)
	} else {
		o.log.Warn("mail not sent, will retry", "id", m.ID, "attempts", attempts, "retry_at", next, "err", err)
	}
	if err := o.store.MailFailed(rctx, m.ID, now, err.Error(), next, giveUp); err != nil {
		o.log.Error("mail failure not recorded", "id", m.ID, "err", err)
	}
}

// backoff is the pause after the nth failure: FirstRetry doubled n-1
// times, at most MaxRetry.
func (o *Outbox) backoff(n int) time.Duration {
	d := o.opts.FirstRetry
	for i := 1; i < n && d < o.opts.MaxRetry; i++ {
		d *= 2
	}
	return min(d, o.opts.MaxRetry)
}
