package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
)

// benchPassword is every benchmark and seeded user's password.
const benchPassword = "gatehouse-bench password"

// seedChunk is how many rows go to the store per seeding call (one
// transaction). Large, because every transaction writes the index pages
// it touched to the WAL again: 200,000 sessions in chunks of 5,000 wrote
// four times the blocks and took half again the CPU of chunks of 50,000.
const seedChunk = 50000

// newUsers returns n users named prefix+i, sharing one password hash (the
// point is the rows, and one bcrypt hash at cost 12 takes a quarter
// second), registered a millisecond apart from start.
func newUsers(prefix string, first, n int, hash string, start time.Time) []*gatehouse.User {
	users := make([]*gatehouse.User, n)
	for i := range users {
		t := start.Add(time.Duration(i) * time.Millisecond)
		users[i] = &gatehouse.User{ID: gatehouse.NewID(t), Username: fmt.Sprintf("%s%07d", prefix, first+i), PasswordHash: hash, CreatedAt: t, UpdatedAt: t}
	}
	return users
}

// seedUsers inserts users, seedChunk a transaction.
func seedUsers(ctx context.Context, db *sqldb.DB, users []*gatehouse.User) error {
	for i := 0; i < len(users); i += seedChunk {
		if err := db.SeedUsers(ctx, users[i:min(i+seedChunk, len(users))]); err != nil {
			return err
		}
	}
	return nil
}

// cred is a session and an access token for it, as a login would give.
type cred struct {
	user    *gatehouse.User
	session string
	access  string
}

// newSessions opens n sessions in the store, for users in turn, and issues
// an access token for each, bypassing login (whose cost is the password
// hash, measured on its own). Their refresh tokens are dropped: these
// sessions are for authenticated requests and logouts, not refreshes.
func newSessions(ctx context.Context, db *sqldb.DB, tokens *token.Tokens, users []*gatehouse.User, n int) ([]cred, error) {
	now := time.Now().UTC()
	sessions := make([]*gatehouse.Session, n)
	for i := range sessions {
		u := users[i%len(users)]
		sessions[i] = &gatehouse.Session{ID: gatehouse.NewID(now), UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(720 * time.Hour), UserAgent: "gatehouse-bench", IP: "127.0.0.1"}
	}
	for i := 0; i < n; i += seedChunk {
		end := min(i+seedChunk, n)
		if _, err := db.SeedSessions(ctx, sessions[i:end]); err != nil {
			return nil, err
		}
	}
	creds := make([]cred, n)
	err := parallel(n, func(i int) error {
		u := users[i%len(users)]
		at, _, err := tokens.Issue(u.ID, sessions[i].ID, u.Username)
		creds[i] = cred{user: u, session: sessions[i].ID, access: at}
		return err
	})
	return creds, err
}

// parallel runs fn(0..n-1) on every CPU and returns the first error.
func parallel(n int, fn func(i int) error) error {
	return parallelN(n, runtime.GOMAXPROCS(0), fn)
}

// pair is what a login or refresh answers.
type pair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// loginBody is the JSON body of a login or registration.
func loginBody(username string) []byte {
	b, _ := json.Marshal(map[string]string{"username": username, "password": benchPassword})
	return b
}

// login logs every user in over HTTP, workers at a time (as many as the
// hashing pool takes without shedding), and returns their token pairs.
func login(addr string, users []*gatehouse.User, workers int) ([]pair, error) {
	pairs := make([]pair, len(users))
	conns := make(chan *httpConn, workers)
	for range workers {
		conns <- newConn(addr)
	}
	err := parallelN(len(users), workers, func(i int) error {
		c := <-conns
		defer func() { conns <- c }()
		req := request("POST", addr, "/api/login", "", loginBody(users[i].Username))
		for attempt := 1; ; attempt++ {
			status, body, err := c.do(req)
			if err != nil {
				return err
			}
			// 503: the hashing pool shed the login (a busy machine makes
			// hashes slow); a client waits and tries again.
			if status == 503 && attempt < 10 {
				time.Sleep(time.Second)
				continue
			} else if status != 200 {
				return fmt.Errorf("login: status %d: %.200s", status, body)
			}
			return json.Unmarshal(body, &pairs[i])
		}
	})
	return pairs, err
}

// parallelN is parallel with a given number of workers.
func parallelN(n, workers int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

var refreshKey = []byte(`"refresh_token":"`)

// refreshTokenOf finds the refresh token in a TokenPair without decoding the
// whole document: the load generator keeps its CPU to itself.
func refreshTokenOf(body []byte) (string, error) {
	i := bytes.Index(body, refreshKey)
	if i < 0 {
		return "", errors.New("no refresh_token in the answer")
	}
	rest := body[i+len(refreshKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", errors.New("unterminated refresh_token")
	}
	return string(rest[:j]), nil
}
