package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// occupy takes every slot of p until the test ends or release is called.
func occupy(t *testing.T, p *auth.Pool) (release func()) {
	t.Helper()
	done := make(chan struct{})
	for range p.Size() {
		started := make(chan struct{})
		go p.Do(context.Background(), func() { close(started); <-done })
		<-started
	}
	var closed bool
	release = func() {
		if !closed {
			closed = true
			close(done)
		}
	}
	t.Cleanup(release)
	return release
}

func wantBusy(t *testing.T, err error, retryAfter int) {
	t.Helper()
	if !errors.Is(err, auth.ErrBusy) || gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("error = %v, want ErrBusy (unavailable)", err)
	}
	var ra interface{ RetryAfterSeconds() int }
	if !errors.As(err, &ra) || ra.RetryAfterSeconds() != retryAfter {
		t.Fatalf("error %v carries no Retry-After of %d", err, retryAfter)
	}
}

func TestPoolShedsAfterTheWait(t *testing.T) {
	p := auth.NewPool(1, 4, 20*time.Millisecond)
	release := occupy(t, p)
	wantBusy(t, p.Do(context.Background(), func() { t.Error("ran on a full pool") }), 1)
	if p.Shed() != 1 || p.Queued() != 0 {
		t.Fatalf("shed %d, queued %d; want 1 and 0", p.Shed(), p.Queued())
	}
	release()
	deadline := time.Now().Add(5 * time.Second)
	for p.InUse() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	ran := false
	if err := p.Do(context.Background(), func() { ran = true }); err != nil || !ran {
		t.Fatalf("Do on a free pool = %v, ran %v", err, ran)
	}
	if p.Done() != 2 {
		t.Fatalf("Done = %d, want 2", p.Done())
	}
}

// TestPoolQueueIsBounded: with the slot and the queue full, a caller is
// turned away at once instead of joining the wait.
func TestPoolQueueIsBounded(t *testing.T) {
	p := auth.NewPool(1, 2, time.Hour)
	release := occupy(t, p)
	waiting := make(chan error, 2)
	for range 2 {
		go func() { waiting <- p.Do(context.Background(), func() {}) }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Queued() != 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.Queued() != 2 {
		t.Fatalf("queued = %d, want 2", p.Queued())
	}
	// The wait is an hour: only a bounded queue can answer this call.
	wantBusy(t, p.Do(context.Background(), func() { t.Error("ran past a full queue") }), 3600)
	release()
	for range 2 {
		if err := <-waiting; err != nil {
			t.Fatalf("a queued caller got %v, want its turn", err)
		}
	}
	if p.Shed() != 1 || p.Done() != 3 {
		t.Fatalf("shed %d, done %d; want 1 and 3", p.Shed(), p.Done())
	}
}

func TestPoolWithoutQueue(t *testing.T) {
	p := auth.NewPool(2, 0, time.Hour)
	occupy(t, p)
	wantBusy(t, p.Do(context.Background(), func() {}), 3600)
}

func TestPoolCallerGivesUp(t *testing.T) {
	p := auth.NewPool(1, 1, time.Hour)
	occupy(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wantBusy(t, p.Do(ctx, func() {}), 3600)
	if p.Queued() != 0 {
		t.Fatalf("queued = %d after the caller left", p.Queued())
	}
}

func TestDefaultPoolSize(t *testing.T) {
	if n := auth.DefaultPoolSize(); n < 1 || n > runtime.NumCPU() {
		t.Fatalf("DefaultPoolSize = %d on %d CPUs", n, runtime.NumCPU())
	}
}

// TestReserveProc: a pool with a slot per core gets one P more than it can
// fill, and never more than that however many slots it has.
func TestReserveProc(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(was) })
	cores := auth.DefaultPoolSize()
	runtime.GOMAXPROCS(cores)
	for _, c := range []struct{ size, want int }{
		{max(cores-1, 1), max(cores, 2)}, // a spare P already, unless a single core
		{cores, cores + 1},
		{1000, cores + 1},
	} {
		runtime.GOMAXPROCS(cores)
		auth.ReserveProc(c.size)
		if got := runtime.GOMAXPROCS(0); got != c.want {
			t.Errorf("ReserveProc(%d) on %d cores: GOMAXPROCS %d, want %d", c.size, cores, got, c.want)
		}
	}
	runtime.GOMAXPROCS(cores + 5)
	auth.ReserveProc(cores)
	if got := runtime.GOMAXPROCS(0); got != cores+5 {
		t.Errorf("ReserveProc lowered GOMAXPROCS from %d to %d", cores+5, got)
	}
}

// TestUnknownUserCostsAHash: an unknown username runs one hash on the
// pool, as a wrong password does, and both give the same error. (The
// timing itself is compared in web's TestEnumerationTiming.)
func TestUnknownUserCostsAHash(t *testing.T) {
	ctx := context.Background()
	s := newService(t, openStore(t, filepath.Join(t.TempDir(), "g.db")), edKeys(t), 4, nil)
	if _, err := s.Register(ctx, "dave", "daves password"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, username, password string }{
		{"unknown user", "nobody", "daves password"},
		{"wrong password", "dave", "wrong password"},
	} {
		before := s.Pool().Done()
		_, err := s.Login(ctx, tc.username, tc.password, auth.Client{})
		if gatehouse.ErrorCode(err) != gatehouse.ECREDENTIALS || gatehouse.ErrorMessage(err) != "invalid username or password" {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := s.Pool().Done() - before; got != 1 {
			t.Fatalf("%s ran %d hashes, want 1", tc.name, got)
		}
	}
}

// TestBusyAnswersAlike: when the pool sheds, an unknown username gets
// the same 503 as a known one, or a busy server would tell them apart.
func TestBusyAnswersAlike(t *testing.T) {
	ctx := context.Background()
	pool := auth.NewPool(1, 0, time.Millisecond)
	s, err := auth.New(auth.Config{
		Store: openStore(t, filepath.Join(t.TempDir(), "g.db")), Tokens: newTokens(edKeys(t), nil),
		Hasher: &auth.Hasher{Algorithm: auth.Bcrypt, BcryptCost: 4}, RefreshTTL: time.Hour, Pool: pool,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, "erin", "erins password"); err != nil {
		t.Fatal(err)
	}
	occupy(t, pool)
	for _, username := range []string{"erin", "nobody"} {
		if _, err := s.Login(ctx, username, "wrong password", auth.Client{}); !errors.Is(err, auth.ErrBusy) {
			t.Errorf("login of %s on a busy pool = %v, want ErrBusy", username, err)
		}
	}
}
