package web

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// The OAuth endpoints for other services: RFC 7662 introspection, RFC 7009
// revocation and RFC 8414 metadata. Their requests are
// application/x-www-form-urlencoded, as their RFCs require, the one
// exception to the API's JSON bodies. Their errors are the API's problem
// documents with RFC 6749's "error" member added, so that OAuth client
// libraries understand them too.

// oauthErrors gives the RFC 6749 §5.2 error of each code these endpoints
// return.
var oauthErrors = map[string]string{
	gatehouse.EMALFORMED:   "invalid_request",
	gatehouse.EMEDIATYPE:   "invalid_request",
	gatehouse.ETOOLARGE:    "invalid_request",
	gatehouse.ECREDENTIALS: "invalid_client",
	gatehouse.EUNAVAILABLE: "temporarily_unavailable",
}

// writeOAuthError returns a writeError that adds the "error" member.
func writeOAuthError(log *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		oe := oauthErrors[gatehouse.ErrorCode(err)]
		if oe == "" {
			oe = "server_error"
		}
		writeErrorAs(w, r, log, err, oe)
	}
}

// decodeForm reads an application/x-www-form-urlencoded body of at most
// MaxBody bytes. RFC 6749 §3.1: a parameter given twice is refused;
// unknown parameters are ignored. Parameters in the query string are never
// read, so that no token travels in a URL.
func decodeForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, gatehouse.Errorf(gatehouse.EMEDIATYPE, "request body must be application/x-www-form-urlencoded")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, gatehouse.Errorf(gatehouse.EMEDIATYPE, "request body must be UTF-8")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "request body is larger than %d bytes", MaxBody)
	} else if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EMALFORMED, "request body could not be read")
	}
	vals, err := url.ParseQuery(string(data))
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.EMALFORMED, "request body is not valid form encoding")
	}
	for k, v := range vals {
		if len(v) > 1 {
			return nil, gatehouse.Errorf(gatehouse.EMALFORMED, "parameter %q is given more than once", k)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v[0]) {
			return nil, gatehouse.Errorf(gatehouse.EMALFORMED, "request body is not valid UTF-8")
		}
	}
	return vals, nil
}

// tokenParam returns the form's required "token" parameter.
func tokenParam(w http.ResponseWriter, r *http.Request) (string, error) {
	vals, err := decodeForm(w, r)
	if err != nil {
		return "", err
	}
	tok := vals.Get("token")
	if tok == "" {
		return "", gatehouse.Errorf(gatehouse.EMALFORMED, "parameter \"token\" is required")
	}
	return tok, nil
}

// handleIntrospect is RFC 7662: {"active": false} for any token that is not
// a valid, unrevoked access token now, else its claims. Refresh tokens are
// never active here: they are for the client, not for resource servers.
func (s *server) handleIntrospect() http.Handler {
	type response struct {
		Active    bool     `json:"active"`
		TokenType string   `json:"token_type,omitempty"`
		Subject   string   `json:"sub,omitempty"`
		Username  string   `json:"username,omitempty"`
		Issuer    string   `json:"iss,omitempty"`
		Audience  string   `json:"aud,omitempty"`
		ExpiresAt int64    `json:"exp,omitempty"`
		IssuedAt  int64    `json:"iat,omitempty"`
		ID        string   `json:"jti,omitempty"`
		SessionID string   `json:"sid,omitempty"`
		AMR       []string `json:"amr,omitempty"`
	}
	fail := writeOAuthError(s.log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := tokenParam(w, r)
		if err != nil {
			fail(w, r, err)
			return
		}
		c, err := s.auth.Introspect(r.Context(), tok)
		if err != nil {
			fail(w, r, err)
			return
		}
		if c == nil {
			encode(w, http.StatusOK, response{})
			return
		}
		encode(w, http.StatusOK, response{
			Active: true, TokenType: "Bearer", Subject: c.Subject, Username: c.Username,
			Issuer: c.Issuer, Audience: c.Audience, ExpiresAt: c.ExpiresAt.Unix(), IssuedAt: c.IssuedAt.Unix(),
			ID: c.ID, SessionID: c.SessionID, AMR: c.AMR,
		})
	})
}

// handleRevoke is RFC 7009: revoking a refresh or an access token ends its
// session. It answers 200 for a token that is invalid or already revoked
// too (§2.2), so that the answer tells nothing about the token.
// token_type_hint is ignored: the two kinds are told apart by their form.
func (s *server) handleRevoke() http.Handler {
	fail := writeOAuthError(s.log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := tokenParam(w, r)
		if err == nil {
			err = s.auth.RevokeToken(r.Context(), tok)
		}
		if err != nil {
			fail(w, r, err)
			return
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	})
}

// handleMetadata is RFC 8414-style authorization server metadata: where
// the keys are and, when service clients are configured, the endpoints
// they may use. gatehouse has no authorization or token endpoint, so the
// members about them are left out.
func (s *server) handleMetadata() http.Handler {
	type response struct {
		Issuer            string   `json:"issuer"`
		JWKSURI           string   `json:"jwks_uri"`
		Introspection     string   `json:"introspection_endpoint,omitempty"`
		IntrospectionAuth []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
		Revocation        string   `json:"revocation_endpoint,omitempty"`
		RevocationAuth    []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
		RevocationFeed    string   `json:"revocation_feed_endpoint,omitempty"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss := s.auth.Tokens().Issuer()
		base := strings.TrimRight(iss, "/")
		doc := response{Issuer: iss, JWKSURI: base + "/.well-known/jwks.json"}
		if len(s.clients) > 0 {
			basic := []string{"client_secret_basic"}
			doc.Introspection, doc.IntrospectionAuth = base+"/oauth/introspect", basic
			doc.Revocation, doc.RevocationAuth = base+"/oauth/revoke", basic
			doc.RevocationFeed = base + "/api/revocations"
		}
		w.Header().Set("Cache-Control", s.publicCache())
		encode(w, http.StatusOK, doc)
	})
}

// publicCache is the Cache-Control of the JWKS and the metadata: the JWKS
// max-age of the key policy, which new keys are published well ahead of.
func (s *server) publicCache() string {
	secs := int64(s.auth.KeyPolicy().JWKSMaxAge() / time.Second)
	return "public, max-age=" + strconv.FormatInt(max(secs, 1), 10)
}
