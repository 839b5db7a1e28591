package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// routes is the whole URL surface of gatehouse. Every route added here is
// listed by Server.Routes, and the JSON API ones must be described in
// openapi.yaml (TestOpenAPIMatchesRoutes says which are missing).
func (s *server) routes(mux *router) {
	api := func(method, path string, h http.Handler) {
		mux.Handle(method+" "+path, noStore(h))
		mux.Handle(path, s.methodNotAllowed(method))
	}
	api("POST", "/api/register", s.handleRegister())
	api("POST", "/api/login", s.handleLogin())
	api("POST", "/api/token/refresh", s.handleRefresh())
	api("GET", "/api/main", s.authenticated(s.handleMain()))
	api("GET", "/api/me", s.authenticated(s.handleMe()))
	api("POST", "/api/logout", s.authenticated(s.handleLogout()))
	api("GET", "/api/sessions", s.authenticated(s.handleSessions()))
	mux.Handle("DELETE /api/sessions/{id}", noStore(s.authenticated(s.handleDeleteSession())))
	mux.Handle("/api/sessions/{id}", s.methodNotAllowed("DELETE"))
	api("POST", "/api/password", s.authenticated(s.handlePassword()))
	api("GET", "/api/audit", s.authenticated(s.handleAudit()))
	// Email addresses and password reset (api_email.go).
	mux.Handle("PUT /api/email", noStore(s.emailOnly(s.authenticated(s.handleSetEmail()))))
	mux.Handle("DELETE /api/email", noStore(s.emailOnly(s.authenticated(s.handleDeleteEmail()))))
	mux.Handle("/api/email", s.methodNotAllowed("PUT", "DELETE"))
	api("POST", "/api/email/verify", s.emailOnly(s.handleVerifyEmail()))
	api("POST", "/api/password/forgot", s.emailOnly(s.handleForgotPassword()))
	api("POST", "/api/password/reset", s.emailOnly(s.handleResetPassword()))
	api("POST", "/api/login/second-factor/passkey", s.handleLoginPasskeyBegin())
	api("POST", "/api/mfa/passkeys/register/begin", s.authenticated(s.handlePasskeyRegisterBegin()))
	api("POST", "/api/mfa/passkeys/register/finish", s.authenticated(s.handlePasskeyRegisterFinish()))
	api("GET", "/api/mfa/passkeys", s.authenticated(s.handlePasskeys()))
	mux.Handle("PATCH /api/mfa/passkeys/{id}", noStore(s.authenticated(s.handleRenamePasskey())))
	mux.Handle("DELETE /api/mfa/passkeys/{id}", noStore(s.authenticated(s.handleDeletePasskey())))
	mux.Handle("/api/mfa/passkeys/{id}", s.methodNotAllowed("PATCH", "DELETE"))
	s.mfaRoutes(mux, api) // api_mfa.go

	api("GET", "/.well-known/jwks.json", s.handleJWKS())
	api("GET", "/.well-known/oauth-authorization-server", s.handleMetadata())
	// For other services, with a service client's credentials; without
	// SERVICE_CLIENTS these paths do not exist (404).
	if len(s.clients) > 0 {
		api("POST", "/oauth/introspect", s.serviceOnly(s.handleIntrospect(), "invalid_client"))
		api("POST", "/oauth/revoke", s.serviceOnly(s.handleRevoke(), "invalid_client"))
		api("GET", "/api/revocations", s.serviceOnly(s.handleRevocationFeed(), ""))
	}
	api("GET", "/healthz", s.handleHealthz())
	api("GET", "/readyz", s.handleReadyz())
	api("GET", "/metrics", s.handleMetrics())
	api("GET", "/openapi.yaml", s.handleOpenAPI())

	// Pages (pages*.go): HTML forms, session cookies, CSRF tokens.
	page := func(pattern string, h http.Handler) { mux.Handle(pattern, pageHeaders(h)) }
	page("GET /{$}", s.handleRoot())
	page("GET /login", s.handleAuthPage("login"))
	page("POST /login", s.handleLoginForm())
	page("GET /register", s.handleAuthPage("register"))
	page("POST /register", s.handleRegisterForm())
	page("GET /main", s.handleMainPage())
	page("POST /logout", s.handleLogoutForm())
	page("POST /password", s.handlePasswordForm())
	page("POST /sessions/{id}/revoke", s.handleRevokeForm())
	page("POST /passkeys/register", s.handlePasskeyRegisterForm())
	page("POST /passkeys/register/finish", s.handlePasskeyFinishForm())
	page("POST /passkeys/{id}/rename", s.handlePasskeyRenameForm())
	page("POST /passkeys/{id}/delete", s.handlePasskeyDeleteForm())
	page("GET /static/{file}", s.handleStatic())
	// Email pages (pages_email.go); the links in mails carry a token, so
	// those pages send no Referer at all.
	page("GET /forgot", s.handleForgotPage())
	page("POST /forgot", s.handleForgotForm())
	page("GET /reset", noReferrer(s.handleResetPage()))
	page("POST /reset", noReferrer(s.handleResetForm()))
	page("GET /verify-email", noReferrer(s.handleVerifyPage()))
	page("POST /verify-email", noReferrer(s.handleVerifyForm()))
	page("POST /email", s.handleEmailForm())
	page("POST /email/remove", s.handleEmailRemoveForm())
	s.mfaPageRoutes(mux, page) // pages_mfa.go
	for _, p := range []string{"/login", "/register", "/forgot", "/reset", "/verify-email"} {
		mux.Handle(p, s.pageMethodNotAllowed("GET", "HEAD", "POST"))
	}
	mux.Handle("/main", s.pageMethodNotAllowed("GET", "HEAD"))
	for _, p := range []string{"/logout", "/password", "/sessions/{id}/revoke", "/email", "/email/remove",
		"/passkeys/register", "/passkeys/register/finish", "/passkeys/{id}/rename", "/passkeys/{id}/delete"} {
		mux.Handle(p, s.pageMethodNotAllowed("POST"))
	}

	mux.Handle("/", s.notFound())
}

func (s *server) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wantsHTML(r) {
			pageHeaders(http.HandlerFunc(s.pageNotFound)).ServeHTTP(w, r)
			return
		}
		writeProblem(w, http.StatusNotFound, gatehouse.ENOTFOUND, "no such resource")
	})
}

// methodNotAllowed answers a known path asked with the wrong method.
// GET routes answer HEAD too (net/http does that), so Allow says so.
func (s *server) methodNotAllowed(allow ...string) http.Handler {
	for _, m := range allow {
		if m == "GET" {
			allow = append(allow, "HEAD")
		}
	}
	v := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", v)
		writeProblem(w, http.StatusMethodNotAllowed, gatehouse.EMETHODNOTALLOWED, r.Method+" is not allowed here")
	})
}
