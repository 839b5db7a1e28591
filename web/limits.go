package web

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// MaxHeaderBytes is the most request-line and header bytes a request may
// carry; a larger one is answered 400 malformed_request with a problem
// document. Browsers send a few KiB; an access token is at most 8 KiB.
const MaxHeaderBytes = 32 << 10

// ServerMaxHeaderBytes is the http.Server's own limit, which net/http
// enforces before any handler runs, answering 431 in plain text (a
// problem document cannot be sent from there). It is above MaxHeaderBytes
// so that every oversized request short of it gets the problem document,
// and small enough that a connection cannot make the server buffer much.
const ServerMaxHeaderBytes = 4 * MaxHeaderBytes

var errHeaderTooLarge = gatehouse.Errorf(gatehouse.EMALFORMED, "request headers are larger than %d bytes", MaxHeaderBytes)

// limitHeaders refuses requests whose headers are over MaxHeaderBytes.
func (s *server) limitHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerSize(r) > MaxHeaderBytes {
			w.Header().Set("Connection", "close")
			writeError(w, r, s.log, errHeaderTooLarge)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// headerSize is about what the request line and headers took on the wire.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len("Host: \r\n") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
