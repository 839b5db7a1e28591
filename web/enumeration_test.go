package web_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/web"
)

// TestEnumeration: an unknown username and a known one with a wrong
// password get the same status, headers and body, and take the same time
// within noise, at a realistic cost (bcrypt 10).
//
// The timing comparison is honest but not a threshold on noise: samples
// are interleaved (the order inside each pair alternates), so a change in
// the machine's load hits both sides alike, and the medians must lie
// within a factor of two of each other. Without the dummy hash an unknown
// username answers in well under a millisecond against tens of
// milliseconds, a factor of a hundred or more, so a failure means a real
// leak, not a noisy machine. The rank statistic (the probability that an
// unknown-user login is the slower of a random pair, 0.5 when alike) is
// logged beside the medians.
func TestEnumeration(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("bcrypt at cost 10: not in -short or under the race detector (its timing means nothing there)")
	}
	srv := newServerEdit(t, func(c *auth.Config, _ *web.Deps) {
		c.Hasher = &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 10}
	})
	if r := postJSON(t, srv, "/api/register", creds("dave", "daves password")); r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	attempt := func(username string) (answer, time.Duration) {
		start := time.Now()
		r := postJSON(t, srv, "/api/login", creds(username, "not daves password"))
		return r, time.Since(start)
	}
	const pairs = 15
	var unknown, wrong []time.Duration
	first, _ := attempt("dave") // warm-up, and the reference answer
	for i := range pairs {
		names := []string{"nobody", "dave"}
		if i%2 == 1 {
			names[0], names[1] = names[1], names[0]
		}
		for _, name := range names {
			r, d := attempt(name)
			sameAnswer(t, name, first, r)
			if name == "dave" {
				wrong = append(wrong, d)
			} else {
				unknown = append(unknown, d)
			}
		}
	}
	mu, mw := medianDuration(unknown), medianDuration(wrong)
	t.Logf("median login: unknown user %v, wrong password %v (ratio %.2f); P(unknown slower) = %.2f over %d pairs",
		mu, mw, float64(mu)/float64(mw), superiority(unknown, wrong), pairs)
	if mu < mw/2 || mu > mw*2 {
		t.Errorf("unknown user median %v and wrong password median %v differ by more than a factor of 2", mu, mw)
	}
}

// sameAnswer fails unless r is first with another Date.
func sameAnswer(t *testing.T, name string, first, r answer) {
	t.Helper()
	if r.status != first.status || string(r.body) != string(first.body) {
		t.Fatalf("%s: %d %s; want %d %s", name, r.status, r.body, first.status, first.body)
	}
	h1, h2 := first.header.Clone(), r.header.Clone()
	for _, h := range []string{"Date", "X-Request-Id"} { // differ per request by design
		h1.Del(h)
		h2.Del(h)
	}
	if !equalHeaders(h1, h2) {
		t.Fatalf("%s: headers %v, want %v", name, h2, h1)
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func medianDuration(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

// superiority is the Mann-Whitney statistic U/(n·m): the share of pairs
// (a from as, b from bs) in which a is slower, ties counting half.
func superiority(as, bs []time.Duration) float64 {
	var u float64
	for _, a := range as {
		for _, b := range bs {
			switch {
			case a > b:
				u++
			case a == b:
				u += 0.5
			}
		}
	}
	return u / float64(len(as)*len(bs))
}
