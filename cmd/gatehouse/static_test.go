package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestStaticBinary builds gatehouse as deploy/Dockerfile does (CGO_ENABLED=0,
// version stamped; without -trimpath, which changes no linking but would
// miss the build cache that .ci/run's own static build fills) and checks that the result is statically
// linked — no program interpreter, no shared library — so that it runs on
// distroless/static or scratch, and that it runs.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build",
		"-ldflags", "-s -w -X github.com/gatehouse/gatehouse.Version=static-test", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a program interpreter (PT_INTERP): it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries (DT_NEEDED): %v %v", libs, err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "gatehouse static-test" {
		t.Errorf("gatehouse version = %q, %v", out, err)
	}
}

// TestDeployExamples keeps the examples to their promises: the Dockerfile
// builds without cgo and runs as a non-root user on a static base; the
// unit keeps its sandbox.
func TestDeployExamples(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("../../deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	docker := read("Dockerfile")
	for _, want := range []string{"EXAMPLE", "CGO_ENABLED=0", "FROM gcr.io/distroless/static", "USER 65532", "AS build", "COPY --from=build"} {
		if !strings.Contains(docker, want) {
			t.Errorf("deploy/Dockerfile lacks %q", want)
		}
	}
	unit := read("gatehouse.service")
	for _, want := range []string{"EXAMPLE", "DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
		"CapabilityBoundingSet=\n", "PrivateTmp=yes", "SystemCallFilter=@system-service", "ExecStart=/usr/local/bin/gatehouse serve"} {
		if !strings.Contains(unit, want) {
			t.Errorf("deploy/gatehouse.service lacks %q", want)
		}
	}
}
