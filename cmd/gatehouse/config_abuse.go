package main

import (
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/web"
)

// abuseConfig is the part of the configuration that resists abuse:
// throttles, the trusted proxies and the hashing pool. README.md's
// configuration table lists every field and why its default is what it is.
type abuseConfig struct {
	LoginUserLimit    int            // LOGIN_USER_LIMIT
	LoginAddressLimit int            // LOGIN_ADDRESS_LIMIT
	LoginWindow       time.Duration  // LOGIN_WINDOW
	LoginLockoutMax   time.Duration  // LOGIN_LOCKOUT_MAX
	RegisterLimit     int            // REGISTER_ADDRESS_LIMIT
	RegisterWindow    time.Duration  // REGISTER_WINDOW
	TrustedProxies    []netip.Prefix // TRUSTED_PROXIES
	ClientIPHeader    string         // CLIENT_IP_HEADER
	HashConcurrency   int            // HASH_CONCURRENCY
	HashQueue         int            // HASH_QUEUE
	HashQueueWait     time.Duration  // HASH_QUEUE_WAIT
	HashNice          int            // HASH_NICE
}

// loadAbuseConfig reads the abuse settings into r's first error, if any.
func loadAbuseConfig(r *envReader) abuseConfig {
	d := auth.DefaultThrottling
	c := abuseConfig{
		// NIST SP 800-63B caps consecutive failures at 100: more per
		// window than that is refused as a configuration.
		LoginUserLimit:    r.integer("LOGIN_USER_LIMIT", d.LoginUser.Limit, 0, 100),
		LoginAddressLimit: r.integer("LOGIN_ADDRESS_LIMIT", d.LoginAddress.Limit, 0, 1_000_000),
		LoginWindow:       r.duration("LOGIN_WINDOW", d.LoginUser.Window, time.Second, 24*time.Hour),
		LoginLockoutMax:   r.duration("LOGIN_LOCKOUT_MAX", d.LoginUser.MaxWindow, time.Second, 30*24*time.Hour),
		RegisterLimit:     r.integer("REGISTER_ADDRESS_LIMIT", d.Register.Limit, 0, 1_000_000),
		RegisterWindow:    r.duration("REGISTER_WINDOW", d.Register.Window, time.Second, 24*time.Hour),
		TrustedProxies:    r.prefixes("TRUSTED_PROXIES"),
		ClientIPHeader:    r.header("CLIENT_IP_HEADER", web.HeaderXForwardedFor, web.HeaderForwarded),
		HashConcurrency:   r.integer("HASH_CONCURRENCY", auth.DefaultPoolSize(), 1, 1024),
		HashQueueWait:     r.duration("HASH_QUEUE_WAIT", auth.DefaultQueueWait, 0, 20*time.Second),
		HashNice:          r.integer("HASH_NICE", auth.DefaultNice, 0, 19),
	}
	c.HashQueue = r.integer("HASH_QUEUE", auth.DefaultQueue*c.HashConcurrency, 0, 1_000_000)
	if c.LoginLockoutMax < c.LoginWindow && r.err == nil {
		r.fail("LOGIN_LOCKOUT_MAX", "must not be shorter than LOGIN_WINDOW (%s)", c.LoginWindow)
	}
	return c
}

// pool is the hashing pool from the settings.
func (c *abuseConfig) pool() *auth.Pool {
	p := auth.NewPool(c.HashConcurrency, c.HashQueue, c.HashQueueWait)
	p.SetNice(c.HashNice)
	auth.ReserveProc(c.HashConcurrency)
	return p
}

// throttling is the auth service's throttling from the settings. The
// address limit does not grow: an address may be shared by many people
// (a NAT, an office), and growth would punish them all for one.
func (c *abuseConfig) throttling() auth.Throttling {
	return auth.Throttling{
		LoginUser:    gatehouse.ThrottleRule{Limit: c.LoginUserLimit, Window: c.LoginWindow, MaxWindow: c.LoginLockoutMax},
		LoginAddress: gatehouse.ThrottleRule{Limit: c.LoginAddressLimit, Window: c.LoginWindow, MaxWindow: c.LoginWindow},
		Register:     gatehouse.ThrottleRule{Limit: c.RegisterLimit, Window: c.RegisterWindow, MaxWindow: c.RegisterWindow},
	}
}

// prefixes reads a list of CIDR prefixes or single addresses, separated
// by commas or spaces. IPv4-mapped IPv6 prefixes are taken as IPv4, as
// client addresses are.
func (r *envReader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(r.getenv(name), func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil || a.Zone() != "" {
				r.fail(name, "must be a list of CIDR prefixes or addresses (like 10.0.0.0/8, 192.0.2.7), got %q", f)
				return nil
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// header reads one of the allowed header names, without regard to case.
func (r *envReader) header(name, def string, allowed ...string) string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	for _, a := range append([]string{def}, allowed...) {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	r.fail(name, "must be %s or %s, got %q", def, strings.Join(allowed, " or "), v)
	return def
}

// trustsEveryone reports whether a prefix covers every address: then any
// client may name its own address.
func (c *abuseConfig) trustsEveryone() bool {
	for _, p := range c.TrustedProxies {
		if p.Bits() == 0 {
			return true
		}
	}
	return false
}
