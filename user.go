package gatehouse

import (
	"context"
	"time"
)

// User is an account. PasswordHash is the encoded hash (scheme, parameters,
// salt and digest) and never leaves the server.
type User struct {
	ID           string
	Username     string // as first registered; unique without regard to case
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LockedAt     time.Time // zero unless an administrator locked the account
	Email        string    // the verified address; "" when none
	PendingEmail string    // an address awaiting verification; "" when none
}

// UserStore keeps users. Usernames are looked up without regard to case.
type UserStore interface {
	// CreateUser inserts u. It returns EUSERNAMETAKEN when the username,
	// compared without regard to case, already exists.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns ENOTFOUND when there is no such user.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByUsername returns ENOTFOUND when there is no such user.
	UserByUsername(ctx context.Context, username string) (*User, error)
	// ListUsers returns every user, oldest first.
	ListUsers(ctx context.Context) ([]*User, error)
	// SetPasswordHash replaces a user's hash. ENOTFOUND when there is no such user.
	SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error
	// DeleteUser removes the user and revokes all of their active sessions
	// (Revocations lasting until `until`) in the same transaction.
	// ENOTFOUND when there is no such user.
	DeleteUser(ctx context.Context, id string, now, until time.Time) ([]Revocation, error)
	// LockUser sets the user's LockedAt to now and revokes all of their
	// active sessions (Revocations lasting until `until`) in the same
	// transaction; CreateSession refuses a locked user from then on.
	// Locking a locked user changes nothing. ENOTFOUND when there is no
	// such user.
	LockUser(ctx context.Context, id string, now, until time.Time) ([]Revocation, error)
	// UnlockUser clears the user's LockedAt. ENOTFOUND when there is no
	// such user.
	UnlockUser(ctx context.Context, id string, now time.Time) error
}
