package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/sqldb"
)

// mainOps are conns workers sending GET /api/main to addr, each with the
// token of its own user. Both servers get the very same request bytes, the
// Authorization header included, so the client's work is identical and the
// difference is the server's.
func (b *bench) mainOps(key, addr string) []op {
	var ops []op
	for i, c := range b.conns(key, addr, b.cfg.conns) {
		req := request("GET", addr, "/api/main", b.mainCreds[i].access, nil)
		ops = append(ops, httpOp(c, 200, func() []byte { return req }, nil))
	}
	return ops
}

func (b *bench) mainBare() scenario {
	return scenario{name: "main/bare", dur: b.cfg.dur, ops: func(time.Duration) ([]op, error) {
		return b.mainOps("bare", b.bare), nil
	}}
}

func (b *bench) mainGatehouse() scenario {
	return scenario{name: "main/gatehouse", dur: b.cfg.dur, ops: func(time.Duration) ([]op, error) {
		return b.mainOps("main", b.g.addr), nil
	}}
}

// rawVerify is the bcrypt verification that a login makes, with nothing
// around it, on every core at once: the most logins the CPUs allow. It has
// as many workers as login has connections, queueing for one slot per core
// as logins queue for the hashing pool, so that both count the work in
// flight at the end of a slice alike.
func (b *bench) rawVerify() scenario {
	return b.rawHashing("hash/verify", func() error {
		ok, _, err := b.g.hasher.Verify(b.storedHash, benchPassword)
		if err == nil && !ok {
			err = fmt.Errorf("verify: no match")
		}
		return err
	})
}

// rawHash is rawVerify for the hash a registration makes.
func (b *bench) rawHash() scenario {
	return b.rawHashing("hash/new", func() error {
		_, err := b.g.hasher.Hash(benchPassword)
		return err
	})
}

func (b *bench) rawHashing(name string, hash func() error) scenario {
	slots := make(chan struct{}, cpus())
	return scenario{name: name, hash: true, dur: b.cfg.hashDur, ops: func(time.Duration) ([]op, error) {
		ops := make([]op, b.cfg.hashConns)
		for i := range ops {
			ops[i] = func() error {
				slots <- struct{}{}
				defer func() { <-slots }()
				return hash()
			}
		}
		return ops, nil
	}}
}

func (b *bench) login() scenario {
	var next atomic.Int64
	return scenario{name: "login", hash: true, dur: b.cfg.hashDur, ops: func(time.Duration) ([]op, error) {
		var ops []op
		addr := b.g.addr
		for _, c := range b.conns("login", addr, b.cfg.hashConns) {
			ops = append(ops, httpOp(c, 200, func() []byte {
				u := b.loginUsers[int(next.Add(1))%len(b.loginUsers)]
				return request("POST", addr, "/api/login", "", loginBody(u.Username))
			}, nil))
		}
		return ops, nil
	}}
}

func (b *bench) register() scenario {
	return scenario{name: "register", hash: true, dur: b.cfg.hashDur, ops: func(time.Duration) ([]op, error) {
		var ops []op
		addr := b.g.addr
		for _, c := range b.conns("register", addr, b.cfg.hashConns) {
			ops = append(ops, httpOp(c, 201, func() []byte {
				name := fmt.Sprintf("r%s-%d", b.runID, b.registered.Add(1))
				return request("POST", addr, "/api/register", "", loginBody(name))
			}, nil))
		}
		return ops, nil
	}}
}

// storeUpdate is the store's own single-row write: one UPDATE of one row by
// primary key, in autocommit, each worker on a row of its own. On SQLite
// the writers of the process take turns on a mutex, as the store's writes
// do (a writer that polls the file lock instead would make the baseline
// look slower than SQLite is).
func (b *bench) storeUpdate() scenario {
	return scenario{name: "store/update", dur: b.cfg.dur, ops: func(time.Duration) ([]op, error) {
		ops := make([]op, b.cfg.conns)
		for i := range ops {
			id := b.mainCreds[i].session
			ops[i] = func() error { return b.update(id) }
		}
		return ops, nil
	}}
}

// storeUpdate returns the baseline write on db. It is the one query of
// gatehouse outside package sqldb, through sqldb's SQL() door for
// administration and benchmarks: it is not the store's code being measured
// here but the database under it.
func storeUpdate(db *sqldb.DB) func(id string) error {
	q := "UPDATE sessions SET last_used_at = ? WHERE id = ?"
	if db.Dialect() == "postgres" {
		q = "UPDATE sessions SET last_used_at = $1 WHERE id = $2"
	}
	var mu sync.Mutex
	serial := db.Dialect() == "sqlite"
	return func(id string) error {
		if serial {
			mu.Lock()
			defer mu.Unlock()
		}
		res, err := db.SQL().ExecContext(context.Background(), q, time.Now().UnixMicro(), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("update touched %d rows (%v)", n, err)
		}
		return nil
	}
}

// refresh rotates each connection's refresh-token chain.
func (b *bench) refresh() scenario {
	return scenario{name: "refresh", dur: b.cfg.dur, ops: func(time.Duration) ([]op, error) {
		var ops []op
		addr := b.g.addr
		for i, c := range b.conns("refresh", addr, len(b.chains)) {
			ops = append(ops, httpOp(c, 200, func() []byte {
				return request("POST", addr, "/api/token/refresh", "", []byte(`{"refresh_token":"`+b.chains[i]+`"}`))
			}, func(body []byte) (err error) {
				b.chains[i], err = refreshTokenOf(body)
				return err
			}))
		}
		return ops, nil
	}}
}

// logout logs out sessions made for the slice, each once: as many as the
// last round's rate gets through in the slice and half again, so that a
// slice does not run out (one that did would idle, and show a lower rate).
func (b *bench) logout() scenario {
	return scenario{name: "logout", dur: b.cfg.dur, ops: func(d time.Duration) ([]op, error) {
		rate := b.logoutRate
		if rate == 0 {
			rate = 5000
		}
		n := max(1000, int(math.Ceil(1.5*rate*d.Seconds())))
		creds, err := newSessions(context.Background(), b.g.store, b.g.tokens, b.loginUsers, n)
		if err != nil {
			return nil, err
		}
		var next atomic.Int64
		var ops []op
		addr := b.g.addr
		for _, c := range b.conns("logout", addr, b.cfg.conns) {
			ops = append(ops, func() error {
				i := int(next.Add(1)) - 1
				if i >= len(creds) {
					return errExhausted
				}
				return httpOp(c, 204, func() []byte {
					return request("POST", addr, "/api/logout", creds[i].access, nil)
				}, nil)()
			})
		}
		return ops, nil
	}}
}
