package gatehouse

import (
	"context"
	"time"
)

// Purposes of an EmailToken.
const (
	TokenVerifyEmail   = "verify" // proves that the user receives mail at Email
	TokenResetPassword = "reset"  // lets the user set a new password
)

// EmailToken is a single-use link token. Only Hash, the SHA-256 of the
// token, is kept: the token itself exists only in the link that was mailed.
// A token is bound to its user and to the address it was sent to.
type EmailToken struct {
	Hash      []byte
	Purpose   string
	UserID    string
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Mail is one message in the outbox. The outbox keeps Text and HTML only
// until the message is sent (or given up): a sent message keeps its
// envelope for the record, and its body, which may hold a link, is blanked.
type Mail struct {
	ID          int64 // store-assigned
	To          string
	Subject     string
	Text        string
	HTML        string
	CreatedAt   time.Time
	Attempts    int       // failed attempts so far
	NextAttempt time.Time // not sent before
	LastError   string
}

// EmailStore keeps the users' addresses, the link tokens and the outbox.
// Addresses are compared without regard to case; a verified address
// belongs to one user at most.
type EmailStore interface {
	// RequestEmail makes email the user's pending address, replaces the
	// user's unused verification tokens with tok and queues mails, in one
	// transaction. The verified address, if any, stays until tok is used.
	// ENOTFOUND when there is no such user.
	RequestEmail(ctx context.Context, userID, email string, tok *EmailToken, mails []*Mail) error
	// VerifyEmail uses the verification token whose hash is given: it is
	// deleted, and its address becomes the user's verified address (and is
	// no longer pending), in one transaction. An unknown, used or expired
	// token, or one for an address the user no longer asks for, is
	// ENOTFOUND; an address another user has verified is EEMAILTAKEN (and
	// the token stays unused).
	VerifyEmail(ctx context.Context, hash []byte, now time.Time) (*User, error)
	// RemoveEmail clears the user's verified and pending addresses and
	// deletes their unused tokens. ENOTFOUND when there is no such user.
	RemoveEmail(ctx context.Context, userID string, now time.Time) error
	// UserByEmail returns the user whose verified address is email,
	// compared without regard to case; ENOTFOUND when there is none.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// EmailToken returns the unused, unexpired token of that purpose whose
	// hash is given, without using it; ENOTFOUND when there is none.
	EmailToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*EmailToken, error)
	// ResetPassword uses the reset token whose hash is given: in one
	// transaction it deletes every reset token of the user, sets the
	// password hash and revokes every active session (Revocations lasting
	// until `until`). ENOTFOUND when the token is unknown, used or
	// expired, or when the user's verified address is no longer the one
	// the token was sent to.
	ResetPassword(ctx context.Context, hash []byte, passwordHash string, now, until time.Time) (*User, []Revocation, error)
	// QueueMail inserts tok, unless nil, and the mails, in one
	// transaction, and sets the mails' IDs.
	QueueMail(ctx context.Context, tok *EmailToken, mails ...*Mail) error
	// ClaimMail returns up to limit unsent mails due at now and holds them
	// for this caller until now+lease: of any number of concurrent callers
	// on any number of instances, one at most gets each mail.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Mail, error)
	// MailSent marks a claimed mail sent and blanks its body.
	MailSent(ctx context.Context, id int64, now time.Time) error
	// MailFailed records a failed attempt: the mail is tried again at
	// next, or, when giveUp, never again (its body is blanked).
	MailFailed(ctx context.Context, id int64, now time.Time, reason string, next time.Time, giveUp bool) error
	// DeleteExpiredEmail removes the tokens that expired before now and the
	// mails sent or given up before keepDone, and returns how many went.
	DeleteExpiredEmail(ctx context.Context, now, keepDone time.Time) (int64, error)
}
