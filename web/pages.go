package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// The pages are html/template files and one stylesheet, all embedded, so
// the binary serves them without anything from outside and without a
// build step; they use no JavaScript at all.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageSecurityPolicy allows the page nothing but our own stylesheet,
// images and script files (passkeys.js), and forms that post to us. No
// inline script and no eval: an injected <script> could not run even if
// escaping ever failed. The script fetches nothing (no connect-src).
const pageSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pages holds the parsed templates, one set per page, and the stylesheet
// fingerprint that busts caches when it changes.
type pages struct {
	sets      map[string]*template.Template
	assetHash string
}

// pageNames are the templates that are whole pages; layout.html wraps them.
var pageNames = []string{"auth", "main", "error", "email", "secondfactor"}

// pageParts are the templates a page includes besides layout.html.
var pageParts = map[string][]string{"main": {"mfa", "passkeys"}, "secondfactor": {"passkeys"}}

func newPages() *pages {
	p := &pages{sets: map[string]*template.Template{}, assetHash: hashAssets()}
	funcs := template.FuncMap{
		"asset": func(name string) string { return "/static/" + name + "?v=" + p.assetHash },
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	for _, name := range pageNames {
		t := template.Must(base.Clone())
		files := []string{"templates/" + name + ".html"}
		for _, part := range pageParts[name] {
			files = append(files, "templates/"+part+".html")
		}
		p.sets[name] = template.Must(t.ParseFS(templateFS, files...))
	}
	return p
}

// hashAssets fingerprints every static file, for the ?v= of their URLs.
func hashAssets() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := staticFS.ReadFile(p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// pageData is what every template gets. Fields a page does not use stay
// zero.
type pageData struct {
	Title    string
	CSRF     string
	Notice   string // a confirmation, from a flash
	Error    string // what went wrong with the form, in plain words
	ErrField string // the input the error is about, focused and marked invalid
	Version  string

	// auth.html
	Mode     string // "login" or "register"
	Username string // kept when the form is shown again

	// main.html
	User     *gatehouse.User
	Sessions []sessionView
	PwError  bool          // Error belongs to the password form
	MFA      *mfaView      // the two-factor card (mfa.html); nil: read from the store
	Passkeys *passkeysView // nil: passkeys are off (pages_passkey.go)

	// email.html and the email section of main.html (pages_email.go)
	Token      string          // the link's token, posted back by the form
	Account    *gatehouse.User // with its addresses; nil when email is off
	MailOn     bool            // mail can be sent: the address form is shown
	EmailError bool            // Error belongs to the email form

	// error.html
	Status int
	Back   string
}

// render writes a page with the given status. Every page is no-store: they
// show a user's data or carry a CSRF token tied to this browser.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page string, d *pageData) {
	d.Version = gatehouse.Version
	var buf bytes.Buffer
	if err := s.pages.sets[page].ExecuteTemplate(&buf, "layout.html", d); err != nil {
		s.log.Error("render page", "page", page, "err", err)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// renderError shows a page that is only a message and a way back.
func (s *server) renderError(w http.ResponseWriter, r *http.Request, status int, title, msg, back string) {
	s.render(w, r, status, "error", &pageData{Title: title, Error: msg, Status: status, Back: back})
}

// pageHeaders adds the security headers of every page and static file.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", pageSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// handleStatic serves the embedded stylesheet and icon. A URL with the
// current fingerprint may be cached for good; any other is revalidated.
func (s *server) handleStatic() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if name == "" || strings.Contains(name, "/") || path.Ext(name) == "" {
			s.pageNotFound(w, r)
			return
		}
		if _, err := fs.Stat(sub, name); err != nil {
			s.pageNotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == s.pages.assetHash {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		files.ServeHTTP(w, r2)
	})
}

// pageNotFound is the 404 a browser gets for a path that is no page.
func (s *server) pageNotFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.", "/")
}

// pageMethodNotAllowed answers a page path asked with the wrong method.
func (s *server) pageMethodNotAllowed(allow ...string) http.Handler {
	v := strings.Join(allow, ", ")
	return pageHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", v)
		s.renderError(w, r, http.StatusMethodNotAllowed, "Not allowed", "This page cannot be used that way.", "/")
	}))
}

// wantsHTML reports whether a request for an unknown path came from a
// browser navigating, which should get a page rather than JSON.
func wantsHTML(r *http.Request) bool {
	return !strings.HasPrefix(r.URL.Path, "/api/") && strings.Contains(r.Header.Get("Accept"), "text/html")
}
