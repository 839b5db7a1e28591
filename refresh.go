package gatehouse

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
)

// RefreshPrefix starts every refresh token, so that secret scanners can
// recognise a leaked one and a refresh token is never mistaken for a JWT.
const RefreshPrefix = "ghr_"

// The parts of a refresh token, in order: the session id as the 16 bytes of
// its UUID, the generation (uint64, big-endian), 256 random bits, and the
// first 16 bytes of HMAC-SHA256 over the three under the session's refresh
// key. 72 bytes, 96 characters of base64url without padding.
const (
	refreshSIDLen    = 16
	refreshGenLen    = 8
	refreshSecretLen = 32
	refreshTagLen    = 16
	refreshMsgLen    = refreshSIDLen + refreshGenLen + refreshSecretLen
	refreshRawLen    = refreshMsgLen + refreshTagLen
	// RefreshTokenLen is the length of every refresh token, prefix included.
	RefreshTokenLen = len(RefreshPrefix) + refreshRawLen/3*4
	// RefreshKeyLen is the length of a session's refresh key.
	RefreshKeyLen = 32
)

var refreshEncoding = base64.RawURLEncoding.Strict()

// RefreshToken is a refresh token taken apart. It stays opaque to clients
// (API.md): only gatehouse reads what is inside.
//
// The store keeps, on the session row, the SHA-256 of the current token's
// message (Hash: session id, generation and secret — not the tag), its
// generation and the session's refresh key. A rotation is then one
// conditional UPDATE of that row by primary key, and the next token's hash
// is known before that UPDATE returns the key that signs it. The tag does
// not guard the current token — its 256 random bits do — but lets the store
// tell a genuine token of an older generation (a replay: the session is
// revoked) from one forged by someone who knows only the session id, which
// access tokens carry in their sid claim (ignored: no one can end a session
// without ever having held one of its refresh tokens).
type RefreshToken struct {
	SessionID string
	Gen       uint64
	secret    [refreshSecretLen]byte
	tag       [refreshTagLen]byte
}

// NewRefreshToken returns an unsigned token of generation gen for the
// session with the given id, with 256 fresh random bits. ok is false when
// sessionID is not a UUID (every gatehouse.NewID is).
func NewRefreshToken(sessionID string, gen uint64) (t *RefreshToken, ok bool) {
	if _, ok := parseUUID(sessionID); !ok {
		return nil, false
	}
	t = &RefreshToken{SessionID: sessionID, Gen: gen}
	if _, err := rand.Read(t.secret[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return t, true
}

// NewRefreshKey returns a session's refresh key: 32 random bytes.
func NewRefreshKey() []byte {
	k := make([]byte, RefreshKeyLen)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return k
}

// ParseRefreshToken takes raw apart. It checks the form only (prefix,
// length, base64url, a UUID session id), not the tag: ok is false for
// anything that cannot be a refresh token, so that it is refused without a
// query.
func ParseRefreshToken(raw string) (t *RefreshToken, ok bool) {
	if len(raw) != RefreshTokenLen || raw[:len(RefreshPrefix)] != RefreshPrefix {
		return nil, false
	}
	var b [refreshRawLen]byte
	if n, err := refreshEncoding.Decode(b[:], []byte(raw[len(RefreshPrefix):])); err != nil || n != refreshRawLen {
		return nil, false
	}
	t = &RefreshToken{SessionID: formatUUID([16]byte(b[:refreshSIDLen])), Gen: binary.BigEndian.Uint64(b[refreshSIDLen:])}
	copy(t.secret[:], b[refreshSIDLen+refreshGenLen:refreshMsgLen])
	copy(t.tag[:], b[refreshMsgLen:])
	return t, true
}

// message is what the tag authenticates and Hash hashes.
func (t *RefreshToken) message() []byte {
	sid, ok := parseUUID(t.SessionID)
	if !ok {
		panic("gatehouse: refresh token of a session id that is not a UUID")
	}
	m := make([]byte, 0, refreshMsgLen)
	m = append(m, sid[:]...)
	m = binary.BigEndian.AppendUint64(m, t.Gen)
	return append(m, t.secret[:]...)
}

// Hash is what the store keeps in place of the token: SHA-256 of its
// session id, generation and secret. SHA-256 suffices, the secret having
// full entropy: a slow hash would add cost and no security.
func (t *RefreshToken) Hash() []byte {
	h := sha256.Sum256(t.message())
	return h[:]
}

// Sign sets the tag with the session's refresh key and returns the token
// to hand out.
func (t *RefreshToken) Sign(key []byte) string {
	m := t.message()
	copy(t.tag[:], refreshMAC(key, m))
	return RefreshPrefix + refreshEncoding.EncodeToString(append(m, t.tag[:]...))
}

// Genuine reports, in constant time, whether the tag was made with key:
// whether gatehouse issued this token for the session whose key it is.
func (t *RefreshToken) Genuine(key []byte) bool {
	return len(key) == RefreshKeyLen && hmac.Equal(t.tag[:], refreshMAC(key, t.message()))
}

func refreshMAC(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)[:refreshTagLen]
}

// parseUUID returns the 16 bytes of a UUID in the canonical lower-case
// 8-4-4-4-12 form that NewID writes.
func parseUUID(s string) (b [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i != 8 && i != 13 && i != 18 && i != 23 && !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return b, false
		}
	}
	hex.Decode(b[0:4], []byte(s[0:8]))
	hex.Decode(b[4:6], []byte(s[9:13]))
	hex.Decode(b[6:8], []byte(s[14:18]))
	hex.Decode(b[8:10], []byte(s[19:23]))
	hex.Decode(b[10:], []byte(s[24:36]))
	return b, true
}

// formatUUID writes b in the canonical 8-4-4-4-12 form.
func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
