package sqldb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// revocationChannel is the PostgreSQL NOTIFY channel on which a committed
// revocation is announced.
const revocationChannel = "gatehouse_revocations"

// notifyRevocation announces, on PostgreSQL, that the transaction records
// a revocation: listeners hear of it when, and only if, it commits.
// PostgreSQL folds the notifications of one transaction into one.
func (c *conn) notifyRevocation(ctx context.Context) error {
	if c.d.name != dialectPostgres {
		return nil
	}
	_, err := c.exec(ctx, `SELECT pg_notify('`+revocationChannel+`', '')`)
	return err
}

// WatchRevocations returns a channel that receives soon after any process
// commits a revocation to the store, when the store can tell: PostgreSQL,
// by LISTEN/NOTIFY. On SQLite and MySQL it returns nil (a channel that
// never receives). It is a hint to read the revocations now rather than at
// the next poll, never the only way to learn of them: signals may merge,
// and while the listening connection is down (it reconnects every second)
// they are lost; a signal is sent after each reconnection for that reason.
// The listener holds one connection of the pool until ctx ends, so a pool
// of fewer than three connections gets no listener (nil) rather than
// starve.
func (db *DB) WatchRevocations(ctx context.Context) <-chan struct{} {
	if n := db.sql.Stats().MaxOpenConnections; db.d.name != dialectPostgres || n > 0 && n < 3 {
		return nil
	}
	ch := make(chan struct{}, 1)
	go func() {
		for {
			err := db.listen(ctx, ch)
			if ctx.Err() != nil {
				return
			}
			_ = err // the poll covers the gap; the next attempt will tell
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	return ch
}

// listen takes a connection out of the pool, LISTENs on it and signals ch
// for every notification until the connection fails or ctx ends. The
// connection never goes back to the pool: it is discarded, LISTEN and all.
func (db *DB) listen(ctx context.Context, ch chan<- struct{}) error {
	sc, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	return sc.Raw(func(dc any) error {
		sconn, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqldb: listen: driver connection is %T", dc)
		}
		pc := sconn.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+revocationChannel); err != nil {
			return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
		}
		signal(ch) // notifications may have been missed while not listening
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
			}
			signal(ch)
		}
	})
}

// signal sends on ch unless a signal is already waiting.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
