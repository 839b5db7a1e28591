package web

import (
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// userJSON is API.md's User. The address fields appear only on an
// account that has an address (see toUser), so a User without one is
// exactly the contract's three fields.
type userJSON struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	CreatedAt     string `json:"created_at"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	PendingEmail  string `json:"pending_email,omitempty"`
}

func toUser(u *gatehouse.User) userJSON {
	j := userJSON{ID: u.ID, Username: u.Username, CreatedAt: timeJSON(u.CreatedAt)}
	switch {
	case u.Email != "":
		// A change waiting for verification shows as pending_email.
		j.Email, j.EmailVerified, j.PendingEmail = u.Email, new(true), u.PendingEmail
	case u.PendingEmail != "":
		j.Email, j.EmailVerified = u.PendingEmail, new(false)
	}
	return j
}

// tokenPairJSON is API.md's TokenPair.
type tokenPairJSON struct {
	AccessToken  string   `json:"access_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int64    `json:"expires_in"`
	RefreshToken string   `json:"refresh_token"`
	User         userJSON `json:"user"`
}

func toTokenPair(p *auth.TokenPair) tokenPairJSON {
	return tokenPairJSON{
		AccessToken:  p.AccessToken,
		TokenType:    "Bearer",
		ExpiresIn:    int64(p.ExpiresIn / time.Second),
		RefreshToken: p.RefreshToken,
		User:         toUser(p.User),
	}
}

// sessionJSON is API.md's Session.
type sessionJSON struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	ExpiresAt  string `json:"expires_at"`
	UserAgent  string `json:"user_agent"`
	IP         string `json:"ip"`
	Current    bool   `json:"current"`
}

func toSession(s *gatehouse.Session, currentID string) sessionJSON {
	return sessionJSON{
		ID:         s.ID,
		CreatedAt:  timeJSON(s.CreatedAt),
		LastUsedAt: timeJSON(s.LastUsedAt),
		ExpiresAt:  timeJSON(s.ExpiresAt),
		UserAgent:  s.UserAgent,
		IP:         s.IP,
		Current:    s.ID == currentID,
	}
}

// timeJSON formats t as RFC 3339 in UTC, to the second.
func timeJSON(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}
