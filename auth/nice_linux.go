package auth

import "syscall"

// canRenice: on Linux the nice value belongs to a thread, not the process.
const canRenice = true

// lowerThreadPriority sets the nice value of the calling thread, locked to
// its goroutine, and reports whether it did. It leaves the main thread
// alone: the runtime cannot end that one, so it would keep the lowered
// priority (parked for good, but still). Lowering priority needs no
// privilege; a failure leaves the thread as it was.
func lowerThreadPriority(nice int) bool {
	tid := syscall.Gettid()
	if tid == syscall.Getpid() {
		return false
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice) == nil
}
