package main

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

func TestAbuseConfigDefaults(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.throttling(), auth.DefaultThrottling; got != want {
		t.Errorf("throttling = %+v, want the defaults %+v", got, want)
	}
	if c.TrustedProxies != nil || c.ClientIPHeader != "X-Forwarded-For" {
		t.Errorf("proxies = %v, header %q; want none and X-Forwarded-For", c.TrustedProxies, c.ClientIPHeader)
	}
	if c.HashConcurrency != auth.DefaultPoolSize() || c.HashQueue != auth.DefaultQueue*c.HashConcurrency || c.HashQueueWait != auth.DefaultQueueWait || c.HashNice != auth.DefaultNice {
		t.Errorf("pool = %d slots, queue %d, wait %v", c.HashConcurrency, c.HashQueue, c.HashQueueWait)
	}
}

func TestAbuseConfigValues(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{
		"LOGIN_USER_LIMIT": "5", "LOGIN_ADDRESS_LIMIT": "0", "LOGIN_WINDOW": "10m", "LOGIN_LOCKOUT_MAX": "10m",
		"REGISTER_ADDRESS_LIMIT": "7", "REGISTER_WINDOW": "2h",
		"TRUSTED_PROXIES":  "10.0.0.0/8, 192.0.2.7 2001:db8::/32,::ffff:172.16.0.0/108",
		"CLIENT_IP_HEADER": "forwarded",
		"HASH_CONCURRENCY": "3", "HASH_QUEUE": "0", "HASH_QUEUE_WAIT": "500ms", "HASH_NICE": "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	th := c.throttling()
	if th.LoginUser.Limit != 5 || th.LoginUser.Window != 10*time.Minute || th.LoginUser.MaxWindow != 10*time.Minute ||
		th.LoginAddress.Enabled() || th.Register.Limit != 7 || th.Register.Window != 2*time.Hour {
		t.Errorf("throttling = %+v", th)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("172.16.0.0/12"),
	}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("TRUSTED_PROXIES = %v, want %v", c.TrustedProxies, want)
	}
	if c.ClientIPHeader != "Forwarded" || c.HashConcurrency != 3 || c.HashQueue != 0 || c.HashQueueWait != 500*time.Millisecond || c.HashNice != 0 {
		t.Errorf("header %q, pool %d/%d/%v", c.ClientIPHeader, c.HashConcurrency, c.HashQueue, c.HashQueueWait)
	}
}

func TestAbuseConfigInvalid(t *testing.T) {
	for name, value := range map[string]string{
		"LOGIN_USER_LIMIT":       "101",
		"LOGIN_ADDRESS_LIMIT":    "-1",
		"LOGIN_WINDOW":           "forever",
		"LOGIN_LOCKOUT_MAX":      "1m", // shorter than the 15m window
		"REGISTER_ADDRESS_LIMIT": "many",
		"REGISTER_WINDOW":        "0s",
		"TRUSTED_PROXIES":        "10.0.0.0/8, example.com",
		"CLIENT_IP_HEADER":       "X-Real-IP",
		"HASH_CONCURRENCY":       "0",
		"HASH_QUEUE":             "-5",
		"HASH_QUEUE_WAIT":        "1m",
		"HASH_NICE":              "20",
	} {
		_, err := loadConfig(envOf(map[string]string{name: value}))
		var ce *configError
		if !errors.As(err, &ce) || ce.name != name || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v, want a configuration error naming it", name, value, err)
		}
	}
}
