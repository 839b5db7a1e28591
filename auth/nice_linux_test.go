package auth_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// threadNice returns the nice value of the calling thread.
func threadNice(t *testing.T) int {
	t.Helper()
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - p // the raw system call answers 20 - nice
}

// niceThreads counts the process's threads whose nice value is not 0.
func niceThreads(t *testing.T) int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/self/task/*/stat")
	n := 0
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended meanwhile
		}
		// Fields after the parenthesised name; nice is field 19, the
		// 17th after it.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if v, _ := strconv.Atoi(fields[16]); v != 0 {
			n++
		}
	}
	return n
}

// TestPoolRunsHashesAtLowPriority: a hash runs on a thread at the pool's
// nice value, and that thread ends with it, so nothing else ever runs at
// the lowered priority.
func TestPoolRunsHashesAtLowPriority(t *testing.T) {
	if n := threadNice(t); n != 0 {
		t.Skipf("the test runs at nice %d already", n)
	}
	for _, nice := range []int{auth.DefaultNice, 7} {
		p := auth.NewPool(1, 0, time.Second)
		p.SetNice(nice)
		for range 20 {
			var got int
			if err := p.Do(context.Background(), func() { got = threadNice(t) }); err != nil {
				t.Fatal(err)
			}
			if got != nice {
				t.Fatalf("SetNice(%d): a hash ran at nice %d", nice, got)
			}
		}
	}
	p := auth.NewPool(1, 0, time.Second)
	if err := p.Do(context.Background(), func() {
		if n := threadNice(t); n != 0 {
			t.Errorf("NewPool ran a hash at nice %d, want 0 until SetNice", n)
		}
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for niceThreads(t) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := niceThreads(t); n != 0 {
		t.Fatalf("%d threads still run at a lowered priority after the hashes", n)
	}
}

func TestPoolPanicReachesTheCaller(t *testing.T) {
	p := auth.NewPool(1, 0, time.Second)
	defer func() {
		if v := recover(); v != "boom" {
			t.Fatalf("recovered %v, want the hash's panic", v)
		}
		if p.InUse() != 0 {
			t.Fatal("the slot was not given back")
		}
	}()
	p.Do(context.Background(), func() { panic("boom") })
}
