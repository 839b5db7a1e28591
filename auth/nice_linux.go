package auth

import "syscall"

// canRenice: on Linux the nice value belongs to a thread, not the process.
const canRenice = true

// isMainThread reports whether the calling goroutine runs on the process's
// first thread (its thread id is the process id).
func isMainThread() bool { return syscall.Gettid() == syscall.Getpid() }

// setThreadNice sets the nice value of the calling thread, which must be
// locked to its goroutine. Lowering priority needs no privilege.
func setThreadNice(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
