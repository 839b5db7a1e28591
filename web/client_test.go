package web

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func prefixes(t testing.TB, cidrs ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

func TestClientIP(t *testing.T) {
	lb := []string{"10.0.0.0/8", "2001:db8:ffff::/48"}
	tests := []struct {
		name    string
		trusted []string
		header  string // HeaderXForwardedFor ("") or HeaderForwarded
		remote  string
		xff     []string
		fwd     []string
		want    string
	}{
		{name: "no proxies: header ignored", remote: "198.51.100.1:5000", xff: []string{"203.0.113.9"}, want: "198.51.100.1"},
		{name: "untrusted peer: header ignored", trusted: lb, remote: "198.51.100.1:5000", xff: []string{"203.0.113.9"}, want: "198.51.100.1"},
		{name: "trusted peer, one hop", trusted: lb, remote: "10.0.0.2:5000", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "right-most untrusted wins over a forged left part", trusted: lb, remote: "10.0.0.2:5000", xff: []string{"1.1.1.1, 203.0.113.9, 10.0.0.7"}, want: "203.0.113.9"},
		{name: "several lines are one list", trusted: lb, remote: "10.0.0.2:5000", xff: []string{"1.1.1.1", "203.0.113.9", "10.0.0.7"}, want: "203.0.113.9"},
		{name: "trusted peer without header", trusted: lb, remote: "10.0.0.2:5000", want: "10.0.0.2"},
		{name: "every hop trusted: the left-most", trusted: lb, remote: "10.0.0.2:5000", xff: []string{"10.1.1.1, 10.0.0.7"}, want: "10.1.1.1"},
		{name: "garbage ends the walk at the last good hop", trusted: lb, remote: "10.0.0.2:5000", xff: []string{"203.0.113.9, nonsense, 10.0.0.7"}, want: "10.0.0.7"},
		{name: "empty element ends the walk", trusted: lb, remote: "10.0.0.2:5000", xff: []string{"203.0.113.9,,"}, want: "10.0.0.2"},
		{name: "port and spaces", trusted: lb, remote: "10.0.0.2:5000", xff: []string{" 203.0.113.9:1234 ,\t10.0.0.7"}, want: "203.0.113.9"},
		{name: "IPv6 with brackets and port", trusted: lb, remote: "[2001:db8:ffff::1]:443", xff: []string{"[2001:db8::17]:4711"}, want: "2001:db8::17"},
		{name: "IPv6 bare", trusted: lb, remote: "[2001:db8:ffff::1]:443", xff: []string{"2001:db8::17"}, want: "2001:db8::17"},
		{name: "IPv4-mapped is IPv4", trusted: lb, remote: "[::ffff:10.0.0.2]:443", xff: []string{"::ffff:203.0.113.9"}, want: "203.0.113.9"},
		{name: "zone dropped", trusted: lb, remote: "10.0.0.2:5000", xff: []string{"fe80::1%eth0"}, want: "fe80::1"},
		{name: "Forwarded not read when X-Forwarded-For is chosen", trusted: lb, remote: "10.0.0.2:5000", fwd: []string{"for=203.0.113.9"}, want: "10.0.0.2"},
		{name: "X-Forwarded-For not read when Forwarded is chosen", trusted: lb, header: HeaderForwarded, remote: "10.0.0.2:5000", xff: []string{"203.0.113.9"}, want: "10.0.0.2"},
		{name: "Forwarded", trusted: lb, header: HeaderForwarded, remote: "10.0.0.2:5000", fwd: []string{"for=192.0.2.60;proto=http;by=203.0.113.43"}, want: "192.0.2.60"},
		{name: "Forwarded right-most untrusted", trusted: lb, header: HeaderForwarded, remote: "10.0.0.2:5000", fwd: []string{`for=1.1.1.1, For="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.3`}, want: "2001:db8:cafe::17"},
		{name: "Forwarded quoted comma is not a separator", trusted: lb, header: HeaderForwarded, remote: "10.0.0.2:5000", fwd: []string{`for=203.0.113.9;ext="a,b", for=10.0.0.3`}, want: "203.0.113.9"},
		{name: "Forwarded escaped quote", trusted: lb, header: HeaderForwarded, remote: "10.0.0.2:5000", fwd: []string{`for=203.0.113.9;ext="a\",for=1.1.1.1"`}, want: "203.0.113.9"},
		{name: "Forwarded obfuscated node ends the walk", trusted: lb, header: HeaderForwarded, remote: "10.0.0.2:5000", fwd: []string{"for=203.0.113.9, for=_hidden, for=10.0.0.3"}, want: "10.0.0.3"},
		{name: "Forwarded element without for", trusted: lb, header: HeaderForwarded, remote: "10.0.0.2:5000", fwd: []string{"for=203.0.113.9, proto=https"}, want: "10.0.0.2"},
		{name: "Forwarded unknown", trusted: lb, header: HeaderForwarded, remote: "10.0.0.2:5000", fwd: []string{"for=unknown"}, want: "10.0.0.2"},
		{name: "remote address not ip:port", trusted: lb, remote: "pipe", xff: []string{"203.0.113.9"}, want: "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &proxies{trusted: prefixes(t, tt.trusted...), header: tt.header}
			h := http.Header{}
			for _, v := range tt.xff {
				h.Add(HeaderXForwardedFor, v)
			}
			for _, v := range tt.fwd {
				h.Add(HeaderForwarded, v)
			}
			if got := p.clientIP(tt.remote, h); got != tt.want {
				t.Errorf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzClientIP checks the forwarding-header walk on arbitrary headers:
// never a panic; an untrusted peer is always the answer; otherwise the
// answer is a valid address that is the peer or a hop of the header, and
// every hop right of it is a trusted proxy's.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "1.1.1.1, 203.0.113.9, 10.0.0.7", "[2001:db8::17]:4711", "for=192.0.2.60;proto=http", `for="[2001:db8:cafe::17]:4711", for=10.0.0.3`, `for=a;ext="x,\"y", for=1.2.3.4`, "", ",,,", "::ffff:10.0.0.1", "fe80::1%eth0", `"`, `\`} {
		f.Add("10.0.0.2:5000", s, false)
		f.Add("10.0.0.2:5000", s, true)
	}
	f.Add("198.51.100.1:80", "203.0.113.9", false)
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	f.Fuzz(func(t *testing.T, remote, value string, forwarded bool) {
		p := &proxies{trusted: trusted, header: HeaderXForwardedFor}
		if forwarded {
			p.header = HeaderForwarded
		}
		h := http.Header{p.header: {value}}
		got := p.clientIP(remote, h)
		peer, ok := parseHop(hostOf(remote))
		if !ok {
			if got != hostOf(remote) {
				t.Fatalf("unparseable peer %q: got %q", remote, got)
			}
			return
		}
		if !p.trusts(peer) {
			if got != peer.String() {
				t.Fatalf("untrusted peer %q: got %q", remote, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("clientIP = %q, not a plain address", got)
		}
		if a == peer {
			return
		}
		var hops []string
		if forwarded {
			hops = forwardedFor([]string{value})
		} else {
			hops = xForwardedFor([]string{value})
		}
		for i := len(hops) - 1; i >= 0; i-- {
			h, ok := parseHop(hops[i])
			if ok && h == a {
				return
			}
			if !ok || !p.trusts(h) {
				t.Fatalf("clientIP = %q passes untrusted or bad hop %q of %q", got, hops[i], value)
			}
		}
		t.Fatalf("clientIP = %q is neither the peer nor a hop of %q", got, value)
	})
}

func TestSplitOutsideQuotes(t *testing.T) {
	got := splitOutsideQuotes(`a="x,y",b="q\",r",c`, ',')
	want := []string{`a="x,y"`, `b="q\",r"`, `c`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("split = %q, want %q", got, want)
	}
	if u := unquote(`"a\"b\\c"`); u != `a"b\c` {
		t.Fatalf("unquote = %q", u)
	}
}
