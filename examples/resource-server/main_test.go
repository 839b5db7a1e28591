package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

// TestExample runs the example against a real gatehouse: a token opens
// /hello, and its logout closes it within the 1 s contract (checked with
// slack: timing does not decide this test unless it is far off).
func TestExample(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "g.db"), sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := auth.LoadKeys(ctx, db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(auth.Config{Store: db, RefreshTTL: time.Hour,
		Tokens: token.New(keys, token.Options{Issuer: "http://gatehouse.test", Audience: "gatehouse"}),
		Hasher: &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4}})
	if err != nil {
		t.Fatal(err)
	}
	g := httptest.NewServer(web.NewServer(web.Deps{Auth: svc, Keys: keys, Store: db,
		ServiceClients: []web.ServiceClient{{ID: "notes", Secret: "a-long-random-secret-for-notes"}}}))
	defer g.Close()

	base := startExample(t, map[string]string{
		"ADDR": "127.0.0.1:0", "GATEHOUSE_ISSUER": "http://gatehouse.test", "GATEHOUSE_URL": g.URL,
		"GATEHOUSE_CLIENT_ID": "notes", "GATEHOUSE_CLIENT_SECRET": "a-long-random-secret-for-notes",
	})
	svc.Register(ctx, "alice", "alices password")
	p, err := svc.Login(ctx, "alice", "alices password", auth.Client{})
	if err != nil {
		t.Fatal(err)
	}
	status, body := getHello(t, base, p.AccessToken)
	var got map[string]string
	json.Unmarshal([]byte(body), &got)
	if status != 200 || got["message"] != "hello, alice" || got["session"] != p.Session.ID {
		t.Fatalf("/hello = %d %s", status, body)
	}
	if status, _ := getHello(t, base, ""); status != 401 {
		t.Errorf("/hello without a token = %d, want 401", status)
	}
	if err := svc.RevokeToken(ctx, p.AccessToken); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		if status, _ := getHello(t, base, p.AccessToken); status == 401 {
			t.Logf("example refused the token %v after the logout", time.Since(revoked))
			return
		}
		if time.Since(revoked) > 2*time.Second {
			t.Fatalf("the example still accepts the token %v after the logout", time.Since(revoked))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func startExample(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, pw, io.Discard); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("example stopped with %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	u, ok := strings.CutPrefix(strings.TrimSpace(line), "resource server listening on ")
	if err != nil || !ok {
		t.Fatalf("example did not start: %q, %v", line, err)
	}
	return u
}

func getHello(t *testing.T, base, access string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/hello", nil)
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
