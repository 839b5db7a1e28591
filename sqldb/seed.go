package sqldb

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// seedRows is how many rows one multi-row INSERT of the seeding functions
// carries: 11 columns × 250 rows stays far below every dialect's limit on
// bound parameters (SQLite 32,766, PostgreSQL 65,535) and MySQL's packet
// size, and large enough that the per-statement cost vanishes.
const seedRows = 250

// SeedUsers inserts users fast, for load tests and benchmarks: multi-row
// INSERTs, all of them in one transaction. Unlike CreateUser it fills in
// nothing and checks nothing: every user needs its ID, Username,
// PasswordHash, CreatedAt and UpdatedAt, and a taken username fails the
// whole call (EUSERNAMETAKEN is not told apart). The transaction holds the
// write lock while it runs: tens of thousands of rows a call suit a
// seeding, not a live server.
func (db *DB) SeedUsers(ctx context.Context, users []*gatehouse.User) error {
	err := db.write(ctx, db.now(), func(c *conn) error {
		return seedBatches(ctx, c, len(users),
			`INSERT INTO users (id, username, username_key, password_hash, created_at, updated_at) VALUES `, 6,
			func(i int, args []any) []any {
				u := users[i]
				return append(args, u.ID, u.Username, usernameKey(u.Username), u.PasswordHash, micros(u.CreatedAt), micros(u.UpdatedAt))
			})
	})
	return db.wrap(ctx, "seed users", err)
}

// SeedSessions inserts sessions, each with its refresh key and the hash of
// a first refresh token, the way SeedUsers inserts users: every field set by
// the caller (the IDs NewID's UUIDs), nothing checked, one transaction. It
// returns the refresh tokens, tokens[i] sessions[i]'s.
func (db *DB) SeedSessions(ctx context.Context, sessions []*gatehouse.Session) (tokens []string, err error) {
	tokens = make([]string, len(sessions))
	refresh := make([]*gatehouse.RefreshToken, len(sessions))
	keys := make([][]byte, len(sessions))
	for i, s := range sessions {
		t, ok := gatehouse.NewRefreshToken(s.ID, 0)
		if !ok {
			return nil, fmt.Errorf("sqldb: seed sessions: id %q is not a UUID", s.ID)
		}
		refresh[i], keys[i] = t, gatehouse.NewRefreshKey()
		tokens[i] = t.Sign(keys[i])
	}
	err = db.write(ctx, db.now(), func(c *conn) error {
		return seedBatches(ctx, c, len(sessions),
			`INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, revoked_at, user_agent, ip, refresh_hash, refresh_gen, refresh_key) VALUES `, 11,
			func(i int, args []any) []any {
				s := sessions[i]
				return append(args, s.ID, s.UserID, micros(s.CreatedAt), micros(s.LastUsedAt), micros(s.ExpiresAt),
					nullMicros(s.RevokedAt), clip(s.UserAgent, maxUserAgent), clip(s.IP, maxIP),
					refresh[i].Hash(), int64(refresh[i].Gen), keys[i])
			})
	})
	if err != nil {
		return nil, db.wrap(ctx, "seed sessions", err)
	}
	return tokens, nil
}

// seedBatches runs insert (which ends in VALUES) for n rows of cols
// columns, seedRows rows a statement; row appends the arguments of row i.
func seedBatches(ctx context.Context, c *conn, n int, insert string, cols int, row func(i int, args []any) []any) error {
	tuple := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var full string // the statement of a whole batch, built once
	args := make([]any, 0, seedRows*cols)
	for start := 0; start < n; start += seedRows {
		end := min(start+seedRows, n)
		q := full
		if end-start < seedRows || q == "" {
			q = insert + strings.Repeat(tuple+", ", end-start-1) + tuple
			if end-start == seedRows {
				full = q
			}
		}
		args = args[:0]
		for i := start; i < end; i++ {
			args = row(i, args)
		}
		if _, err := c.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
