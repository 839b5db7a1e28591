package web

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/auth"
)

// RequestIDHeader carries a request's id, in both directions: a sane one
// that the client (or a proxy in front) sent is kept, so that one id
// follows the request through every hop; otherwise one is made.
const RequestIDHeader = "X-Request-Id"

type requestIDKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// saneRequestID reports whether an incoming id may be kept: 1 to 64
// characters from A-Z a-z 0-9 . _ : -, so that it cannot forge a log line
// or a header, nor carry anything long.
func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits in hex. An id is not a secret, so
// math/rand/v2's ChaCha8 source serves, without a system call.
func newRequestID() string {
	var b [32]byte
	const hex = "0123456789abcdef"
	for i, x := range [2]uint64{rand.Uint64(), rand.Uint64()} {
		for j := range 16 {
			b[i*16+j] = hex[x>>(60-4*j)&0xf]
		}
	}
	return string(b[:])
}

// RequestObserver is told of every request once it is answered: the route
// pattern that served it ("" when none matched), its status and how long
// it took. Package metrics implements it.
type RequestObserver interface {
	ObserveRequest(route string, status int, d time.Duration)
}

// statusWriter remembers the status a handler wrote and the body's size.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe is the outermost middleware: it gives the request its id (in the
// context, for every log line, and in the response header) and its client
// (in the context, for the audit trail), and once the request is answered
// it tells the RequestObserver and writes the one access-log line.
func (s *server) observe(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		c := clientOf(r)
		r = r.WithContext(auth.WithClient(ctx, c))
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		if s.requests != nil {
			s.requests.ObserveRequest(r.Pattern, sw.status, d)
		}
		if s.accessLog {
			s.logAccess(r, c, sw, d)
		}
	})
}

// logAccess writes the access-log line. The path is logged without its
// query string (a client may put a token there, even though it is refused)
// and cut to 256 bytes; the request id comes from the context (LogHandler).
func (s *server) logAccess(r *http.Request, c auth.Client, sw *statusWriter, d time.Duration) {
	ctx := r.Context()
	if !s.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	path := r.URL.Path
	if len(path) > 256 {
		path = path[:256]
	}
	route := r.Pattern
	if route == "" || route == "/" {
		route = "unmatched"
	}
	if s.accessOut != nil {
		b := lineBufs.Get().(*[]byte)
		*b = appendAccessText((*b)[:0], time.Now(), r.Method, path, route, sw.status, d, sw.bytes, c.IP, RequestID(ctx))
		s.accessOut.Write(*b)
		lineBufs.Put(b)
		return
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("method", r.Method), slog.String("path", path), slog.String("route", route),
		slog.Int("status", sw.status), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.Int64("bytes", sw.bytes), slog.String("ip", c.IP))
}

// LogHandler wraps h so that every record logged with a request's context
// carries its request_id. cmd/gatehouse wraps its handler with it.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }

// lineBufs holds the buffers access lines are formatted in.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendAccessText appends the access line as log/slog's TextHandler,
// wrapped in LogHandler, writes the record logAccess would log: the same
// keys, order, time format, number formats and quoting.
func appendAccessText(b []byte, t time.Time, method, path, route string, status int, d time.Duration, n int64, ip, id string) []byte {
	b = append(b, "time="...)
	b = appendMillis(b, t)
	b = append(b, " level=INFO msg=request method="...)
	b = appendTextString(b, method)
	b = append(b, " path="...)
	b = appendTextString(b, path)
	b = append(b, " route="...)
	b = appendTextString(b, route)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " duration_ms="...)
	b = strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'g', -1, 64)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, " ip="...)
	b = appendTextString(b, ip)
	if id != "" {
		b = append(b, " request_id="...)
		b = appendTextString(b, id)
	}
	return append(b, '\n')
}

// appendMillis appends t as RFC 3339 with exactly three fractional
// digits, as slog does.
func appendMillis(b []byte, t time.Time) []byte {
	const prefix = len("2006-01-02T15:04:05.000")
	n := len(b)
	b = t.Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefix], b[n+prefix+1:]...) // drop the fourth digit
}

// appendTextString appends s bare, or quoted where slog's TextHandler
// quotes: empty, or with a space, '=', '"', a control character, an
// invalid or a non-printable rune.
func appendTextString(b []byte, s string) []byte {
	if textNeedsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func textNeedsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
