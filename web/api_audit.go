package web

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
)

// auditEventJSON is one entry of GET /api/audit: a security event of the
// caller's own account. The username is left out (it is the caller's), as
// is anything about other accounts.
type auditEventJSON struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Time      string `json:"time"`
	SessionID string `json:"session_id"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	Reason    string `json:"reason"`
}

// Limits of GET /api/audit?limit=N.
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 200
)

// handleAudit lists the caller's own recent security events, newest
// first: logins (and failed ones on their account), logouts, revocations,
// password changes, refresh replays.
func (s *server) handleAudit() http.Handler {
	type response struct {
		Events []auditEventJSON `json:"events"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := defaultAuditLimit
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxAuditLimit {
				writeError(w, r, s.log, gatehouse.Errorf(gatehouse.EMALFORMED, "limit must be a whole number from 1 to %d", maxAuditLimit))
				return
			}
			limit = n
		}
		events, err := s.auth.AuditEvents(r.Context(), PrincipalFrom(r.Context()), limit)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out := response{Events: make([]auditEventJSON, 0, len(events))}
		for _, e := range events {
			out.Events = append(out.Events, auditEventJSON{
				ID: strconv.FormatInt(e.ID, 10), Type: e.Type, Time: timeJSON(e.Time),
				SessionID: e.SessionID, IP: e.IP, UserAgent: e.UserAgent, Reason: e.Reason,
			})
		}
		encode(w, http.StatusOK, out)
	})
}
