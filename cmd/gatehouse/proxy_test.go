package main

import (
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// tcpProxy forwards a port of its own on 127.0.0.1 to a database server,
// and can fail like a network does: an outage for one gatehouse under test
// that leaves the shared server, which other tests use, alone. It keeps its
// port throughout, so that nothing else can take it.
type tcpProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu      sync.Mutex
	mode    proxyMode
	resumed chan struct{} // closed when a stall ends
	conns   map[net.Conn]struct{}
}

type proxyMode int

const (
	proxyUp    proxyMode = iota
	proxyReset           // every connection is reset, as by a server that is down
	proxyStall           // nothing passes and nothing is refused, as in a partition
)

// newProxy proxies to the host:port of the database url dbURL; the test's
// end closes it.
func newProxy(t *testing.T, dbURL string) *tcpProxy {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

// url returns dbURL with its host and port replaced by the proxy's.
func (p *tcpProxy) url(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

// cut resets every open connection and every new one until restore.
func (p *tcpProxy) cut() { p.set(proxyReset) }

// stall lets no byte through either way and refuses nothing, until
// restore, which then resets the connections that were stalled.
func (p *tcpProxy) stall() { p.set(proxyStall) }

// restore lets new connections through again.
func (p *tcpProxy) restore() { p.set(proxyUp) }

func (p *tcpProxy) set(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m == proxyReset || p.mode == proxyStall && m != proxyStall {
		for c := range p.conns {
			reset(c)
			delete(p.conns, c)
		}
	}
	if p.mode == proxyStall && m != proxyStall {
		close(p.resumed)
	} else if p.mode != proxyStall && m == proxyStall {
		p.resumed = make(chan struct{})
	}
	p.mode = m
}

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

// forward pipes c to a new connection to the target, both ways.
func (p *tcpProxy) forward(c net.Conn) {
	if !p.track(c) {
		reset(c)
		return
	}
	if !p.pass(c) { // a stalled server accepts and says nothing
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(up) {
		reset(c)
		if up != nil {
			reset(up)
		}
		return
	}
	var done sync.WaitGroup
	done.Go(func() { p.copy(up, c) })
	done.Go(func() { p.copy(c, up) })
	done.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// copy moves bytes from src to dst, holding them while the proxy stalls,
// then closes both.
func (p *tcpProxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.pass(src) {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pass blocks while the proxy stalls, and reports whether c is still
// to be served.
func (p *tcpProxy) pass(c net.Conn) bool {
	for {
		p.mu.Lock()
		mode, resumed := p.mode, p.resumed
		_, live := p.conns[c]
		p.mu.Unlock()
		if !live || mode == proxyReset {
			return false
		}
		if mode == proxyUp {
			return true
		}
		<-resumed
	}
}

// track records c to be cut, unless the proxy resets everything.
func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == proxyReset {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// reset closes c with a TCP RST, as a crashed server or a firewall would,
// rather than an orderly FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
