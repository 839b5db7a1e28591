package gatehouse

import (
	"context"
	"time"
)

// Audit event types: the security events the audit trail keeps. The list is
// closed so that filters and the API can name them; Reason refines a type.
const (
	AuditRegistered      = "registered"       // an account was created
	AuditLogin           = "login"            // a login opened a session
	AuditLoginFailed     = "login_failed"     // Reason: unknown_user, wrong_password, locked
	AuditThrottled       = "throttled"        // Reason: the error code (too_many_requests)
	AuditLogout          = "logout"           // Reason: the scope (local, others, global)
	AuditSessionRevoked  = "session_revoked"  // one session ended by its owner or an admin
	AuditPasswordChanged = "password_changed" // every other session was revoked with it
	AuditRefreshReplayed = "refresh_replayed" // a rotated refresh token came back: session revoked
	AuditUserDeleted     = "user_deleted"
	AuditUserLocked      = "user_locked" // every session was revoked with it
	AuditUserUnlocked    = "user_unlocked"

	// Second factors (TOTP, recovery codes, passkeys). Reason names the
	// factor: totp, recovery_codes, passkey.
	AuditFactorAdded        = "factor_added"         // every other session was revoked with it
	AuditFactorRemoved      = "factor_removed"       // every other session was revoked with it
	AuditRecoveryCodeUsed   = "recovery_code_used"   // every other session was revoked with it
	AuditSecondFactorFailed = "second_factor_failed" // Reason: the factor tried

	// Email addresses and password reset.
	AuditEmailChanged           = "email_changed"            // an address was added, changed or removed
	AuditEmailVerified          = "email_verified"           // a verification link was followed
	AuditPasswordResetRequested = "password_reset_requested" // Reason: sent, no_account, no_email, throttled
	AuditPasswordReset          = "password_reset"           // a reset link set a new password; every session was revoked
)

// AuditTypes lists every audit event type, for validation and documentation.
var AuditTypes = []string{
	AuditRegistered, AuditLogin, AuditLoginFailed, AuditThrottled, AuditLogout,
	AuditSessionRevoked, AuditPasswordChanged, AuditRefreshReplayed,
	AuditUserDeleted, AuditUserLocked, AuditUserUnlocked,
	AuditFactorAdded, AuditFactorRemoved, AuditRecoveryCodeUsed, AuditSecondFactorFailed,
	AuditEmailChanged, AuditEmailVerified, AuditPasswordResetRequested, AuditPasswordReset,
}

// IsAuditType reports whether t is one of AuditTypes.
func IsAuditType(t string) bool {
	for _, a := range AuditTypes {
		if a == t {
			return true
		}
	}
	return false
}

// AuditEvent is one security event. It never holds a secret: no password,
// token or hash, only who, when, from where and what happened. UserID and
// Username are empty when no account is known (a login for an unknown
// username keeps the name tried only if it is a valid username, so that a
// password typed into the username field is not recorded).
type AuditEvent struct {
	ID        int64 // store-assigned, increasing
	Type      string
	Time      time.Time
	UserID    string
	Username  string
	SessionID string
	IP        string
	UserAgent string
	Reason    string // a short machine-readable refinement of Type
}

// AuditFilter selects audit events. Zero fields select everything.
type AuditFilter struct {
	UserID string
	Types  []string
	Since  time.Time // events at or after
	Before int64     // events with ID below, for paging; 0: no bound
	Limit  int       // at most this many, newest first; 0: the store's default (100)
}

// AuditStore keeps the audit trail. Events are never updated; they go only
// when they are older than the retention.
type AuditStore interface {
	// AppendAudit inserts events in order and sets their IDs.
	AppendAudit(ctx context.Context, events []*AuditEvent) error
	// AuditEvents returns the events f selects, newest first.
	AuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	// DeleteAuditBefore removes the events older than t and returns how
	// many went.
	DeleteAuditBefore(ctx context.Context, t time.Time) (int64, error)
}
