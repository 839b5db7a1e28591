package main

import (
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/auth"
)

// webauthnConfig is where passkeys may be used: the relying party id (a
// host name that passkeys are bound to for good) and the origins of the
// pages that run the ceremonies.
type webauthnConfig struct {
	RPID    string   // WEBAUTHN_RP_ID; "": passkeys off
	Origins []string // WEBAUTHN_ORIGINS
}

// loadWebAuthnConfig reads WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS. Their
// defaults come from the issuer, the server's public URL: its host and its
// origin. Browsers refuse an IP address as a relying party id, so a
// loopback issuer (the default http://127.0.0.1:8080) gives "localhost"
// and its origin on localhost, where browsers allow WebAuthn without
// HTTPS; any other IP address leaves passkeys off unless the variables
// are set.
func loadWebAuthnConfig(r *envReader, issuer string) webauthnConfig {
	var c webauthnConfig
	defHost, defOrigin := issuerHost(issuer)
	c.RPID = strings.ToLower(r.str("WEBAUTHN_RP_ID", defHost))
	c.Origins = r.origins("WEBAUTHN_ORIGINS")
	if len(c.Origins) == 0 && defOrigin != "" {
		c.Origins = []string{defOrigin}
	}
	if c.RPID == "" {
		return c
	}
	if _, err := netip.ParseAddr(c.RPID); err == nil || !validHostName(c.RPID) {
		r.fail("WEBAUTHN_RP_ID", "must be a host name like example.com (no scheme, port or IP address), got %q", c.RPID)
		return c
	}
	if len(c.Origins) == 0 {
		r.fail("WEBAUTHN_ORIGINS", "must list the origins of the pages on %s (like https://%s)", c.RPID, c.RPID)
	}
	for _, o := range c.Origins {
		u, _ := url.Parse(o)
		if h := u.Hostname(); h != c.RPID && !strings.HasSuffix(h, "."+c.RPID) {
			r.fail("WEBAUTHN_ORIGINS", "origin %s is not on WEBAUTHN_RP_ID %s or a subdomain of it", o, c.RPID)
		}
	}
	return c
}

// issuerHost returns the relying party id and origin the issuer implies,
// or "" for an issuer on an IP address that is not loopback.
func issuerHost(issuer string) (host, origin string) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return "", ""
	}
	host = strings.ToLower(u.Hostname())
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return "", ""
		}
		host = "localhost"
	}
	origin = u.Scheme + "://" + host
	if p := u.Port(); p != "" {
		origin += ":" + p
	}
	return host, origin
}

// validHostName accepts dot-separated labels of letters, digits and
// hyphens.
func validHostName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// passkeys is the auth service's WebAuthn configuration.
func (c *webauthnConfig) passkeys() auth.PasskeyConfig {
	return auth.PasskeyConfig{RPID: c.RPID, Origins: c.Origins}
}
