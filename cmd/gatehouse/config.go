package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/web"
)

// config is gatehouse's whole configuration, read from the environment
// (and a .env file). Each field's env tag names its variable; README.md's
// configuration table lists exactly the variables loadConfig reads, with
// their defaults (TestREADMEConfigTable checks both).
type config struct {
	DatabaseURL      string        `env:"DATABASE_URL"`
	DB               sqldb.Options `env:"DB_MAX_OPEN_CONNS"` // and DB_MAX_IDLE_CONNS, DB_CONN_MAX_LIFETIME (zero: the dialect's default)
	JWTSecret        string        `env:"JWT_SECRET"`
	Addr             string        `env:"ADDR"`
	Issuer           string        `env:"ISSUER"`
	Audience         string        `env:"AUDIENCE"`
	AccessTTL        time.Duration `env:"ACCESS_TOKEN_TTL"`
	RefreshTTL       time.Duration `env:"REFRESH_TOKEN_TTL"`
	PasswordHash     string        `env:"PASSWORD_HASH"`
	BcryptCost       int           `env:"BCRYPT_COST"`
	RequestTimeout   time.Duration `env:"REQUEST_TIMEOUT"`
	RevocationSync   time.Duration `env:"REVOCATION_SYNC_INTERVAL"`
	StrictRevocation bool          `env:"STRICT_REVOCATION"`
	LogFormat        string        `env:"LOG_FORMAT"`
	LogLevel         string        `env:"LOG_LEVEL"`
	AccessLog        bool          `env:"ACCESS_LOG"`
	AuditRetention   time.Duration `env:"AUDIT_RETENTION"`
	CORSOrigins      []string      `env:"CORS_ALLOWED_ORIGINS"`

	KeyRotation    time.Duration       `env:"KEY_ROTATION_INTERVAL"` // 0: by hand only
	ServiceClients []web.ServiceClient `env:"SERVICE_CLIENTS"`
	abuseConfig                        // throttles, proxies, hashing pool: config_abuse.go
	mailConfig                         // SMTP, links and the email flows: config_mail.go
	webauthnConfig                     // passkeys: config_webauthn.go
	mfaConfig                          // second factors: config_mfa.go
}

// defaultRevocationSync is how often an instance reads the revocations
// others made. 100ms, not 200ms: measured on the three stores (auth's
// BenchmarkRevocationLag), 200ms put the lag's p99 at 200-330ms on a loaded
// machine, over the 250ms target; 100ms puts it at 100-165ms, for ten small
// indexed queries a second per instance.
const defaultRevocationSync = 100 * time.Millisecond

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
		RevocationSync:   r.duration("REVOCATION_SYNC_INTERVAL", defaultRevocationSync, 10*time.Millisecond, time.Second),
		RequestTimeout:   r.duration("REQUEST_TIMEOUT", 10*time.Second, time.Second, 5*time.Minute),
		StrictRevocation: r.boolean("STRICT_REVOCATION", false),
		KeyRotation:      r.durationOrOff("KEY_ROTATION_INTERVAL", auth.DefaultKeyRotation, time.Hour, 8760*time.Hour),
		ServiceClients:   r.serviceClients("SERVICE_CLIENTS"),
		LogFormat:        r.oneOf("LOG_FORMAT", "text", "text", "json"),
		LogLevel:         r.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		AccessLog:        r.boolean("ACCESS_LOG", true),
		AuditRetention:   r.duration("AUDIT_RETENTION", 90*24*time.Hour, time.Hour, 10*365*24*time.Hour),
		CORSOrigins:      r.origins("CORS_ALLOWED_ORIGINS"),
	}
	c.abuseConfig = loadAbuseConfig(&r)
	c.mfaConfig = loadMFAConfig(&r)
	c.Issuer = r.str("ISSUER", "http://"+c.Addr)
	c.mailConfig = loadMailConfig(&r, c.Issuer)
	c.webauthnConfig = loadWebAuthnConfig(&r, c.Issuer)
	c.DB = r.pool()
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

// pool reads the connection pool settings. Unset ones stay zero, which
// sqldb.Open turns into the dialect's default (README.md lists them). The
// bounds keep a typo from exhausting the server's max_connections or
// recycling connections so often that every request pays a handshake.
func (r *envReader) pool() sqldb.Options {
	o := sqldb.Options{
		MaxOpenConns:    r.integer("DB_MAX_OPEN_CONNS", 0, 1, 1000),
		MaxIdleConns:    r.integer("DB_MAX_IDLE_CONNS", 0, 1, 1000),
		ConnMaxLifetime: r.duration("DB_CONN_MAX_LIFETIME", 0, 10*time.Second, 24*time.Hour),
	}
	if o.MaxOpenConns > 0 && o.MaxIdleConns > o.MaxOpenConns {
		r.fail("DB_MAX_IDLE_CONNS", "must not exceed DB_MAX_OPEN_CONNS (%d), got %d", o.MaxOpenConns, o.MaxIdleConns)
	}
	return o
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

// durationOrOff is duration, with "0" meaning off (0).
func (r *envReader) durationOrOff(name string, def, min, max time.Duration) time.Duration {
	if strings.TrimSpace(r.getenv(name)) == "0" {
		return 0
	}
	v := r.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < min || d > max {
		r.fail(name, "must be 0 (off) or a Go duration from %s to %s (like 720h), got %q", min, max, v)
		return def
	}
	return d
}

// serviceClients reads "id:secret,id2:secret2". The message never shows a
// secret.
func (r *envReader) serviceClients(name string) []web.ServiceClient {
	cs, err := web.ParseServiceClients(r.getenv(name))
	if err != nil {
		r.fail(name, "%v", err)
	}
	return cs
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

// origins reads a comma-separated list of CORS origins; empty: none.
func (r *envReader) origins(name string) []string {
	var out []string
	for _, v := range strings.Split(r.getenv(name), ",") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		o, err := web.ParseOrigin(v)
		if err != nil {
			r.fail(name, "%v", err)
			return nil
		}
		out = append(out, o)
	}
	return out
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
