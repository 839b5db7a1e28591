package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Observer receives what the Service does, so that metrics (package
// metrics) can count it without auth importing a metrics library. Its
// methods are called on the request path, synchronously: they must be
// quick and must not block.
type Observer interface {
	// Event reports a security event after the fact: an audit type of the
	// root package, or one of the Event* types below that are counted but
	// not kept in the audit trail.
	Event(ctx context.Context, e gatehouse.AuditEvent)
	// RevocationLag reports how long after it was made by another instance
	// a revocation reached this instance's in-memory set (see Revoked.Sync).
	RevocationLag(d time.Duration)
}

// Event types that are observed (counted) but not kept in the audit trail:
// they are routine or carry no account.
const (
	// EventRefreshed is a refresh attempt; Reason is "" on success, else the
	// error code (a replay is AuditRefreshReplayed as well).
	EventRefreshed = "token_refreshed"
	// EventLoginError is a login that failed for another reason than the
	// credentials or throttling; Reason is the error code (unavailable when
	// the hashing pool shed it, internal…).
	EventLoginError = "login_error"
	// EventSecondFactorRequired is a right password that now waits for a
	// second factor (the login event comes with the second step).
	EventSecondFactorRequired = "second_factor_required"
)

// Reasons of AuditLoginFailed.
const (
	ReasonUnknownUser   = "unknown_user"
	ReasonWrongPassword = "wrong_password"
	ReasonLocked        = "locked"
)

// nopObserver is the Observer of a Service configured without one.
type nopObserver struct{}

func (nopObserver) Event(context.Context, gatehouse.AuditEvent) {}
func (nopObserver) RevocationLag(time.Duration)                 {}

// Observers returns an Observer that passes everything to each of obs.
func Observers(obs ...Observer) Observer { return multiObserver(obs) }

type multiObserver []Observer

func (m multiObserver) Event(ctx context.Context, e gatehouse.AuditEvent) {
	for _, o := range m {
		o.Event(ctx, e)
	}
}

func (m multiObserver) RevocationLag(d time.Duration) {
	for _, o := range m {
		o.RevocationLag(d)
	}
}

type clientKey struct{}

// WithClient returns ctx carrying the requesting client, so that the flows
// that take no Client argument (Register, Logout, ChangePassword…) can put
// the address and user agent in the audit trail. The web package sets it
// for every request.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the client WithClient put in ctx, or the zero Client.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// Record reports a security event: to the Observer, to the log and, for
// the audit types, to the audit trail (asynchronously; see auditWriter). A
// missing time is now, a missing client is the one in ctx. Flows outside
// this package (a throttle in front of Login, say) report through it too.
func (s *Service) Record(ctx context.Context, e gatehouse.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	if e.IP == "" && e.UserAgent == "" {
		c := ClientFrom(ctx)
		e.IP, e.UserAgent = c.IP, truncate(c.UserAgent, 512)
	}
	s.observer.Event(ctx, e)
	level := slog.LevelDebug
	if gatehouse.IsAuditType(e.Type) {
		level = slog.LevelInfo
		s.audit.enqueue(e)
	}
	if s.log.Enabled(ctx, level) {
		s.log.LogAttrs(ctx, level, "security event", slog.String("type", e.Type), slog.String("reason", e.Reason),
			slog.String("user_id", e.UserID), slog.String("username", e.Username),
			slog.String("session_id", e.SessionID), slog.String("ip", e.IP))
	}
}

// loginFailure is a login refused for its credentials. Its client sees
// only the one errCredentials (Unwrap), whatever the reason, so that the
// answer does not tell an unknown user from a wrong password or a locked
// account; the reason goes only to the audit trail.
type loginFailure struct {
	reason string
	user   *gatehouse.User // nil for an unknown user
}

func (f *loginFailure) Error() string { return errCredentials.Error() }
func (f *loginFailure) Unwrap() error { return errCredentials }

// loginEvent reports the outcome of a login.
func (s *Service) loginEvent(ctx context.Context, username string, c Client, pair *TokenPair, err error) {
	e := gatehouse.AuditEvent{IP: c.IP, UserAgent: truncate(c.UserAgent, 512)}
	var lf *loginFailure
	var sfr *SecondFactorRequired
	switch code := gatehouse.ErrorCode(err); {
	case err == nil:
		e.Type, e.UserID, e.Username, e.SessionID = gatehouse.AuditLogin, pair.User.ID, pair.User.Username, pair.Session.ID
	case errors.As(err, &lf):
		e.Type, e.Reason = gatehouse.AuditLoginFailed, lf.reason
		if lf.user != nil {
			e.UserID, e.Username = lf.user.ID, lf.user.Username
		} else if ValidateUsername(username) == nil {
			// Only a well-formed name: a password typed into the username
			// field must not end up in the trail.
			e.Username = username
		}
	case errors.As(err, &sfr):
		e.Type, e.UserID, e.Username = EventSecondFactorRequired, sfr.User.ID, sfr.User.Username
	case code == gatehouse.ECREDENTIALS:
		e.Type, e.Reason = gatehouse.AuditLoginFailed, ReasonUnknownUser
	case code == gatehouse.ETOOMANYREQUESTS:
		e.Type, e.Reason = gatehouse.AuditThrottled, "login"
		if ValidateUsername(username) == nil {
			e.Username = username
		}
	default:
		e.Type, e.Reason = EventLoginError, code
	}
	s.Record(ctx, e)
}
