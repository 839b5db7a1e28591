// Package gatehouse holds the vocabulary of the gatehouse authentication
// server: its domain types, the store interfaces and the one error type.
// It imports nothing but the standard library; the rules live in package
// auth and each dependency in a package of its own (token, sqldb, web).
package gatehouse

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// Version is set at build time with -ldflags "-X github.com/gatehouse/gatehouse.Version=…".
var Version = "dev"

// NewID returns a new opaque id: a UUIDv7 string (RFC 9562), time-ordered so
// that it indexes well, with 74 random bits from crypto/rand.
func NewID(now time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16|uint64(b[6])<<8|uint64(b[7]))
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	return formatUUID(b)
}
