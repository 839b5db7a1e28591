package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Client-address headers that TrustedProxies may be believed for.
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderForwarded     = "Forwarded" // RFC 7239
)

// proxies decides which address a request comes from. Only the peer's
// address is known for sure; a forwarding header is believed only as far
// as trusted proxies vouch for it. Reading right to left, each trusted hop
// names the one before it; the first untrusted address is the client.
// Anything left of it may be forged by the client and is never read.
type proxies struct {
	trusted []netip.Prefix
	header  string // HeaderXForwardedFor or HeaderForwarded
}

type clientKey struct{}

// clientAddress puts the client's address, as proxies see it, in the
// request context for clientOf. It is installed only when proxies are
// trusted; otherwise clientOf takes the peer address.
func (p *proxies) clientAddress(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, p.clientIP(r.RemoteAddr, r.Header))))
	})
}

// clientIP returns the client's address: the peer's, or, when the peer is
// a trusted proxy, the right-most address in the forwarding header that no
// trusted proxy owns. An address a trusted proxy wrote but that does not
// parse ends the walk at the last good one.
func (p *proxies) clientIP(remoteAddr string, h http.Header) string {
	host := hostOf(remoteAddr)
	addr, ok := parseHop(host)
	if !ok {
		return host
	}
	if !p.trusts(addr) {
		return addr.String()
	}
	var hops []string
	if p.header == HeaderForwarded {
		hops = forwardedFor(h.Values(HeaderForwarded))
	} else {
		hops = xForwardedFor(h.Values(HeaderXForwardedFor))
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		addr = a
		if !p.trusts(a) {
			break
		}
	}
	return addr.String()
}

func (p *proxies) trusts(a netip.Addr) bool {
	for _, pf := range p.trusted {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// hostOf is the host part of a RemoteAddr ("ip:port"), or all of it.
func hostOf(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// parseHop reads one node of a forwarding header: an IPv4 or IPv6
// address, possibly bracketed, possibly with a port. IPv4-mapped IPv6 is
// taken as IPv4 and a zone is dropped, so one client has one spelling.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " \t")
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr == nil {
			a, err = ap.Addr(), nil
		} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
			a, err = netip.ParseAddr(s[1 : len(s)-1])
		}
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// xForwardedFor lists the hops of every X-Forwarded-For line, in order.
func xForwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	return hops
}

// forwardedFor lists the "for" node of every element of every Forwarded
// line (RFC 7239), in order; "" for an element without one.
func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, elem := range splitOutsideQuotes(v, ',') {
			hop := ""
			for _, pair := range splitOutsideQuotes(elem, ';') {
				name, value, ok := strings.Cut(pair, "=")
				if ok && strings.EqualFold(strings.Trim(name, " \t"), "for") {
					hop = unquote(strings.Trim(value, " \t"))
					break
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops
}

// splitOutsideQuotes splits s at each sep that is not inside an RFC 9110
// quoted-string (where a backslash escapes the next character).
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// unquote returns the content of a quoted-string, or s if it is not one.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
