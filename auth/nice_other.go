//go:build !linux

package auth

// canRenice: elsewhere the nice value is the whole process's, so hashes
// run at the process's priority.
const canRenice = false

func isMainThread() bool { return false }

func setThreadNice(int) {}
