package sqldb

import (
	"database/sql"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqlitePragmas configure every SQLite connection:
//   - busy_timeout: wait up to 5 s for another process's write lock;
//   - foreign_keys: ON DELETE CASCADE and the references are enforced;
//   - WAL: readers do not block the writer nor it them;
//   - synchronous NORMAL: in WAL mode a commit is in the log before it
//     returns, so it survives the process being killed (SIGKILL); only a
//     power loss may take the last commits;
//   - _txlock=immediate: every transaction takes the write lock at BEGIN, so
//     writers queue instead of failing to upgrade a read lock
//     (SQLITE_BUSY_SNAPSHOT) half-way.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// openSQLite opens "PATH[?options]" (the url after "sqlite:"), "//PATH" or
// ":memory:", and fills opts with the SQLite defaults.
func openSQLite(rest string, opts Options) (*sql.DB, Options, error) {
	rest = strings.TrimPrefix(rest, "//")
	path, extra, _ := strings.Cut(rest, "?")
	if path == "" {
		return nil, opts, errors.New("empty path")
	}
	dsn := path + "?" + sqlitePragmas
	if extra != "" {
		dsn += "&" + extra
	}
	if path == ":memory:" {
		opts = Options{MaxOpenConns: 1, MaxIdleConns: 1, OnError: opts.OnError}
	}
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = 8
	}
	if opts.MaxIdleConns == 0 {
		opts.MaxIdleConns = opts.MaxOpenConns
	}
	db, err := sql.Open("sqlite", dsn)
	return db, opts, err
}

// openPostgres opens a pgx URL through pgx's database/sql adapter. A
// connection attempt gives up after 5 s unless the URL sets
// connect_timeout, so that an unreachable server is reported, not waited on.
func openPostgres(raw string) (*sql.DB, error) {
	if !strings.Contains(raw, "connect_timeout=") {
		sep := "?"
		if strings.Contains(raw, "?") {
			sep = "&"
		}
		raw += sep + "connect_timeout=5"
	}
	cfg, err := pgx.ParseConfig(raw) // its errors hide the password
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg), nil
}

func openMySQL(raw string) (*sql.DB, error) {
	cfg, err := mysqlConfig(raw)
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// mysqlConfig turns mysql://user:pass@host:port/db?options into the
// driver's configuration. Options are go-sql-driver's (tls, timeout,
// readTimeout, charset, …); a few are fixed because the package relies on
// them:
//   - multiStatements off: one statement per call, no stacked injection;
//   - clientFoundRows on: RowsAffected counts matched rows, so an update
//     that changes nothing is not mistaken for a missing row;
//   - interpolateParams on unless set: one round trip per query instead of
//     prepare, execute, close (safe: the driver refuses it for the
//     multi-byte charsets where it would not be);
//   - timeout 5s unless set; sql_mode STRICT_ALL_TABLES unless set, so an
//     oversized value is an error, never silently cut.
func mysqlConfig(raw string) (*mysql.Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the url, which holds the password
		}
		return nil, err
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	addr := net.JoinHostPort(host, port)
	// The driver parses the options; the address goes in too so that tls
	// verifies the right server name.
	cfg, err := mysql.ParseDSN("tcp(" + addr + ")/?" + u.RawQuery)
	if err != nil {
		return nil, err
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	cfg.MultiStatements, cfg.ParseTime, cfg.ClientFoundRows = false, false, true
	q := u.Query()
	if !q.Has("interpolateParams") {
		cfg.InterpolateParams = true
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["sql_mode"]; !ok {
		cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"
	}
	return cfg, nil
}

// MySQLURL builds the mysql:// url that Open takes from the separate
// DB_HOST, DB_PORT, DB_USER, DB_PASSWORD and DB_NAME settings, escaping the
// user and password. An empty host or port means 127.0.0.1 and 3306.
func MySQLURL(host, port, user, password, name string) string {
	u := url.URL{Scheme: "mysql", Host: host, Path: "/" + name}
	if port != "" {
		u.Host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		u.Host = "[" + host + "]" // an IPv6 address
	}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else if user != "" {
		u.User = url.User(user)
	}
	return u.String()
}
