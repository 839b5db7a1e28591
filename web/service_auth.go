package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// ServiceClient is the credential of another service (a resource server)
// that may use introspection, revocation and the revocation feed.
type ServiceClient struct {
	ID     string
	Secret string
}

// MinServiceSecret is the shortest service secret accepted: the endpoints
// it opens are not throttled, so a secret must be too long to guess.
const MinServiceSecret = 16

// ParseServiceClients reads SERVICE_CLIENTS: "id:secret,id2:secret2". Ids
// are unique and free of ':' and ','; a secret has at least
// MinServiceSecret characters and no ','.
func ParseServiceClients(s string) ([]ServiceClient, error) {
	var out []ServiceClient
	seen := map[string]bool{}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, secret, ok := strings.Cut(entry, ":")
		switch {
		case !ok || id == "":
			return nil, errors.New(`each entry must be "id:secret"`)
		case len(secret) < MinServiceSecret:
			return nil, fmt.Errorf("the secret of %q must be at least %d characters", id, MinServiceSecret)
		case seen[id]:
			return nil, fmt.Errorf("client id %q is given twice", id)
		}
		seen[id] = true
		out = append(out, ServiceClient{ID: id, Secret: secret})
	}
	return out, nil
}

// serviceClients checks service credentials. It keeps only SHA-256 digests,
// so that every comparison has the same length.
type serviceClients []clientDigest

type clientDigest struct{ id, secret [sha256.Size]byte }

func newServiceClients(cs []ServiceClient) serviceClients {
	out := make(serviceClients, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientDigest{sha256.Sum256([]byte(c.ID)), sha256.Sum256([]byte(c.Secret))})
	}
	return out
}

// valid reports whether id and secret are a configured pair. Security:
// every configured client is compared, each in constant time, so the time
// taken tells neither which id exists nor how much of a secret matched.
func (cs serviceClients) valid(id, secret string) bool {
	idSum, secretSum := sha256.Sum256([]byte(id)), sha256.Sum256([]byte(secret))
	match := 0
	for _, c := range cs {
		match |= subtle.ConstantTimeCompare(idSum[:], c.id[:]) & subtle.ConstantTimeCompare(secretSum[:], c.secret[:])
	}
	return match == 1
}

var errClient = gatehouse.Errorf(gatehouse.ECREDENTIALS, "service client authentication failed")

// serviceOnly lets a request through only with the HTTP Basic credentials
// of a configured service client (RFC 6749 §2.3.1). A
// failure is 401 with WWW-Authenticate: Basic; oauthError, unless empty,
// is the problem document's RFC 6749 "error" member.
func (s *server) serviceOnly(h http.Handler, oauthError string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		// Both spellings are tried: RFC 6749 clients form-encode, curl -u
		// and most hand-written ones do not, and a secret may hold a '+'.
		if !ok || !s.clients.valid(id, secret) && !s.clients.valid(formUnescape(id), formUnescape(secret)) {
			w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse", charset="UTF-8"`)
			writeErrorAs(w, r, s.log, errClient, oauthError)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// formUnescape undoes application/x-www-form-urlencoded escaping, or
// returns s as it is when s is not validly escaped.
func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
