package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Revoked is the in-memory set of revoked sessions whose access tokens
// could still be unexpired. The authenticated path asks it on every
// request, so a lookup is one lock-free read of a concurrent map
// (sync.Map); a revocation is one insert into it, whatever the size of the
// set. (A copy-on-write map made the lookup as cheap but cost every
// logout a copy of the whole set: 65 ms a logout with 100,000 revocations
// live, see BenchmarkRevokedAdd.)
//
// It holds only sessions revoked within the last access-token lifetime, so
// it stays small; expired entries are swept out at most sweepEvery after
// they expire. This instance adds its own revocations at once (Add);
// revocations made by other instances sharing the store arrive through
// Sync, which follows the store's revocation feed.
type Revoked struct {
	m  sync.Map     // session id → time.Time until which it is revoked
	n  atomic.Int64 // entries in m, expired or not
	mu sync.Mutex   // serialises writers

	cursor int64        // highest Seq seen; guarded by mu
	synced time.Time    // time of the last successful Sync; guarded by mu
	stats  RevokedStats // guarded by mu
	lag    func(time.Duration)
	swept  time.Time // time of the last sweep; guarded by mu
}

// RevokedStats describes how a Revoked set follows the store, for metrics.
type RevokedStats struct {
	Sessions int           // revoked sessions held now
	Cursor   int64         // highest revocation Seq seen
	Syncs    uint64        // successful Syncs
	Failures uint64        // failed Syncs
	LastSync time.Time     // time of the last successful Sync
	Learned  uint64        // revocations made elsewhere that Sync brought in
	LagTotal time.Duration // sum over Learned of (time learned - RevokedAt)
	LagMax   time.Duration // the largest of those lags
}

// Stats returns a snapshot of the set's counters. The mean propagation lag
// is LagTotal / Learned; it includes clock skew between instances.
func (r *Revoked) Stats() RevokedStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats
	st.Sessions, st.Cursor, st.LastSync = r.Len(), r.cursor, r.synced
	return st
}

// ObserveLag sets a function that Sync calls with the propagation lag of
// each revocation it learns (time learned minus RevokedAt), for a
// histogram. It must be fast; nil removes it.
func (r *Revoked) ObserveLag(fn func(time.Duration)) {
	r.mu.Lock()
	r.lag = fn
	r.mu.Unlock()
}

// sweepEvery is how often a write sweeps expired entries out. A sweep
// visits every entry, so its cost spread over the writes stays small.
const sweepEvery = 10 * time.Second

// NewRevoked returns an empty set.
func NewRevoked() *Revoked { return &Revoked{} }

// Has reports whether session sid was revoked and its tokens could still
// be alive at now.
func (r *Revoked) Has(sid string, now time.Time) bool {
	until, ok := r.m.Load(sid)
	return ok && now.Before(until.(time.Time))
}

// Len returns how many sessions the set holds, including expired ones not
// yet swept out.
func (r *Revoked) Len() int { return int(r.n.Load()) }

// Add records revocations. A write also sweeps out the entries that have
// expired, every sweepEvery, so the set cleans itself.
func (r *Revoked) Add(now time.Time, revs ...gatehouse.Revocation) {
	if len(revs) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(now, revs)
}

func (r *Revoked) addLocked(now time.Time, revs []gatehouse.Revocation) {
	for _, rv := range revs {
		if until, ok := r.m.Load(rv.SessionID); !ok || rv.Until.After(until.(time.Time)) {
			if _, loaded := r.m.Swap(rv.SessionID, rv.Until); !loaded {
				r.n.Add(1)
			}
		}
		r.cursor = max(r.cursor, rv.Seq)
	}
	r.sweepLocked(now)
}

// sweepLocked drops the entries expired at now, if the last sweep is
// sweepEvery old.
func (r *Revoked) sweepLocked(now time.Time) {
	if now.Sub(r.swept) < sweepEvery {
		return
	}
	r.m.Range(func(sid, until any) bool {
		if !now.Before(until.(time.Time)) {
			r.m.Delete(sid)
			r.n.Add(-1)
		}
		return true
	})
	r.swept = now
}

// lateCommit is how far back Sync re-reads revocations by time as well as
// by cursor: a transaction that took its Seq earlier but committed after a
// later one would otherwise be skipped by the cursor.
const lateCommit = 10 * time.Second

// Sync reads the revocations the store has recorded since the last Sync
// (all live ones on the first call) and adds them.
func (r *Revoked) Sync(ctx context.Context, store gatehouse.SessionStore, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	since := time.Time{}
	if !r.synced.IsZero() {
		since = r.synced.Add(-lateCommit)
	}
	revs, err := store.Revocations(ctx, r.cursor, since, now)
	if err != nil {
		r.stats.Failures++
		return err
	}
	for _, rv := range revs {
		if until, ok := r.m.Load(rv.SessionID); (!ok || rv.Until.After(until.(time.Time))) && !r.synced.IsZero() {
			// New here; the first Sync loads the backlog: no lag to tell.
			r.learned(now.Sub(rv.RevokedAt))
		}
	}
	r.addLocked(now, revs)
	r.synced = now
	r.stats.Syncs++
	return nil
}

// learned counts one revocation brought in by Sync; mu is held.
func (r *Revoked) learned(lag time.Duration) {
	lag = max(lag, 0)
	r.stats.Learned++
	r.stats.LagTotal += lag
	r.stats.LagMax = max(r.stats.LagMax, lag)
	if r.lag != nil {
		r.lag(lag)
	}
}
