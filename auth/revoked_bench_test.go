package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// BenchmarkRevokedAdd is one revocation (a logout) recorded while the set
// holds n others: what a logout pays in memory, by the size of the set. A
// busy server holds every session revoked in the last access-token
// lifetime, so n is logouts per second times 16 minutes.
func BenchmarkRevokedAdd(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("held=%d", n), func(b *testing.B) {
			now := time.Now()
			r := NewRevoked()
			revs := make([]gatehouse.Revocation, n)
			for i := range revs {
				revs[i] = gatehouse.Revocation{SessionID: gatehouse.NewID(now), Until: now.Add(time.Hour)}
			}
			r.Add(now, revs...)
			b.ReportAllocs()
			for b.Loop() {
				r.Add(now, gatehouse.Revocation{SessionID: gatehouse.NewID(now), Until: now.Add(time.Hour)})
			}
		})
	}
}
