package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// binDir holds the gatehouse binary that the process tests build once.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-test-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// gatehouseBinary builds the command, once per test run, as it ships:
// CGO_ENABLED=0, without -race (so that bcrypt runs at its real speed even
// when the tests run under -race).
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		build.path = filepath.Join(binDir, "gatehouse")
		cmd := exec.Command(goTool, "build", "-o", build.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		if _, err := os.Stat(build.path); os.IsNotExist(err) && len(build.out) == 0 {
			testenv.RequireOrSkip(t, "the go command")
		}
		t.Fatalf("go build: %v\n%s", build.err, build.out)
	}
	return build.path
}

// process is gatehouse running as a child process.
type process struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan struct{}
}

// startProcess runs the binary with exactly the variables of vars (nothing
// from the test's own environment) in an empty directory (no .env), waits
// until /readyz answers and stops it when the test ends.
func startProcess(t *testing.T, bin string, vars map[string]string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = t.TempDir()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "gatehouse listening on "); ok {
				urlc <- u
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	select {
	case p.url = <-urlc:
	case <-p.done:
		t.Fatalf("gatehouse exited at start: %v\n%s", cmd.ProcessState, p.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("gatehouse did not listen in time:\n%s", p.logs)
	}
	waitReady(t, p.url)
	return p
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would:
// no shutdown, no flush, no deferred function runs. It waits until the
// process is gone.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}
