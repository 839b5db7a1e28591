package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"
)

// httpConn is one keep-alive HTTP/1.1 connection of the load generator.
// It is not net/http's client on purpose: the generator shares the CPUs
// with the servers it measures, so it does as little as it can — it writes
// a request it was handed as bytes and reads the status line, the two
// headers it needs and the body. Whatever it costs, it costs the same for
// both servers.
type httpConn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	body []byte // the last response body; reused
}

func newConn(addr string) *httpConn { return &httpConn{addr: addr} }

// do sends req (a whole HTTP/1.1 request) and returns the response status
// and body; the body is valid until the next call. A broken connection is
// dialled again on the next call. A kept-alive connection that the server
// closed while it sat idle (its IdleTimeout) fails before any answer; the
// request then goes again on a new connection, as net/http's client does.
func (h *httpConn) do(req []byte) (status int, body []byte, err error) {
	reused := h.c != nil
	status, body, err = h.try(req)
	if err != nil && reused && errors.Is(err, errNoAnswer) {
		status, body, err = h.try(req)
	}
	return status, body, err
}

// errNoAnswer marks a connection that ended before the status line.
var errNoAnswer = errors.New("connection closed before an answer")

func (h *httpConn) try(req []byte) (status int, body []byte, err error) {
	if h.c == nil {
		c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
		if err != nil {
			return 0, nil, err
		}
		h.c, h.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	h.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err = h.c.Write(req); err != nil {
		err = fmt.Errorf("%w: %w", errNoAnswer, err)
	} else {
		status, body, err = h.read()
	}
	if err != nil {
		h.close()
	}
	return status, body, err
}

func (h *httpConn) close() {
	if h.c != nil {
		h.c.Close()
		h.c, h.r = nil, nil
	}
}

var errChunked = errors.New("response without Content-Length")

// read reads one response. The servers measured always send a
// Content-Length (or answer 204), so a response without one is an error.
func (h *httpConn) read() (int, []byte, error) {
	line, err := h.r.ReadSlice('\n')
	if err != nil {
		if len(line) == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			err = fmt.Errorf("%w: %w", errNoAnswer, err)
		}
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length, closing := -1, false
	for {
		line, err = h.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, nil, fmt.Errorf("bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "Connection"):
			closing = asciiEqualFold(value, "close")
		}
	}
	if length < 0 {
		if status != 204 && status != 304 {
			return 0, nil, errChunked
		}
		length = 0
	}
	if cap(h.body) < length {
		h.body = make([]byte, length)
	}
	h.body = h.body[:length]
	if _, err := io.ReadFull(h.r, h.body); err != nil {
		return 0, nil, err
	}
	if closing {
		h.close()
	}
	return status, h.body, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i]|0x20, s[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// request builds an HTTP/1.1 request. A body, when given, is sent as JSON.
func request(method, host, path, bearer string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gatehouse-bench\r\n", method, path, host)
	if bearer != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", bearer)
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}
