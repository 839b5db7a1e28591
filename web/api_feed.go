package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
)

// handleRevocationFeed is GET /api/revocations?after=N for resource servers
// (the verify package follows it): the revocations after cursor N whose
// tokens may still be alive, and the cursor to ask with next. Entries of
// the last few seconds come again on every call (see
// auth.Service.RevocationFeed), so a reader applies them idempotently.
func (s *server) handleRevocationFeed() http.Handler {
	type entry struct {
		Seq   int64  `json:"seq"`
		SID   string `json:"sid"`
		Until string `json:"until"`
	}
	type response struct {
		Revocations []entry `json:"revocations"`
		Next        int64   `json:"next"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after, err := cursorParam(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		revs, next, err := s.auth.RevocationFeed(r.Context(), after)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out := response{Revocations: make([]entry, 0, len(revs)), Next: next}
		for _, rv := range revs {
			out.Revocations = append(out.Revocations, entry{Seq: rv.Seq, SID: rv.SessionID, Until: ceilSecond(rv.Until)})
		}
		encode(w, http.StatusOK, out)
	})
}

// cursorParam reads the query's "after": absent means 0, else a decimal
// integer from 0 up.
func cursorParam(r *http.Request) (int64, error) {
	vals := r.URL.Query()["after"]
	switch {
	case len(vals) == 0:
		return 0, nil
	case len(vals) > 1:
		return 0, gatehouse.Errorf(gatehouse.EMALFORMED, "parameter \"after\" is given more than once")
	}
	n, err := strconv.ParseInt(vals[0], 10, 64)
	if err != nil || n < 0 || vals[0][0] == '+' {
		return 0, gatehouse.Errorf(gatehouse.EMALFORMED, "parameter \"after\" must be a whole number from 0 up")
	}
	return n, nil
}

// ceilSecond formats t as RFC 3339 in UTC, rounded up to the second: a
// revocation must never end early.
func ceilSecond(t time.Time) string {
	c := t.UTC().Truncate(time.Second)
	if c.Before(t) {
		c = c.Add(time.Second)
	}
	return c.Format(time.RFC3339)
}
