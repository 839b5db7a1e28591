package gatehouse_test

import (
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestNewID(t *testing.T) {
	uuid7 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	now := time.Now()
	prev := ""
	for i := range 1000 {
		id := gatehouse.NewID(now.Add(time.Duration(i) * time.Millisecond))
		if !uuid7.MatchString(id) {
			t.Fatalf("NewID = %q, not a UUIDv7", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		if id[:13] < prev {
			t.Fatalf("NewID not time-ordered: %q after %q", id, prev)
		}
		prev = id[:13]
		seen[id] = true
	}
}

func TestErrorCode(t *testing.T) {
	e := gatehouse.Errorf(gatehouse.ENOTFOUND, "no user %q", "x")
	wrapped := fmt.Errorf("context: %w", e)
	tests := []struct {
		name    string
		err     error
		code    string
		message string
	}{
		{name: "nil", err: nil, code: "", message: ""},
		{name: "gatehouse error", err: e, code: gatehouse.ENOTFOUND, message: `no user "x"`},
		{name: "wrapped", err: wrapped, code: gatehouse.ENOTFOUND, message: `no user "x"`},
		{name: "other error is internal", err: errors.New("SELECT * FROM users failed"), code: gatehouse.EINTERNAL, message: "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gatehouse.ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := gatehouse.ErrorMessage(tt.err); got != tt.message {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.message)
			}
		})
	}
}
