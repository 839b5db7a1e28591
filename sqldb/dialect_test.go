package sqldb

import (
	"crypto/tls"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestRebind(t *testing.T) {
	d := newDialect(dialectPostgres)
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"x = '?' AND y = ?", "x = '?' AND y = $1"},
	} {
		for range 2 { // the second time from the cache
			if got := d.rebind(tc.in); got != tc.want {
				t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
			}
		}
	}
	if got := newDialect(dialectMySQL).rebind("a = ?"); got != "a = ?" {
		t.Errorf("mysql rebind = %q", got)
	}
}

func TestSplitStatements(t *testing.T) {
	text := "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT 'a;b'); /* block; */\n" +
		"CREATE INDEX i ON a (x);\n-- trailing\n"
	got := splitStatements(text)
	want := []string{"CREATE TABLE a (x TEXT DEFAULT 'a;b')", "CREATE INDEX i ON a (x)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("splitStatements = %q, want %q", got, want)
	}
}

func TestMigrationsLoad(t *testing.T) {
	var counts []int
	for _, d := range []string{dialectSQLite, dialectMySQL, dialectPostgres} {
		ms, err := loadMigrations(d)
		if err != nil || len(ms) == 0 {
			t.Fatalf("%s: loadMigrations = %v, %v", d, ms, err)
		}
		counts = append(counts, len(ms))
	}
	if counts[0] != counts[1] || counts[1] != counts[2] {
		t.Fatalf("migrations per dialect = %v; every dialect needs each one", counts)
	}
}

func TestMySQLConfig(t *testing.T) {
	cfg, err := mysqlConfig("mysql://us%40er:p%40ss%3Aw%2Fd@db.example:3307/gatehouse?tls=skip-verify&timeout=2s&charset=utf8mb4")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "us@er" || cfg.Passwd != "p@ss:w/d" || cfg.Addr != "db.example:3307" || cfg.Net != "tcp" ||
		cfg.DBName != "gatehouse" || cfg.TLSConfig != "skip-verify" || cfg.Timeout != 2*time.Second {
		t.Fatalf("config = %+v", cfg)
	}
	if cfg.MultiStatements || !cfg.ClientFoundRows || !cfg.InterpolateParams || cfg.Params["sql_mode"] == "" {
		t.Fatalf("fixed options not set: %+v", cfg)
	}
	cfg, err = mysqlConfig("mysql://root@/test?multiStatements=true&interpolateParams=false")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:3306" || cfg.MultiStatements || cfg.InterpolateParams || cfg.Timeout != 5*time.Second {
		t.Fatalf("defaults: %+v", cfg)
	}
	_, err = mysqlConfig("mysql://root:secret@host:port/db")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("bad url error = %v; want one without the password", err)
	}
}

func TestMySQLURL(t *testing.T) {
	for _, tc := range []struct{ host, port, user, pass, name, want string }{
		{"db", "3306", "gh", "p@ss:w/d?#", "gatehouse", "mysql://gh:p%40ss%3Aw%2Fd%3F%23@db:3306/gatehouse"},
		{"db", "", "gh", "", "gatehouse", "mysql://gh@db/gatehouse"},
		{"::1", "3306", "", "", "g", "mysql://[::1]:3306/g"},
	} {
		got := MySQLURL(tc.host, tc.port, tc.user, tc.pass, tc.name)
		if got != tc.want {
			t.Errorf("MySQLURL = %q, want %q", got, tc.want)
		}
		cfg, err := mysqlConfig(got)
		if err != nil || cfg.User != tc.user || cfg.Passwd != tc.pass || cfg.DBName != tc.name {
			t.Errorf("%q parses to %+v, %v", got, cfg, err)
		}
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is two bytes: never cut in half
		{"a\x00b\xff", 10, "ab\uFFFD"},
	} {
		if got := clip(tc.in, tc.max); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestUsernameKey(t *testing.T) {
	if got := usernameKey("Alice_B-1.Z"); got != "alice_b-1.z" {
		t.Fatalf("usernameKey = %q", got)
	}
	if got := usernameKey("\u212A"); got != "\u212A" { // Kelvin sign: not folded to k
		t.Fatalf("usernameKey(Kelvin) = %q", got)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600))
	got := fromMicros(micros(t0))
	if !got.Equal(t0.Truncate(time.Microsecond)) || got.Location() != time.UTC {
		t.Fatalf("round trip of %v = %v", t0, got)
	}
	if nullMicros(time.Time{}) != nil || !stored(time.Time{}).IsZero() {
		t.Fatal("the zero time must be NULL")
	}
}

// TestIsUnavailable covers the driver errors a cut connection shows up as
// (found by cutting connections under load, see cmd/gatehouse's
// TestCutUnderLoad) and the refusals that must not count as an outage.
func TestIsUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "pgx conn closed", err: fmt.Errorf("exec: %w", pgconn.ErrConnClosed), want: true},
		{name: "database/sql conn done", err: sql.ErrConnDone, want: true},
		{name: "mysql invalid conn", err: mysql.ErrInvalidConn, want: true},
		{name: "postgres shutting down", err: &pgconn.PgError{Code: "57P01"}, want: true},
		{name: "postgres bad password", err: &pgconn.PgError{Code: "28P01"}, want: false},
		{name: "postgres unknown database", err: &pgconn.PgError{Code: "3D000"}, want: false},
		{name: "mysql access denied", err: &mysql.MySQLError{Number: 1045}, want: false},
		{name: "certificate not trusted", err: fmt.Errorf("connect: %w", &tls.CertificateVerificationError{}), want: false},
		{name: "syntax error", err: &pgconn.PgError{Code: "42601"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isUnavailable(tt.err); got != tt.want {
				t.Errorf("isUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
