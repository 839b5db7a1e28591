package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestDBPoolConfig: unset pool settings stay zero (sqldb.Open's dialect
// defaults); set ones reach sqldb.Options; idle above open is refused.
func TestDBPoolConfig(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		want    sqldb.Options
		wantErr string
	}{
		{name: "defaults", vars: nil, want: sqldb.Options{}},
		{name: "all set", vars: map[string]string{"DB_MAX_OPEN_CONNS": "50", "DB_MAX_IDLE_CONNS": "25", "DB_CONN_MAX_LIFETIME": "30m"},
			want: sqldb.Options{MaxOpenConns: 50, MaxIdleConns: 25, ConnMaxLifetime: 30 * time.Minute}},
		{name: "idle only", vars: map[string]string{"DB_MAX_IDLE_CONNS": "5"}, want: sqldb.Options{MaxIdleConns: 5}},
		{name: "idle above open", vars: map[string]string{"DB_MAX_OPEN_CONNS": "5", "DB_MAX_IDLE_CONNS": "6"}, wantErr: "DB_MAX_IDLE_CONNS"},
		{name: "open too many", vars: map[string]string{"DB_MAX_OPEN_CONNS": "5000"}, wantErr: "DB_MAX_OPEN_CONNS"},
		{name: "lifetime not a duration", vars: map[string]string{"DB_CONN_MAX_LIFETIME": "300"}, wantErr: "DB_CONN_MAX_LIFETIME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(envOf(tt.vars))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != 3 {
					t.Fatalf("err = %v, want a configuration error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.DB; got.MaxOpenConns != tt.want.MaxOpenConns || got.MaxIdleConns != tt.want.MaxIdleConns || got.ConnMaxLifetime != tt.want.ConnMaxLifetime {
				t.Errorf("pool options = %+v, want %+v", cfg.DB, tt.want)
			}
		})
	}
}

// TestDBPartsSelectMySQL: without DATABASE_URL, the original system's
// DB_* variables name a MySQL database; DATABASE_URL wins over them.
func TestDBPartsSelectMySQL(t *testing.T) {
	parts := map[string]string{"DB_HOST": "db.internal", "DB_PORT": "3307", "DB_USER": "gate", "DB_PASSWORD": "p@ss:w/rd", "DB_NAME": "auth"}
	cfg, err := loadConfig(envOf(parts))
	if err != nil {
		t.Fatal(err)
	}
	if want := "mysql://gate:p%40ss%3Aw%2Frd@db.internal:3307/auth"; cfg.DatabaseURL != want {
		t.Errorf("DATABASE_URL = %q, want %q", cfg.DatabaseURL, want)
	}
	parts["DATABASE_URL"] = "postgres://x@y/z"
	if cfg, err = loadConfig(envOf(parts)); err != nil || cfg.DatabaseURL != "postgres://x@y/z" {
		t.Errorf("DATABASE_URL with DB_*: %q, %v; want DATABASE_URL to win", cfg.DatabaseURL, err)
	}
	if cfg, err = loadConfig(envOf(nil)); err != nil || cfg.DatabaseURL != "sqlite:gatehouse.db" {
		t.Errorf("default DATABASE_URL = %q, %v", cfg.DatabaseURL, err)
	}
}

// TestDBPartsEndToEnd runs gatehouse on the real MariaDB named only by
// DB_HOST, DB_PORT, DB_USER, DB_PASSWORD and DB_NAME, as the original
// system was configured, and finds the user it registered in that database.
func TestDBPartsEndToEnd(t *testing.T) {
	db := storetest.FreshURL(t, "mysql")
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	g := start(t, testEnv(t, map[string]string{
		"DATABASE_URL": "",
		"DB_HOST":      u.Hostname(),
		"DB_PORT":      u.Port(),
		"DB_USER":      u.User.Username(),
		"DB_PASSWORD":  password,
		"DB_NAME":      strings.TrimPrefix(u.Path, "/"),
	}))
	register(t, g.url, "olivia", "olivias password")
	p := login(t, g.url, "olivia", "olivias password")
	wantStatus(t, "main", call(t, "GET", g.url+"/api/main", p.access, nil), 200)
	if h := userHash(t, db, "olivia"); !strings.HasPrefix(h, "$bcrypt-hmac-sha256$") {
		t.Errorf("stored hash %q", h)
	}
	if !strings.Contains(g.logs.String(), "store=mysql") {
		t.Errorf("log does not name the mysql store:\n%s", g.logs)
	}
}

// TestPostgresTLS runs gatehouse with sslmode=require (the test server has
// a self-signed certificate, so verify-full is refused: see sqldb's
// TestRefusalIsNotUnavailable) and checks on the server that every
// connection gatehouse holds is encrypted.
func TestPostgresTLS(t *testing.T) {
	db := storetest.FreshURL(t, "postgres")
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("sslmode", "require")
	u.RawQuery = q.Encode()
	g := start(t, storeEnv(t, u.String(), nil))
	register(t, g.url, "tlsuser", "tls users password")
	login(t, g.url, "tlsuser", "tls users password")

	admin, err := sqldb.Open(t.Context(), db, sqldb.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var encrypted, plain int
	err = admin.SQL().QueryRowContext(t.Context(), `SELECT
			COUNT(*) FILTER (WHERE s.ssl), COUNT(*) FILTER (WHERE NOT s.ssl)
		FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid
		WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()`).Scan(&encrypted, &plain)
	if err != nil {
		t.Fatal(err)
	}
	if encrypted == 0 || plain != 0 {
		t.Errorf("gatehouse's connections: %d encrypted, %d plain; want all encrypted", encrypted, plain)
	}
}
