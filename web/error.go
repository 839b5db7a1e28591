package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// codeStatus is the one map from error codes to HTTP statuses.
var codeStatus = map[string]int{
	gatehouse.EMALFORMED:        http.StatusBadRequest,
	gatehouse.EMEDIATYPE:        http.StatusUnsupportedMediaType,
	gatehouse.ETOOLARGE:         http.StatusRequestEntityTooLarge,
	gatehouse.EINVALIDUSERNAME:  http.StatusUnprocessableEntity,
	gatehouse.EWEAKPASSWORD:     http.StatusUnprocessableEntity,
	gatehouse.EUSERNAMETAKEN:    http.StatusConflict,
	gatehouse.ECREDENTIALS:      http.StatusUnauthorized,
	gatehouse.EINVALIDTOKEN:     http.StatusUnauthorized,
	gatehouse.EINVALIDREFRESH:   http.StatusUnauthorized,
	gatehouse.ENOTFOUND:         http.StatusNotFound,
	gatehouse.EMETHODNOTALLOWED: http.StatusMethodNotAllowed,
	gatehouse.ETOOMANYREQUESTS:  http.StatusTooManyRequests,
	gatehouse.EUNAVAILABLE:      http.StatusServiceUnavailable,
	gatehouse.EINTERNAL:         http.StatusInternalServerError,
	gatehouse.EINVALIDEMAIL:     http.StatusUnprocessableEntity,
	gatehouse.EEMAILTAKEN:       http.StatusConflict,
	gatehouse.EINVALIDLINK:      http.StatusBadRequest,
	gatehouse.EMAILUNAVAILABLE:  http.StatusServiceUnavailable,
	gatehouse.EINVALIDPASSKEY:   http.StatusBadRequest,

	gatehouse.ESECONDFACTORREQUIRED: http.StatusForbidden,
	gatehouse.EINVALIDCHALLENGE:     http.StatusUnauthorized,
	gatehouse.EINVALIDSECONDFACTOR:  http.StatusUnauthorized,
	gatehouse.EFACTOREXISTS:         http.StatusConflict,
}

// codeTitle is the short, fixed summary of each code (RFC 9457 "title").
var codeTitle = map[string]string{
	gatehouse.EMALFORMED:        "Malformed request",
	gatehouse.EMEDIATYPE:        "Unsupported media type",
	gatehouse.ETOOLARGE:         "Payload too large",
	gatehouse.EINVALIDUSERNAME:  "Invalid username",
	gatehouse.EWEAKPASSWORD:     "Weak password",
	gatehouse.EUSERNAMETAKEN:    "Username taken",
	gatehouse.ECREDENTIALS:      "Invalid credentials",
	gatehouse.EINVALIDTOKEN:     "Invalid token",
	gatehouse.EINVALIDREFRESH:   "Invalid refresh token",
	gatehouse.ENOTFOUND:         "Not found",
	gatehouse.EMETHODNOTALLOWED: "Method not allowed",
	gatehouse.ETOOMANYREQUESTS:  "Too many requests",
	gatehouse.EUNAVAILABLE:      "Service unavailable",
	gatehouse.EINTERNAL:         "Internal error",
	gatehouse.EINVALIDEMAIL:     "Invalid email address",
	gatehouse.EEMAILTAKEN:       "Email address taken",
	gatehouse.EINVALIDLINK:      "Invalid or expired link",
	gatehouse.EMAILUNAVAILABLE:  "Mail unavailable",
	gatehouse.EINVALIDPASSKEY:   "Invalid passkey",

	gatehouse.ESECONDFACTORREQUIRED: "Second factor required",
	gatehouse.EINVALIDCHALLENGE:     "Invalid challenge",
	gatehouse.EINVALIDSECONDFACTOR:  "Invalid second factor",
	gatehouse.EFACTOREXISTS:         "Factor exists",
}

// ProblemTypePrefix begins the "type" URI of every problem document; the
// code completes it.
const ProblemTypePrefix = "urn:gatehouse:problem:"

// Problem is an RFC 9457 problem document with gatehouse's code.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// Error is RFC 6749's error code, set only on the OAuth endpoints for
	// the OAuth client libraries that read it.
	Error string `json:"error,omitempty"`
}

// StatusOf returns the HTTP status for err's code.
func StatusOf(err error) int {
	if s, ok := codeStatus[gatehouse.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// StatusClientClosedRequest is the status recorded (nginx's 499) for a
// request whose client left before it was answered.
const StatusClientClosedRequest = 499

// retryAfter is how long, in seconds, a client told 429 or 503 should wait
// when the error does not say.
const retryAfter = 1

// RetryAfterError is implemented by errors that know when to retry.
type RetryAfterError interface {
	RetryAfterSeconds() int
}

// writeError writes err as a problem document. Internal errors are logged
// with their cause and shown only as "internal error".
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeErrorAs(w, r, log, err, "")
}

// writeErrorAs is writeError with the problem document's "error" member
// set to oauthError (unless empty).
func writeErrorAs(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, oauthError string) {
	ctx := r.Context()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client went away, and with it the request's context: what
		// failed failed for that, and nobody reads the answer. 499 (as
		// nginx logs it) keeps it out of the 5xx of the access log and
		// the metrics. (A context ended for another reason, such as the
		// read timeout of a slow body, fails with an error of its own.)
		log.DebugContext(ctx, "request abandoned by the client", "method", r.Method, "path", r.URL.Path, "err", err)
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	code := gatehouse.ErrorCode(err)
	status := StatusOf(err)
	switch {
	case errors.Is(err, auth.ErrBusy):
		log.WarnContext(ctx, "request shed: the hashing pool is full", "method", r.Method, "path", r.URL.Path)
	case code == gatehouse.EINTERNAL || code == gatehouse.EUNAVAILABLE:
		log.ErrorContext(ctx, "request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	h := w.Header()
	switch code {
	case gatehouse.EINVALIDTOKEN:
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	case gatehouse.ETOOMANYREQUESTS, gatehouse.EUNAVAILABLE:
		secs := retryAfter
		var ra RetryAfterError
		if errors.As(err, &ra) {
			secs = ra.RetryAfterSeconds()
		}
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	writeProblemDoc(w, Problem{Status: status, Code: code, Detail: gatehouse.ErrorMessage(err), Error: oauthError})
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	writeProblemDoc(w, Problem{Status: status, Code: code, Detail: detail})
}

// writeProblemDoc fills in p's Type and Title from its Code and writes it.
func writeProblemDoc(w http.ResponseWriter, p Problem) {
	writeProblemBody(w, &p, &p)
}

// writeProblemBody fills in p's Type and Title from its Code and writes
// body, which is p or a struct that embeds it with extension members.
func writeProblemBody(w http.ResponseWriter, p *Problem, body any) {
	p.Type, p.Title = ProblemTypePrefix+p.Code, codeTitle[p.Code]
	status := p.Status
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
