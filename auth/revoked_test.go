package auth

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestRevokedSet(t *testing.T) {
	now := time.Now()
	r := NewRevoked()
	if r.Has("s1", now) {
		t.Fatal("empty set has s1")
	}
	r.Add(now, gatehouse.Revocation{Seq: 1, SessionID: "s1", Until: now.Add(time.Minute)},
		gatehouse.Revocation{Seq: 2, SessionID: "s2", Until: now.Add(time.Second)})
	if !r.Has("s1", now) || !r.Has("s2", now) {
		t.Error("added sessions are not revoked")
	}
	if r.Has("s3", now) {
		t.Error("s3 revoked without being added")
	}
	later := now.Add(2 * time.Second)
	if r.Has("s2", later) {
		t.Error("s2 still revoked after its tokens expired")
	}
	// A write within sweepEvery of the last sweep leaves the expired entry;
	// one after drops it.
	r.Add(later, gatehouse.Revocation{Seq: 3, SessionID: "s3", Until: later.Add(time.Minute)})
	if r.Len() != 3 {
		t.Errorf("Len = %d, want 3 (s2 expired, not yet swept)", r.Len())
	}
	later = now.Add(sweepEvery)
	r.Add(later, gatehouse.Revocation{Seq: 3, SessionID: "s3", Until: later.Add(time.Minute)})
	if r.Len() != 2 {
		t.Errorf("Len = %d, want 2 (s2 swept)", r.Len())
	}
	// A shorter Until never shortens a revocation.
	r.Add(later, gatehouse.Revocation{Seq: 4, SessionID: "s1", Until: later})
	if !r.Has("s1", later) {
		t.Error("a shorter revocation shortened s1's")
	}
}

func BenchmarkRevokedHas(b *testing.B) {
	now := time.Now()
	r := NewRevoked()
	for i := range 1000 {
		r.Add(now, gatehouse.Revocation{SessionID: gatehouse.NewID(now), Until: now.Add(time.Hour), Seq: int64(i)})
	}
	sid := gatehouse.NewID(now)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r.Has(sid, now) {
				b.Fatal("unexpected")
			}
		}
	})
}
