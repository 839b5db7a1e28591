package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sources are the values read at scrape time rather than counted: they are
// known only once the auth service exists, which itself needs the Metrics
// as its Observer, so they are added after New.
type Sources struct {
	// HashPool is the password-hashing pool (auth.Pool).
	HashPool interface {
		InUse() int
		Waiting() int
		Size() int
	}
	// RevokedLen is the size of the in-memory revocation set.
	RevokedLen func() int
	// AuditQueued and AuditDropped describe the audit writer.
	AuditQueued  func() int
	AuditDropped func() int64
	// ActiveSessions counts the active sessions in the store. It is a
	// query, so its answer is kept for ActiveSessionsTTL between scrapes.
	ActiveSessions    func(ctx context.Context, now time.Time) (int64, error)
	ActiveSessionsTTL time.Duration // 0: 15 s
}

// Watch registers the gauges of src; nil fields are skipped.
func (m *Metrics) Watch(src Sources) {
	f := factory{m.reg}
	if p := src.HashPool; p != nil {
		f.gaugeFunc("hash_pool_in_use", "Password hashes running now.", func() float64 { return float64(p.InUse()) })
		f.gaugeFunc("hash_pool_waiting", "Requests queued for a password-hashing slot (the pool's queue depth).", func() float64 { return float64(p.Waiting()) })
		f.gaugeFunc("hash_pool_size", "Password hashes that may run at once.", func() float64 { return float64(p.Size()) })
	}
	if src.RevokedLen != nil {
		f.gaugeFunc("revoked_sessions", "Revoked sessions whose access tokens could still be alive, held in memory.", func() float64 { return float64(src.RevokedLen()) })
	}
	if src.AuditQueued != nil {
		f.gaugeFunc("audit_queue_length", "Audit events waiting to be written.", func() float64 { return float64(src.AuditQueued()) })
	}
	if src.AuditDropped != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: "audit_dropped_events_total",
			Help: "Audit events that could not be written (queue full, or the store down beyond the retries)."},
			func() float64 { return float64(src.AuditDropped()) }))
	}
	if src.ActiveSessions != nil {
		ttl := src.ActiveSessionsTTL
		if ttl <= 0 {
			ttl = 15 * time.Second
		}
		m.reg.MustRegister(&activeSessions{count: src.ActiveSessions, ttl: ttl,
			desc: prometheus.NewDesc(namespace+"_sessions_active", "Sessions neither revoked nor expired, in the store (counted at most every "+ttl.String()+").", nil, nil)})
	}
}

// activeSessions is a gauge read from the store at scrape time, at most
// once per ttl, with a deadline, so that scrapes cost the database little
// and a slow database does not hold a scrape.
type activeSessions struct {
	desc  *prometheus.Desc
	count func(ctx context.Context, now time.Time) (int64, error)
	ttl   time.Duration

	mu    sync.Mutex
	value float64
	ok    bool
	at    time.Time
}

func (a *activeSessions) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

func (a *activeSessions) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now := time.Now(); now.Sub(a.at) >= a.ttl {
		a.at = now
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n, err := a.count(ctx, now)
		cancel()
		if err == nil {
			a.value, a.ok = float64(n), true
		}
	}
	if a.ok {
		ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, a.value)
	}
}

// factory registers collectors under the gatehouse namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

func (f factory) gaugeFunc(name, help string, fn func() float64) {
	f.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, fn))
}
