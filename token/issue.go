package token

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// Issue returns a new signed access token (compact JWT) for a user's session
// and its claims as issued. It fills Issuer, Audience, IssuedAt (now, in
// whole seconds), ExpiresAt (now+TTL) and ID, a jti of 128 bits from
// crypto/rand. It signs with the KeySet's current key, named by the kid
// header. subject and sessionID must not be empty: Verify would refuse the
// token. amr, when given, is the amr claim (RFC 8176): how the session's
// login authenticated, so that resource servers can require a second factor.
func (t *Tokens) Issue(subject, sessionID, username string, amr ...string) (string, *Claims, error) {
	if subject == "" || sessionID == "" {
		return "", nil, errors.New("token: Issue needs a subject and a session id")
	}
	now := t.now()
	k := t.ks.state.Load().signer(now)
	if k == nil {
		return "", nil, errors.New("token: no signing key is current")
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", nil, err
	}
	c := &Claims{
		Issuer:    t.issuer,
		Subject:   subject,
		Audience:  t.audience,
		IssuedAt:  time.Unix(now.Unix(), 0).UTC(),
		ExpiresAt: time.Unix(now.Add(t.ttl).Unix(), 0).UTC(),
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		SessionID: sessionID,
		Username:  username,
		AMR:       amr,
	}
	payload, err := json.Marshal(&issuedClaims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		ExpiresAt: c.ExpiresAt.Unix(),
		IssuedAt:  c.IssuedAt.Unix(),
		ID:        c.ID,
		SessionID: c.SessionID,
		Username:  c.Username,
		AMR:       c.AMR,
	})
	if err != nil {
		return "", nil, err
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(k.header)+2+enc.EncodedLen(len(payload))+enc.EncodedLen(64))
	buf = append(buf, k.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := k.method.Sign(string(buf), k.signKey)
	if err != nil {
		return "", nil, err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), c, nil
}
