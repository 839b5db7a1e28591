package auth_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
)

// BenchmarkRevocationLag measures how long after a revocation on instance a
// instance b, following the store at the default interval on a pool of its
// own, refuses the token: the propagation lag, without HTTP. It reports the
// distribution over b.N revocations (ns/op means nothing here: it includes
// a random pause per revocation); run it with -benchtime=200x:
//
//	go test ./auth -run '^$' -bench RevocationLag -benchtime=200x
func BenchmarkRevocationLag(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, interval := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/every=%v", d, interval), func(b *testing.B) {
				benchLag(b, storetest.FreshURL(b, d), interval)
			})
		}
	}
}

func benchLag(b *testing.B, url string, interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *sqldb.DB {
		db, err := sqldb.Open(ctx, url, sqldb.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		return db
	}
	keys := edKeys(b)
	a, other := newService(b, open(), keys, 4, nil), newService(b, open(), keys, 4, nil)
	if _, err := a.Register(ctx, "lag", "lag password"); err != nil {
		b.Fatal(err)
	}
	if err := other.SyncRevocations(ctx); err != nil {
		b.Fatal(err)
	}
	go other.FollowRevocations(ctx, interval)
	lags := make([]time.Duration, 0, b.N)
	for b.Loop() {
		p, err := a.Login(ctx, "lag", "lag password", auth.Client{})
		if err != nil {
			b.Fatal(err)
		}
		pr, err := other.Authenticate(ctx, p.AccessToken)
		if err != nil {
			b.Fatal(err)
		}
		// A random phase against b's ticker, as real revocations have:
		// without it each revocation would follow the last refusal, just
		// after a sync, and wait nearly a whole interval.
		time.Sleep(rand.N(interval))
		if err := a.Logout(ctx, pr, auth.ScopeLocal); err != nil {
			b.Fatal(err)
		}
		revoked := time.Now()
		for {
			if _, err := other.Authenticate(ctx, p.AccessToken); gatehouse.ErrorCode(err) == gatehouse.EINVALIDTOKEN {
				break
			}
			if time.Since(revoked) > 10*time.Second {
				b.Fatal("not refused within 10 s")
			}
			time.Sleep(100 * time.Microsecond)
		}
		lags = append(lags, time.Since(revoked))
	}
	slices.Sort(lags)
	q := func(p int) float64 { return float64(lags[(len(lags)*p+99)/100-1]) / 1e6 }
	b.ReportMetric(q(50), "p50-ms")
	b.ReportMetric(q(90), "p90-ms")
	b.ReportMetric(q(99), "p99-ms")
	b.ReportMetric(float64(lags[len(lags)-1])/1e6, "max-ms")
}
