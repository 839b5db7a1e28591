// Package metrics is gatehouse's Prometheus instrumentation, the one
// package that imports prometheus/client_golang. It implements auth's
// Observer and web's RequestObserver and takes sqldb's store-error hook,
// so that none of those packages depends on a metrics library.
//
// Everything is registered on a registry of its own, never the global
// one, so that two servers in one process (as in tests) do not collide.
package metrics

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

const namespace = "gatehouse"

// Metrics holds gatehouse's collectors. Make it with New; it is safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	logins      *prometheus.CounterVec
	registered  prometheus.Counter
	refreshes   *prometheus.CounterVec
	replays     prometheus.Counter
	events      *prometheus.CounterVec
	lag         prometheus.Histogram
	storeErrors *prometheus.CounterVec

	// The request path looks its series up here instead of hashing the
	// label values on every request.
	counters  sync.Map // reqKey → prometheus.Counter
	observers sync.Map // route → prometheus.Observer
}

type reqKey struct {
	route  string
	status int
}

// New returns the metrics with the Go runtime and process collectors and
// a build-info gauge registered.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := factory{m.reg}
	m.requests = f.counterVec("http_requests_total", "HTTP requests served, by route pattern and status code.", "route", "code")
	m.duration = f.histogramVec("http_request_duration_seconds", "Time to serve an HTTP request, by route pattern.",
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}, "route")
	m.logins = f.counterVec("logins_total", `Login attempts by outcome: "success" or the error code (invalid_credentials, too_many_requests, unavailable…).`, "outcome")
	m.registered = f.counter("registrations_total", "Accounts created.")
	m.refreshes = f.counterVec("token_refreshes_total", `Refresh-token uses by outcome: "success" or the error code.`, "outcome")
	m.replays = f.counter("refresh_replays_total", "Rotated refresh tokens presented again (each revoked its session).")
	m.events = f.counterVec("security_events_total", "Security events by audit type.", "type")
	m.lag = f.histogram("revocation_lag_seconds", "How long after another instance made it a revocation reached this instance's set.",
		[]float64{.01, .025, .05, .1, .2, .3, .5, .75, 1, 2, 5})
	m.storeErrors = f.counterVec("store_errors_total", "Failures of the database itself, by operation and code (unavailable, internal).", "op", "code")
	for _, o := range []string{"success", gatehouse.ECREDENTIALS, gatehouse.ETOOMANYREQUESTS, gatehouse.EUNAVAILABLE} {
		m.logins.WithLabelValues(o)
	}
	for _, o := range []string{"success", gatehouse.EINVALIDREFRESH} {
		m.refreshes.WithLabelValues(o)
	}
	for _, t := range gatehouse.AuditTypes {
		m.events.WithLabelValues(t)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
			Help:        "Build information; the value is always 1.",
			ConstLabels: prometheus.Labels{"version": gatehouse.Version, "goversion": runtime.Version()}},
			func() float64 { return 1 }),
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry, for tests and for collectors of other
// packages to join.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts a request and its latency (web.RequestObserver).
// A request that matched no route is counted as "unmatched", so that
// scanners cannot blow up the number of series.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	if route == "" || route == "/" {
		route = "unmatched"
	}
	k := reqKey{route, status}
	c, ok := m.counters.Load(k)
	if !ok {
		c, _ = m.counters.LoadOrStore(k, m.requests.WithLabelValues(route, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
	o, ok := m.observers.Load(route)
	if !ok {
		o, _ = m.observers.LoadOrStore(route, m.duration.WithLabelValues(route))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

var _ auth.Observer = (*Metrics)(nil)

// Event counts a security event (auth.Observer).
func (m *Metrics) Event(_ context.Context, e gatehouse.AuditEvent) {
	switch e.Type {
	case gatehouse.AuditLogin:
		m.logins.WithLabelValues("success").Inc()
	case gatehouse.AuditLoginFailed:
		m.logins.WithLabelValues(gatehouse.ECREDENTIALS).Inc()
	case gatehouse.AuditThrottled:
		if e.Reason == "login" {
			m.logins.WithLabelValues(gatehouse.ETOOMANYREQUESTS).Inc()
		}
	case gatehouse.AuditRegistered:
		m.registered.Inc()
	case gatehouse.AuditRefreshReplayed:
		m.replays.Inc()
	case auth.EventLoginError:
		m.logins.WithLabelValues(e.Reason).Inc()
		return
	case auth.EventSecondFactorRequired:
		m.logins.WithLabelValues(gatehouse.ESECONDFACTORREQUIRED).Inc()
		return
	case auth.EventRefreshed:
		outcome := e.Reason
		if outcome == "" {
			outcome = "success"
		}
		m.refreshes.WithLabelValues(outcome).Inc()
		return
	}
	if gatehouse.IsAuditType(e.Type) {
		m.events.WithLabelValues(e.Type).Inc()
	}
}

// RevocationLag observes one revocation's lag (auth.Observer).
func (m *Metrics) RevocationLag(d time.Duration) { m.lag.Observe(d.Seconds()) }

// StoreError counts a failure of the database (sqldb.Options.OnError).
func (m *Metrics) StoreError(op, code string) { m.storeErrors.WithLabelValues(op, code).Inc() }
