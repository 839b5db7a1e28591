package gatehouse

import (
	"errors"
	"fmt"
)

// Error codes are the stable, machine-readable keys of API.md. The web
// package alone maps them to HTTP statuses.
const (
	EMALFORMED        = "malformed_request"
	EMEDIATYPE        = "unsupported_media_type"
	ETOOLARGE         = "payload_too_large"
	EINVALIDUSERNAME  = "invalid_username"
	EWEAKPASSWORD     = "weak_password"
	EUSERNAMETAKEN    = "username_taken"
	ECREDENTIALS      = "invalid_credentials"
	EINVALIDTOKEN     = "invalid_token"
	EINVALIDREFRESH   = "invalid_refresh_token"
	ENOTFOUND         = "not_found"
	EMETHODNOTALLOWED = "method_not_allowed"
	ETOOMANYREQUESTS  = "too_many_requests"
	EUNAVAILABLE      = "unavailable"
	EINTERNAL         = "internal"

	// Email and password reset.
	EINVALIDEMAIL    = "invalid_email"    // not an address gatehouse can send to
	EEMAILTAKEN      = "email_taken"      // another account has verified this address
	EINVALIDLINK     = "invalid_link"     // a mailed link that is unknown, used or expired
	EMAILUNAVAILABLE = "mail_unavailable" // no mail is configured: the feature is off
	// Second factors (mfa.go).
	ESECONDFACTORREQUIRED = "second_factor_required" // the password was right; a second step must follow
	EINVALIDCHALLENGE     = "invalid_challenge"      // unknown, expired or already used login challenge
	EINVALIDSECONDFACTOR  = "invalid_second_factor"  // wrong or already used code
	EFACTOREXISTS         = "factor_exists"          // a confirmed factor of that kind is already enrolled
)

// Error is the one error type of gatehouse: a code from the list above and a
// message that is safe to show to the client. Anything that is not an *Error
// is internal and is never shown.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("gatehouse error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err. Internal errors get a
// generic message so that nothing of their text (SQL, paths) leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
