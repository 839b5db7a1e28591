package gatehouse_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestRefreshTokenRoundTrip(t *testing.T) {
	sid := gatehouse.NewID(time.Now())
	tok, ok := gatehouse.NewRefreshToken(sid, 41)
	if !ok {
		t.Fatal("NewRefreshToken refused a NewID")
	}
	key := gatehouse.NewRefreshKey()
	raw := tok.Sign(key)
	if len(raw) != gatehouse.RefreshTokenLen || !strings.HasPrefix(raw, gatehouse.RefreshPrefix) {
		t.Fatalf("token %q: %d characters, want %d with prefix %s", raw, len(raw), gatehouse.RefreshTokenLen, gatehouse.RefreshPrefix)
	}
	got, ok := gatehouse.ParseRefreshToken(raw)
	if !ok || got.SessionID != sid || got.Gen != 41 || !bytes.Equal(got.Hash(), tok.Hash()) {
		t.Fatalf("ParseRefreshToken = %+v, %v; want session %s generation 41 and the same hash", got, ok, sid)
	}
	if !got.Genuine(key) {
		t.Fatal("Genuine(the signing key) = false")
	}
	if got.Genuine(gatehouse.NewRefreshKey()) || got.Genuine(nil) {
		t.Fatal("Genuine(another key) = true")
	}
	other, _ := gatehouse.NewRefreshToken(sid, 41)
	if bytes.Equal(other.Hash(), tok.Hash()) {
		t.Fatal("two tokens of one session and generation hash alike: no randomness")
	}
}

// TestRefreshTokenTampered: changing any byte of a token either breaks its
// form or its tag (or, in the secret, its hash: it is then another token).
func TestRefreshTokenTampered(t *testing.T) {
	tok, _ := gatehouse.NewRefreshToken(gatehouse.NewID(time.Now()), 3)
	key := gatehouse.NewRefreshKey()
	raw := tok.Sign(key)
	for i := len(gatehouse.RefreshPrefix); i < len(raw); i++ {
		b := []byte(raw)
		b[i] = map[bool]byte{true: 'B', false: 'A'}[b[i] == 'A']
		got, ok := gatehouse.ParseRefreshToken(string(b))
		if ok && got.Genuine(key) {
			t.Fatalf("token with character %d changed is still genuine", i)
		}
	}
	if _, ok := gatehouse.NewRefreshToken("not-a-uuid", 0); ok {
		t.Fatal("NewRefreshToken accepted a session id that is not a UUID")
	}
	if _, ok := gatehouse.NewRefreshToken(strings.ToUpper(gatehouse.NewID(time.Now())), 0); ok {
		t.Fatal("NewRefreshToken accepted an upper-case UUID, which would not come back the same")
	}
}
