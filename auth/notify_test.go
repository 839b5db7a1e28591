package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
)

// TestNotifyWakesFollower: on PostgreSQL an instance that polls only once
// an hour still refuses a token revoked elsewhere, because the store's
// notification wakes its follower.
func TestNotifyWakesFollower(t *testing.T) {
	url := storetest.FreshURL(t, "postgres")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *sqldb.DB {
		db, err := sqldb.Open(ctx, url, sqldb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}
	keys := edKeys(t)
	a, b := newService(t, open(), keys, 4, nil), newService(t, open(), keys, 4, nil)
	a.Register(ctx, "nina", "ninas password")
	p, err := a.Login(ctx, "nina", "ninas password", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	b.SyncRevocations(ctx)
	go b.FollowRevocations(ctx, time.Hour)
	time.Sleep(200 * time.Millisecond) // let it LISTEN (a signal lost before is caught by the reconnect signal anyway)
	if err := a.RevokeToken(ctx, p.AccessToken); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	deadline := revoked.Add(10 * time.Second)
	for {
		if _, err := b.Authenticate(ctx, p.AccessToken); gatehouse.ErrorCode(err) == gatehouse.EINVALIDTOKEN {
			t.Logf("refused %v after the revocation", time.Since(revoked))
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the revocation did not wake the follower")
		}
		time.Sleep(time.Millisecond)
	}
}
