package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// maxDocument bounds what is read of a JWKS or feed response.
const maxDocument = 64 << 20

// feedPage is the revocation feed's response.
type feedPage struct {
	Revocations []struct {
		Seq   int64     `json:"seq"`
		SID   string    `json:"sid"`
		Until time.Time `json:"until"`
	} `json:"revocations"`
	Next int64 `json:"next"`
}

// syncFeed reads the feed after the cursor and adds what it brings to the
// revoked set. The feed repeats its most recent entries (a late commit may
// hide among them), so adding is idempotent.
func (v *Verifier) syncFeed(ctx context.Context) error {
	v.feedMu.Lock()
	defer v.feedMu.Unlock()
	began := v.cfg.Now()
	var page feedPage
	err := v.get(ctx, "/api/revocations?after="+strconv.FormatInt(v.cursor.Load(), 10), true, func(resp *http.Response, body []byte) error {
		return json.Unmarshal(body, &page)
	})
	if err != nil {
		v.stats.failures.Add(1)
		return err
	}
	old := *v.revoked.Load()
	fresh := 0
	for _, r := range page.Revocations {
		if r.Until.After(old[r.SID]) {
			fresh++
		}
	}
	if fresh > 0 {
		m := make(map[string]time.Time, len(old)+fresh)
		for sid, until := range old {
			if began.Before(until) {
				m[sid] = until
			}
		}
		for _, r := range page.Revocations {
			if r.Until.After(m[r.SID]) {
				m[r.SID] = r.Until
			}
		}
		v.revoked.Store(&m)
	}
	v.cursor.Store(max(v.cursor.Load(), page.Next))
	v.synced.Store(began.UnixNano())
	v.stats.syncs.Add(1)
	return nil
}

// keysDue reports whether the JWKS's max-age has passed.
func (v *Verifier) keysDue() bool {
	v.keysMu.Lock()
	defer v.keysMu.Unlock()
	return v.cfg.Now().Sub(v.keysFetched) >= v.keysMaxAge
}

// refreshForUnknownKey fetches the JWKS again because a token named a kid
// it does not hold, at most once per KeyRefreshMin, so that tokens with
// made-up kids cannot make a fetch each. It reports whether the keys were
// fetched since the call began (by it or by a concurrent call).
func (v *Verifier) refreshForUnknownKey(ctx context.Context) bool {
	asked := v.cfg.Now()
	v.keysMu.Lock()
	defer v.keysMu.Unlock()
	if !v.keysFetched.Before(asked) {
		return true
	}
	if asked.Sub(v.keysTried) < v.cfg.KeyRefreshMin {
		return false
	}
	v.keysTried = asked
	return v.fetchKeysLocked(ctx) == nil
}

// fetchKeys fetches the JWKS and installs it.
func (v *Verifier) fetchKeys(ctx context.Context) error {
	v.keysMu.Lock()
	defer v.keysMu.Unlock()
	return v.fetchKeysLocked(ctx)
}

// fetchKeysLocked fetches the JWKS, installs it and keeps its max-age;
// keysMu is held.
func (v *Verifier) fetchKeysLocked(ctx context.Context) error {
	err := v.get(ctx, "/.well-known/jwks.json", false, func(resp *http.Response, body []byte) error {
		if err := v.keys.UpdatePublic(body); err != nil {
			return err
		}
		v.keysMaxAge = maxAge(resp.Header.Get("Cache-Control"))
		return nil
	})
	if err != nil {
		return err
	}
	v.keysFetched = v.cfg.Now()
	v.stats.keyFetches.Add(1)
	return nil
}

// maxAge reads max-age from a Cache-Control header, within 1 s and 1 h;
// 5 minutes when there is none.
func maxAge(cc string) time.Duration {
	for part := range strings.SplitSeq(cc, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return min(max(time.Duration(n)*time.Second, time.Second), time.Hour)
			}
		}
	}
	return 5 * time.Minute
}

// get fetches path from gatehouse (with the service credential when auth
// is set) and hands a 200 response's body to use.
func (v *Verifier) get(ctx context.Context, path string, auth bool, use func(*http.Response, []byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, max(v.cfg.MaxStaleness, time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", v.cfg.URL+path, nil)
	if err != nil {
		return err
	}
	if auth {
		req.SetBasicAuth(v.cfg.ClientID, v.cfg.ClientSecret)
	}
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return use(resp, body)
	case http.StatusUnauthorized:
		return fmt.Errorf("verify: GET %s: gatehouse refused the service credentials (401)", path)
	case http.StatusNotFound:
		return fmt.Errorf("verify: GET %s: 404 (is SERVICE_CLIENTS set on gatehouse?)", path)
	}
	return fmt.Errorf("verify: GET %s: status %d", path, resp.StatusCode)
}

// counters are the Verifier's statistics.
type counters struct {
	syncs, failures, keyFetches atomic.Uint64
}

// Stats describes how a Verifier follows gatehouse, for metrics.
type Stats struct {
	Revoked    int           // revoked sessions held
	Cursor     int64         // the feed cursor
	Syncs      uint64        // good reads of the feed
	Failures   uint64        // failed reads of the feed
	Staleness  time.Duration // since the last good read began
	KeyFetches uint64        // good JWKS fetches
}

// Stats returns a snapshot of the Verifier's counters.
func (v *Verifier) Stats() Stats {
	return Stats{
		Revoked:    len(*v.revoked.Load()),
		Cursor:     v.cursor.Load(),
		Syncs:      v.stats.syncs.Load(),
		Failures:   v.stats.failures.Load(),
		Staleness:  v.cfg.Now().Sub(time.Unix(0, v.synced.Load())),
		KeyFetches: v.stats.keyFetches.Load(),
	}
}
