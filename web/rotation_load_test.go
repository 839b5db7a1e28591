package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/verify"
	"github.com/gatehouse/gatehouse/web"
)

// A fast key schedule, so that a few seconds see several rotations: each
// key signs 3 s, its successor is published 2 s ahead (JWKS max-age 1 s),
// and it is deleted 4 s (the access TTL) plus 200 ms after it retires.
var (
	fastKeys  = auth.KeyPolicy{Rotation: 3 * time.Second, PublishAhead: 2 * time.Second, Grace: 200 * time.Millisecond}
	fastTTL   = 4 * time.Second
	loadFor   = 9 * time.Second
	loadUsers = 4
)

// node is one instance: its own pool, service and HTTP server.
type node struct {
	url string
	svc *auth.Service
}

func startNode(t *testing.T, ctx context.Context, url string) *node {
	t.Helper()
	db, err := sqldb.Open(ctx, url, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := auth.LoadKeys(ctx, db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(auth.Config{
		Store:      db,
		Tokens:     token.New(keys, token.Options{Issuer: "http://cluster.test", Audience: "gatehouse", TTL: fastTTL}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: time.Hour,
		Keys:       fastKeys,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	go svc.FollowKeys(ctx, 100*time.Millisecond)
	go svc.FollowRevocations(ctx, 100*time.Millisecond)
	srv := httptest.NewServer(web.NewServer(web.Deps{Auth: svc, Keys: svc.Tokens().Keys(), Store: db,
		ServiceClients: []web.ServiceClient{{ID: svcID, Secret: svcSecret}}}))
	t.Cleanup(srv.Close)
	return &node{url: srv.URL, svc: svc}
}

// TestKeyRotationUnderLoad: three instances rotate their keys on a fast
// schedule while clients log in on one instance and use the token on the
// others and on a verify-backed service. No request may fail, one key at a
// time may be pending, and retired keys must go.
func TestKeyRotationUnderLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		nodes := []*node{startNode(t, ctx, url), startNode(t, ctx, url), startNode(t, ctx, url)}
		v, err := verify.New(ctx, verify.Config{Issuer: "http://cluster.test", URL: nodes[0].url, ClientID: svcID, ClientSecret: svcSecret,
			PollInterval: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		go v.Run(ctx)
		rs := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
		defer rs.Close()
		firstKid := nodes[0].svc.Tokens().Keys().SignerID(time.Now())

		var requests, failures atomic.Int64
		kids := sync.Map{}
		deadline := time.Now().Add(loadFor)
		var wg sync.WaitGroup
		wg.Go(func() { watchPending(t, nodes[1].svc, deadline) })
		for u := range loadUsers {
			user := fmt.Sprintf("load%d", u)
			if _, err := nodes[0].svc.Register(ctx, user, user+" password"); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				for time.Now().Before(deadline) {
					tok, ok := loadRound(t, nodes, rs.URL, user, &requests, &failures)
					if ok {
						kids.Store(kidOf(tok), true)
					}
				}
			})
		}
		wg.Wait()
		n := 0
		kids.Range(func(any, any) bool { n++; return true })
		t.Logf("%d requests, %d failed, %d signing keys used", requests.Load(), failures.Load(), n)
		if failures.Load() != 0 {
			t.Errorf("%d of %d requests failed during rotation", failures.Load(), requests.Load())
		}
		if n < 2 {
			// At least one rotation under load; more depend on how busy
			// the machine is, not on gatehouse.
			t.Errorf("%d signing keys were used in %v, want at least 2: the keys did not rotate", n, loadFor)
		}
		list, err := nodes[2].svc.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range list {
			if k.ID == firstKid {
				t.Errorf("the first key is still stored (%s) long after its last token expired", k.State)
			}
		}
	})
}

// loadRound logs in on one instance and uses the token on every instance
// and on the verify-backed service; any answer but success is a failure.
func loadRound(t *testing.T, nodes []*node, rs, user string, requests, failures *atomic.Int64) (string, bool) {
	n := nodes[rand.N(len(nodes))]
	body := strings.NewReader(`{"username":"` + user + `","password":"` + user + ` password"}`)
	issued := time.Now()
	resp, err := http.Post(n.url+"/api/login", "application/json", body)
	requests.Add(1)
	if err != nil || resp.StatusCode != 200 {
		failures.Add(1)
		t.Logf("login on %s: %v %v", n.url, err, resp)
		return "", false
	}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&pair)
	resp.Body.Close()
	targets := []string{rs + "/"}
	for _, m := range nodes {
		targets = append(targets, m.url+"/api/me")
	}
	for _, u := range targets {
		if time.Since(issued) > fastTTL-time.Second {
			break // as a client would, log in again before the token expires
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		requests.Add(1)
		if err != nil {
			failures.Add(1)
			t.Logf("GET %s: %v", u, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			failures.Add(1)
			t.Logf("GET %s with a token of key %s, %v old: %d %s", u, kidOf(pair.AccessToken), time.Since(issued), resp.StatusCode, b)
		}
	}
	return pair.AccessToken, true
}

// watchPending checks, until deadline, that there is never more than one
// key waiting to sign: instances rotating at once must agree on one.
func watchPending(t *testing.T, s *auth.Service, deadline time.Time) {
	for time.Now().Before(deadline) {
		list, err := s.ListKeys(context.Background())
		if err != nil {
			t.Errorf("ListKeys: %v", err)
			return
		}
		next := 0
		for _, k := range list {
			if k.State == auth.KeyNext {
				next++
			}
		}
		if next > 1 {
			t.Errorf("%d keys wait to sign at once: %+v", next, list)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func kidOf(raw string) string {
	h, _, _ := strings.Cut(raw, ".")
	b, _ := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	json.Unmarshal(b, &hdr)
	return hdr.Kid
}
