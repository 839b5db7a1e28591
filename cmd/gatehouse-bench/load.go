package main

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"
)

// op is one request of a worker. errExhausted ends the worker early (it
// has nothing left to send, such as sessions to log out); any other error
// is counted and the worker goes on.
type op func() error

var errExhausted = errors.New("nothing left to send")

// result is what one closed-loop run measured.
type result struct {
	N       int           `json:"n"`       // operations completed
	Errors  int           `json:"errors"`  // operations that failed
	Elapsed time.Duration `json:"elapsed"` // the measuring windows together
	Rate    float64       `json:"rate"`    // completed per second of window
	P50     time.Duration `json:"p50"`
	P99     time.Duration `json:"p99"`
	// CPUPerOp is this process's CPU time (user and system, servers and
	// load generator together) per completed operation: unlike the rate
	// it hardly depends on what else the machine runs.
	CPUPerOp time.Duration `json:"cpu_per_op"`
	// FirstErr is the first failure, for the report.
	FirstErr string `json:"first_error,omitempty"`
}

// sample is what closed loops measured, before it is summarised: several
// slices of one round add up into one sample.
type sample struct {
	lat      []time.Duration
	errs     int
	firstErr error
	// done counts the operations completed within the window, an operation
	// in flight at its end by the share of it that fell inside.
	done   float64
	window time.Duration
	cpu    time.Duration // process CPU time spent meanwhile
}

func (s *sample) add(o *sample) {
	s.lat = append(s.lat, o.lat...)
	s.errs += o.errs
	s.firstErr = cmpOr(s.firstErr, o.firstErr)
	s.done += o.done
	s.window += o.window
	s.cpu += o.cpu
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// closedLoop runs one op per worker in a closed loop — each worker sends
// its next request when the previous one has answered — for dur. The
// requests in flight at the end are waited for; each counts for the share
// of it that fell inside the window, so that an operation of a quarter
// second (a hash) is neither cut off nor counted whole, and a short window
// measures the same rate as a long one.
func closedLoop(ops []op, dur time.Duration) *sample {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all sample
	)
	start, cpu0 := time.Now(), cpuTime()
	deadline := start.Add(dur)
	for _, o := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := sample{lat: make([]time.Duration, 0, 1024)}
			var end time.Time
			for t := time.Now(); t.Before(deadline); t = end {
				err := o()
				end = time.Now()
				if errors.Is(err, errExhausted) {
					break
				} else if err != nil {
					w.errs++
					w.firstErr = cmpOr(w.firstErr, err)
					continue
				}
				w.lat = append(w.lat, end.Sub(t))
				if end.After(deadline) {
					w.done += float64(deadline.Sub(t)) / float64(end.Sub(t))
				} else {
					w.done++
				}
			}
			mu.Lock()
			all.add(&w)
			mu.Unlock()
		}()
	}
	wg.Wait()
	all.window, all.cpu = dur, cpuTime()-cpu0
	return &all
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (s *sample) summarize() result {
	slices.Sort(s.lat)
	r := result{N: len(s.lat), Errors: s.errs, Elapsed: s.window}
	if s.window > 0 {
		r.Rate = s.done / s.window.Seconds()
	}
	r.P50, r.P99 = quantile(s.lat, 0.50), quantile(s.lat, 0.99)
	if len(s.lat) > 0 {
		r.CPUPerOp = s.cpu / time.Duration(len(s.lat))
	}
	if s.firstErr != nil {
		r.FirstErr = s.firstErr.Error()
	}
	return r
}

// quantile returns the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// httpOp returns an op that sends what next builds on c and wants status.
func httpOp(c *httpConn, want int, next func() []byte, check func(body []byte) error) op {
	return func() error {
		status, body, err := c.do(next())
		if err != nil {
			return err
		}
		if status != want {
			return fmt.Errorf("status %d, want %d: %.200s", status, want, body)
		}
		if check != nil {
			return check(body)
		}
		return nil
	}
}
