package sqldb

import (
	"database/sql"
	"time"
)

// Times are stored as BIGINT unix microseconds, UTC: the same column type
// and the same comparisons on every dialect, no time zone anywhere. These
// are the only conversions.

// micros is t as stored.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros is t as stored in a nullable column: the zero time is NULL.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros is a stored time read back.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// stored is t as a read would return it: UTC, truncated to the microsecond.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return fromMicros(micros(t))
}

// timeCol scans a stored time into t; NULL gives the zero time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	var n sql.NullInt64
	if err := n.Scan(src); err != nil {
		return err
	}
	*c.t = time.Time{}
	if n.Valid {
		*c.t = fromMicros(n.Int64)
	}
	return nil
}
