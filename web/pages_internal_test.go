package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestDeviceName(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "Chrome on Linux"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Headless Chrome on Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0", "Edge on Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15", "Safari on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
		{"Mozilla/5.0 (Android 15; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0", "Firefox on Android"},
		{"Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Mobile Safari/537.36", "Chrome on Android"},
		{"curl/8.5.0", "curl"},
		{"Go-http-client/1.1", "Go program"},
		{"", "Unknown device"},
		{"my-sync-tool/2.0 (build 7)", "my-sync-tool/2.0"},
	}
	for _, tt := range tests {
		if got := deviceName(tt.ua); got != tt.want {
			t.Errorf("deviceName(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"},
		{59 * time.Second, "just now"},
		{time.Minute, "1 minute ago"},
		{42 * time.Minute, "42 minutes ago"},
		{time.Hour, "1 hour ago"},
		{23 * time.Hour, "23 hours ago"},
		{48 * time.Hour, "2 days ago"},
		{-time.Minute, "just now"}, // another instance's clock a little ahead
	}
	for _, tt := range tests {
		if got := ago(now, now.Add(-tt.d)); got != tt.want {
			t.Errorf("ago(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// throttled is an error as a login throttle would return it.
type throttled struct{ secs int }

func (e throttled) Error() string          { return fmt.Sprintf("throttled for %d s", e.secs) }
func (e throttled) RetryAfterSeconds() int { return e.secs }
func (e throttled) Unwrap() error {
	return gatehouse.Errorf(gatehouse.ETOOMANYREQUESTS, "too many failed logins")
}

// TestTooManyAttempts words a 429 from auth (a throttle, when there is
// one) for people, with its Retry-After.
func TestTooManyAttempts(t *testing.T) {
	s := &server{log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		err  error
		want string
		ra   string
	}{
		{throttled{30}, "Too many attempts. Please wait 30 seconds and try again.", "30"},
		{throttled{1}, "Too many attempts. Please wait 1 second and try again.", "1"},
		{gatehouse.Errorf(gatehouse.ETOOMANYREQUESTS, "slow down"), "Too many attempts. Please wait 1 second and try again.", "1"},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/login", nil)
		if status := s.failureStatus(w, r, tc.err); status != http.StatusTooManyRequests {
			t.Errorf("%v: status %d, want 429", tc.err, status)
		}
		if got := w.Header().Get("Retry-After"); got != tc.ra {
			t.Errorf("%v: Retry-After %q, want %q", tc.err, got, tc.ra)
		}
		if got := formMessage(tc.err, "login"); got != tc.want {
			t.Errorf("%v: message %q, want %q", tc.err, got, tc.want)
		}
	}
}
