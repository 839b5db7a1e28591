package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
)

// config is gatehouse's whole configuration, read from the environment
// (and a .env file). README.md's configuration table lists every field.
type config struct {
	DatabaseURL      string        // DATABASE_URL
	JWTSecret        string        // JWT_SECRET
	Addr             string        // ADDR
	Issuer           string        // ISSUER
	Audience         string        // AUDIENCE
	AccessTTL        time.Duration // ACCESS_TOKEN_TTL
	RefreshTTL       time.Duration // REFRESH_TOKEN_TTL
	PasswordHash     string        // PASSWORD_HASH
	BcryptCost       int           // BCRYPT_COST
	RevocationSync   time.Duration // REVOCATION_SYNC_INTERVAL
	StrictRevocation bool          // STRICT_REVOCATION
	LogFormat        string        // LOG_FORMAT
	LogLevel         string        // LOG_LEVEL
	abuseConfig                    // throttles, proxies, hashing pool: config_abuse.go
}

// configError names the variable that stopped the start.
type configError struct {
	name, msg string
}

func (e *configError) Error() string { return "invalid configuration: " + e.name + ": " + e.msg }

// loadConfig reads and checks the configuration.
func loadConfig(getenv func(string) string) (*config, error) {
	r := envReader{getenv: getenv}
	c := &config{
		DatabaseURL:      r.str("DATABASE_URL", ""),
		JWTSecret:        getenv("JWT_SECRET"),
		Addr:             r.str("ADDR", "127.0.0.1:8080"),
		Audience:         r.str("AUDIENCE", "gatehouse"),
		AccessTTL:        r.duration("ACCESS_TOKEN_TTL", 15*time.Minute, 10*time.Second, 24*time.Hour),
		RefreshTTL:       r.duration("REFRESH_TOKEN_TTL", 720*time.Hour, time.Minute, 8760*time.Hour),
		PasswordHash:     r.oneOf("PASSWORD_HASH", auth.Bcrypt, auth.Bcrypt, auth.Argon2id),
		BcryptCost:       r.integer("BCRYPT_COST", 12, 4, 15),
		RevocationSync:   r.duration("REVOCATION_SYNC_INTERVAL", 200*time.Millisecond, 10*time.Millisecond, time.Second),
		StrictRevocation: r.boolean("STRICT_REVOCATION", false),
		LogFormat:        r.oneOf("LOG_FORMAT", "text", "text", "json"),
		LogLevel:         r.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
	}
	c.abuseConfig = loadAbuseConfig(&r)
	c.Issuer = r.str("ISSUER", "http://"+c.Addr)
	if c.DatabaseURL == "" {
		c.DatabaseURL = mysqlFromParts(getenv)
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:gatehouse.db"
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		r.fail("JWT_SECRET", "must be at least 32 bytes long (it is the HS256 key), got %d", len(c.JWTSecret))
	}
	if c.AccessTTL >= c.RefreshTTL && r.err == nil {
		r.fail("ACCESS_TOKEN_TTL", "must be shorter than REFRESH_TOKEN_TTL")
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// mysqlFromParts builds a MySQL URL from the original system's DB_HOST,
// DB_PORT, DB_USER, DB_PASSWORD and DB_NAME, or returns "" when DB_HOST
// and DB_NAME are both unset.
func mysqlFromParts(getenv func(string) string) string {
	host, name := getenv("DB_HOST"), getenv("DB_NAME")
	if host == "" && name == "" {
		return ""
	}
	if host == "" {
		host = "127.0.0.1"
	}
	port := getenv("DB_PORT")
	if port == "" {
		port = "3306"
	}
	return sqldb.MySQLURL(host, port, getenv("DB_USER"), getenv("DB_PASSWORD"), name)
}

// envReader reads typed variables and keeps the first error.
type envReader struct {
	getenv func(string) string
	err    error
}

func (r *envReader) fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = &configError{name: name, msg: fmt.Sprintf(format, args...)}
	}
}

func (r *envReader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *envReader) duration(name string, def, min, max time.Duration) time.Duration {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < min || d > max {
		r.fail(name, "must be a Go duration from %s to %s (like 15m or 720h), got %q", min, max, v)
		return def
	}
	return d
}

func (r *envReader) integer(name string, def, min, max int) int {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.fail(name, "must be a whole number from %d to %d, got %q", min, max, v)
		return def
	}
	return n
}

func (r *envReader) boolean(name string, def bool) bool {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "must be true or false, got %q", v)
		return def
	}
	return b
}

func (r *envReader) oneOf(name, def string, allowed ...string) string {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
	return def
}
