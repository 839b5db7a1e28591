package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCmd runs the command in-process and returns its standard output.
func runCmd(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// TestRun makes a tiny comparison at bcrypt cost 4 and checks that every
// figure the issue asks for is there, nothing failed, and the chart is
// well-formed SVG.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	svg, js := filepath.Join(dir, "out.svg"), filepath.Join(dir, "out.json")
	out := runCmd(t, "run", "-duration", "200ms", "-rounds", "2", "-slices", "2", "-conns", "4", "-hash-conns", "2",
		"-cost", "4", "-svg", svg, "-json", js)
	var rep report
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, d := range ratioDefs {
		var found *ratio
		for i := range rep.Ratios {
			if rep.Ratios[i].Key == d.Key {
				found = &rep.Ratios[i]
			}
		}
		if found == nil || len(found.PerRound) != 2 || found.Value <= 0 {
			t.Errorf("ratio %s = %+v, want a positive median of 2 rounds", d.Key, found)
		}
		if !strings.Contains(out, d.Label) {
			t.Errorf("the table lacks %q", d.Label)
		}
	}
	for _, name := range scenarioOrder {
		m, ok := rep.Medians[name]
		if !ok || m.N == 0 || m.Errors != 0 {
			t.Errorf("scenario %s: %+v, want some requests and no errors", name, m)
		}
	}
	checkSVG(t, svg)
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	elements := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if elements == 0 && se.Name.Local != "svg" {
				t.Fatalf("root element %q, want svg", se.Name.Local)
			}
			elements++
		}
	}
	if elements < 20 {
		t.Errorf("chart has %d elements: too few to show the figures", elements)
	}
}

// TestSeedAndScale seeds a store and compares it with a smaller one.
func TestSeedAndScale(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "seed.db")
	out := runCmd(t, "seed", "-db", url, "-users", "600", "-sessions", "600", "-cost", "4")
	if !strings.Contains(out, "seeded 600 users and 600 sessions") {
		t.Fatalf("seed said %q", out)
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"seed", "-db", url, "-users", "1", "-cost", "4"}, func(string) string { return "" }, io.Discard, &stderr); err == nil {
		t.Error("seeding a seeded store succeeded")
	}
	out = runCmd(t, "scale", "-small", "50", "-large", "600", "-large-db", url, "-cost", "4",
		"-duration", "200ms", "-rounds", "1", "-slices", "2", "-conns", "4", "-tokens", "20")
	for _, want := range []string{"/api/main p99", "login p50", "50 USERS", "600 USERS"} {
		if !strings.Contains(out, want) {
			t.Errorf("scale output lacks %q:\n%s", want, out)
		}
	}
}

// TestProcess starts the real binary twice and reads its start-up time and
// memory.
func TestProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gatehouse")
	build := exec.Command("go", "build", "-o", bin, "github.com/gatehouse/gatehouse/cmd/gatehouse")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := runCmd(t, "process", "-bin", bin, "-starts", "1", "-cost", "4", "-idle", "10ms")
	if !strings.Contains(out, "new store") || !strings.Contains(out, "idle RSS") {
		t.Fatalf("process output:\n%s", out)
	}
	rss, _, err := procMemory(os.Getpid())
	if err != nil || rss <= 0 {
		t.Fatalf("procMemory(self) = %v, %v", rss, err)
	}
}

// TestSoak runs a few seconds of the mixed load: the sampling works and no
// request fails.
func TestSoak(t *testing.T) {
	out := runCmd(t, "soak", "-duration", "3s", "-every", "1s", "-ttl", "10s", "-cost", "4", "-main-rate", "200")
	if !strings.Contains(out, "LIVE HEAP MB") || strings.Count(out, "\n") < 6 {
		t.Fatalf("soak output:\n%s", out)
	}
	if strings.Contains(out, "requests failed") {
		t.Fatalf("soak had failures:\n%s", out)
	}
}

func TestClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/none":
			w.WriteHeader(204)
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		default:
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Length", "5")
			w.Write([]byte(strings.ToUpper(string(body))[:5]))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	c := newConn(addr)
	defer c.close()
	// A kept-alive connection the server has since closed: the request
	// goes again on a new one.
	if status, _, err := c.do(request("GET", addr, "/none", "", nil)); err != nil || status != 204 {
		t.Fatalf("first request: %d %v", status, err)
	}
	srv.CloseClientConnections()
	if status, _, err := c.do(request("GET", addr, "/none", "", nil)); err != nil || status != 204 {
		t.Errorf("request on a connection the server closed: %d %v, want 204 after a retry", status, err)
	}
	for _, tc := range []struct {
		req    []byte
		status int
		body   string
	}{
		{request("POST", addr, "/echo", "tok", []byte("hello world")), 200, "HELLO"},
		{request("GET", addr, "/none", "", nil), 204, ""},
		{request("GET", addr, "/close", "", nil), 200, "bye"},
		{request("POST", addr, "/echo", "", []byte("again")), 200, "AGAIN"}, // a new connection
	} {
		status, body, err := c.do(tc.req)
		if err != nil || status != tc.status || string(body) != tc.body {
			t.Errorf("%.20q: %d %q %v, want %d %q", tc.req, status, body, err, tc.status, tc.body)
		}
	}
}

func TestStatistics(t *testing.T) {
	lat := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if q := quantile(lat, 0.5); q != 5 {
		t.Errorf("p50 = %v, want 5", q)
	}
	if q := quantile(lat, 0.99); q != 10 {
		t.Errorf("p99 = %v, want 10", q)
	}
	if m := median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("median = %v, want 2.5", m)
	}
	xs := []float64{0, 10, 20, 30}
	if g := growth(xs, []float64{100, 105, 110, 115}); g < 0.13 || g > 0.14 {
		t.Errorf("growth of a 15%% rise over a median of 107.5 = %v", g)
	}
	if g := growth(xs, []float64{50, 51, 49, 50}); g > 0.05 || g < -0.05 {
		t.Errorf("growth of a flat series = %v", g)
	}
}

// TestTTLReachesServer: the soak's -ttl must be the server's token
// lifetime, or revocations pile up for an hour and memory is not flat.
func TestTTLReachesServer(t *testing.T) {
	b, err := newBench(context.Background(), compareConfig{conns: 2, hashConns: 1, cost: 4, ttl: 15 * time.Second, slices: 1}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if got := b.g.tokens.TTL(); got != 15*time.Second {
		t.Errorf("server token lifetime = %v, want 15s", got)
	}
}

// TestInterrupt: a cancelled context (SIGINT, SIGTERM) ends a run between
// two slices instead of after all the rounds.
func TestInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(2*time.Second, cancel)
	start := time.Now()
	err := run(ctx, []string{"run", "-only", "main", "-duration", "1s", "-rounds", "1000", "-conns", "2", "-cost", "4"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("an interrupted run reported success")
	}
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("the run went on for %v after its context ended", d)
	}
}
