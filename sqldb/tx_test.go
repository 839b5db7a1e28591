package sqldb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestWriteRetriesConflicts(t *testing.T) {
	db, err := Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadlock := &mysql.MySQLError{Number: 1213, Message: "deadlock"}
	for _, tc := range []struct {
		name      string
		fails     int // how many calls fail with err
		err       error
		wantCalls int
		wantCode  string
	}{
		{"deadlock then success", 2, deadlock, 3, ""},
		{"serialization failure then success", 1, &pgconn.PgError{Code: "40001"}, 2, ""},
		{"deadlocks to the end", 100, deadlock, maxAttempts, gatehouse.EUNAVAILABLE},
		{"not retryable", 100, errors.New("syntax"), 1, gatehouse.EINTERNAL},
		{"not found", 100, gatehouse.Errorf(gatehouse.ENOTFOUND, "x"), 1, gatehouse.ENOTFOUND},
	} {
		calls := 0
		err := db.write(t.Context(), db.now(), func(c *conn) error {
			calls++
			if calls <= tc.fails {
				return tc.err
			}
			return nil
		})
		err = db.wrap(context.Background(), "test", err)
		if calls != tc.wantCalls || gatehouse.ErrorCode(err) != tc.wantCode {
			t.Errorf("%s: %d calls, error %v; want %d calls, code %q", tc.name, calls, err, tc.wantCalls, tc.wantCode)
		}
	}
}
