package main

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/sqldb"
)

// readmeSQL returns the statements of the first <<'SQL' here-document
// after the README heading that starts with heading.
func readmeSQL(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading)
	if !ok {
		t.Fatalf("README has no heading %q", heading)
	}
	_, doc, ok := strings.Cut(section, "<<'SQL'\n")
	doc, _, ok2 := strings.Cut(doc, "\n   SQL\n")
	if !ok || !ok2 {
		t.Fatalf("README section %q has no <<'SQL' here-document", heading)
	}
	var stmts []string
	for _, s := range strings.Split(doc, ";") {
		if s = strings.TrimSpace(s); s != "" {
			stmts = append(stmts, s)
		}
	}
	return stmts
}

// TestReadmeDatabaseSetup runs the README's SQL for an existing MySQL and
// PostgreSQL as written, with a fresh name for "gatehouse" and the
// password, then runs `gatehouse migrate` and serves as that user: the
// instructions, and the privileges they grant, are what gatehouse needs.
func TestReadmeDatabaseSetup(t *testing.T) {
	for _, tc := range []struct{ dialect, heading string }{
		{"mysql", "### An existing MySQL or MariaDB"},
		{"postgres", "### An existing PostgreSQL"},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			stmts := readmeSQL(t, tc.heading)
			admin := openAdmin(t, testenv.DSN(t, serverEnv[tc.dialect]))
			name := "gh_readme_" + strings.ToLower(rand.Text()[:10]) // PostgreSQL folds unquoted names
			word := regexp.MustCompile(`\bgatehouse\b`)
			t.Cleanup(func() { dropReadmeSetup(t, admin, tc.dialect, name) })
			for _, s := range stmts {
				s = strings.ReplaceAll(word.ReplaceAllString(s, name), "long-random-password", "pw-"+name)
				if _, err := admin.SQL().ExecContext(t.Context(), s); err != nil {
					t.Fatalf("README statement %q: %v", s, err)
				}
			}

			u, _ := url.Parse(admin.url)
			u.User, u.Path = url.UserPassword(name, "pw-"+name), "/"+name
			env := storeEnv(t, u.String(), nil)
			if out, _, err := runCLI(t, env, "", "migrate"); err != nil || out != "migrations applied ("+tc.dialect+")\n" {
				t.Fatalf("gatehouse migrate: %q, %v", out, err)
			}
			g := start(t, env)
			register(t, g.url, "readme", "readme password")
			login(t, g.url, "readme", "readme password")
		})
	}
}

// adminDB is a connection to a test server as its administrator.
type adminDB struct {
	*sqldb.DB
	url string
}

func openAdmin(t *testing.T, dsn string) *adminDB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), dsn, sqldb.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &adminDB{DB: db, url: dsn}
}

func dropReadmeSetup(t *testing.T, admin *adminDB, dialect, name string) {
	drops := []string{"DROP DATABASE IF EXISTS " + name, "DROP USER IF EXISTS '" + name + "'@'%'"}
	if dialect == "postgres" {
		drops = []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "DROP ROLE IF EXISTS " + name}
	}
	for _, d := range drops {
		if _, err := admin.SQL().ExecContext(context.Background(), d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}
