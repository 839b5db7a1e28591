package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/sqldb"
	"github.com/gatehouse/gatehouse/token"
	"github.com/gatehouse/gatehouse/web"
)

// BenchmarkMain serves GET /api/main through the whole handler — routing,
// middleware, authentication, the user cache, JSON — and, in the same
// loop, the same JSON from a bare handler with no auth at all. It reports
// both and their ratio (x-bare): gatehouse's cost over plain net/http
// without a network, where the difference is largest. The two alternate
// in blocks of 64 requests and the figures are medians over the blocks, so
// that a pause the machine imposes on one block does not tip the ratio.
func BenchmarkMain(b *testing.B) {
	h, bearer, u := benchHandler(b)
	bare := bareMain(u)
	req := httptest.NewRequest("GET", "/api/main", nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	serve := func(h http.Handler) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	serve(h) // the first request fills the caches
	const block = 64
	var inGatehouse, inBare, ratios []float64
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		for range block {
			serve(h)
		}
		t1 := time.Now()
		for range block {
			serve(bare)
		}
		g, r := float64(t1.Sub(t0))/block, float64(time.Since(t1))/block
		inGatehouse, inBare, ratios = append(inGatehouse, g), append(inBare, r), append(ratios, g/r)
	}
	b.ReportMetric(median(inGatehouse), "gatehouse-ns/req")
	b.ReportMetric(median(inBare), "bare-ns/req")
	b.ReportMetric(median(ratios), "x-bare")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchHandler returns gatehouse's handler over a fresh SQLite store with
// one user logged in, and that user's access token.
func benchHandler(b *testing.B) (http.Handler, string, *gatehouse.User) {
	b.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"), sqldb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	k, err := token.GenerateEd25519(time.Now().Add(-time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	keys, err := token.NewEdDSA([]*gatehouse.SigningKey{k}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	svc, err := auth.New(auth.Config{
		Store:      db,
		Tokens:     token.New(keys, token.Options{Issuer: "http://test", Audience: "gatehouse"}),
		Hasher:     &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4},
		RefreshTTL: time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	u, err := svc.Register(ctx, "alice", "alices password")
	if err != nil {
		b.Fatal(err)
	}
	pair, err := svc.Login(ctx, "alice", "alices password", auth.Client{})
	if err != nil {
		b.Fatal(err)
	}
	return web.NewServer(web.Deps{Auth: svc, Keys: keys, Store: db}), pair.AccessToken, u
}

// bareMain answers what GET /api/main answers for u, as a minimal net/http
// handler would: marshalled on each request, the same headers, no auth.
func bareMain(u *gatehouse.User) http.Handler {
	type user struct {
		ID        string `json:"id"`
		Username  string `json:"username"`
		CreatedAt string `json:"created_at"`
	}
	type response struct {
		Message string `json:"message"`
		User    user   `json:"user"`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/main", func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(response{Message: "Welcome, " + u.Username + "!", User: user{ID: u.ID, Username: u.Username, CreatedAt: u.CreatedAt.UTC().Format(time.RFC3339)}})
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Length", strconv.Itoa(len(b)+1))
		w.Write(append(b, '\n'))
	})
	return mux
}
