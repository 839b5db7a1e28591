package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// Composer writes the messages the email flows send. Package mail
// implements it with embedded templates and the public base URL; the
// token goes into the link and nowhere else.
type Composer interface {
	VerifyEmail(to, username, token string) (*gatehouse.Mail, error)
	ResetPassword(to, username, token string) (*gatehouse.Mail, error)
}

// EmailConfig configures the email flows.
type EmailConfig struct {
	// Composer writes the messages; nil: mail is off, and the flows that
	// must send (adding an address, forgotten password) answer
	// EMAILUNAVAILABLE.
	Composer  Composer
	VerifyTTL time.Duration // lifetime of a verification link
	ResetTTL  time.Duration // lifetime of a reset link
	// LoginWithEmail lets a verified address stand for the username at
	// login.
	LoginWithEmail bool
	// Queued is called after a message was put in the outbox, to wake the
	// sender; nil: nobody is told (the sender polls).
	Queued func()
	// Reset throttles reset requests per account (by the name or address
	// typed, so unknown ones count alike, in the store) and per client
	// address (in memory). Zero: DefaultResetThrottling.
	ResetAccount, ResetAddress gatehouse.ThrottleRule
}

// Default lifetimes and limits of the email flows.
const (
	DefaultVerifyTTL = 24 * time.Hour
	DefaultResetTTL  = 30 * time.Minute
)

// DefaultResetAccount and DefaultResetAddress limit reset requests: a
// handful per account and hour is plenty for a person, and keeps
// gatehouse from being used to flood someone's mailbox.
var (
	DefaultResetAccount = gatehouse.ThrottleRule{Limit: 5, Window: time.Hour, MaxWindow: 24 * time.Hour}
	DefaultResetAddress = gatehouse.ThrottleRule{Limit: 20, Window: time.Hour, MaxWindow: time.Hour}
	// addressChanges limits verification mails per user: each goes to an
	// address the user typed, which could be anybody's.
	addressChanges = gatehouse.ThrottleRule{Limit: 5, Window: time.Hour, MaxWindow: 24 * time.Hour}
)

// Reasons of AuditPasswordResetRequested and AuditEmailChanged.
const (
	ReasonSent      = "sent"
	ReasonNoAccount = "no_account"
	ReasonNoEmail   = "no_email"
	ReasonThrottled = "throttled"
	ReasonAdded     = "added"
	ReasonChanged   = "changed"
	ReasonRemoved   = "removed"
)

// Email carries out the flows around email addresses: adding and
// verifying one, and resetting a forgotten password by a mailed link.
// Create it with NewEmail.
type Email struct {
	s        *Service
	cfg      EmailConfig
	addrs    *memThrottle // reset requests per client address
	changes  *memThrottle // verification mails per user
	requests chan forgotRequest
	pending  atomic.Int64 // requests queued or being handled
	done     chan struct{}
	mu       sync.RWMutex // held for reading while sending on requests
	closed   bool
}

// forgotQueue bounds the reset requests waiting for the worker.
const forgotQueue = 1024

type forgotRequest struct {
	username, email string
	client          Client
}

// NewEmail returns the email flows of s and starts the worker that
// handles reset requests (see ForgotPassword); Close stops it.
func NewEmail(s *Service, cfg EmailConfig) *Email {
	if cfg.VerifyTTL <= 0 {
		cfg.VerifyTTL = DefaultVerifyTTL
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = DefaultResetTTL
	}
	if cfg.ResetAccount == (gatehouse.ThrottleRule{}) {
		cfg.ResetAccount = DefaultResetAccount
	}
	if cfg.ResetAddress == (gatehouse.ThrottleRule{}) {
		cfg.ResetAddress = DefaultResetAddress
	}
	s.emailLogin = cfg.LoginWithEmail
	e := &Email{s: s, cfg: cfg, addrs: newMemThrottle(maxAddresses), changes: newMemThrottle(maxAddresses),
		requests: make(chan forgotRequest, forgotQueue), done: make(chan struct{})}
	go e.run()
	return e
}

// Enabled reports whether mail can be sent.
func (e *Email) Enabled() bool { return e.cfg.Composer != nil }

// LoginWithEmail reports whether a verified address may stand for the
// username at login.
func (e *Email) LoginWithEmail() bool { return e.cfg.LoginWithEmail }

var (
	errMailOff  = gatehouse.Errorf(gatehouse.EMAILUNAVAILABLE, "email is not configured on this server")
	errLink     = gatehouse.Errorf(gatehouse.EINVALIDLINK, "the link is invalid, expired or already used")
	errBadEmail = gatehouse.Errorf(gatehouse.EINVALIDEMAIL, "email must be a plain address like name@example.com")
)

// MaxEmail is the longest address accepted (RFC 5321's path limit).
const MaxEmail = 254

// NormalizeEmail checks an address and returns it trimmed: a bare
// addr-spec of printable ASCII, with a dot in the domain, at most
// MaxEmail bytes. Internationalised addresses are refused: not every
// mail server takes SMTPUTF8, and ASCII folds case unambiguously.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > MaxEmail {
		return "", errBadEmail
	}
	for i := 0; i < len(email); i++ {
		if c := email[i]; c <= ' ' || c >= 0x7f {
			return "", errBadEmail
		}
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", errBadEmail
	}
	_, domain, _ := strings.Cut(email, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", errBadEmail
	}
	return email, nil
}

// newLinkToken returns a link token of 256 random bits and its hash.
func newLinkToken() (token string, hash []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashLink(token)
}

func hashLink(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// linkHash returns the hash of a token as typed, or nil when it cannot be
// one: the link was cut or mangled.
func linkHash(token string) []byte {
	if len(token) != 43 {
		return nil
	}
	if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
		return nil
	}
	return hashLink(token)
}

type noticeKey struct{}

// WithNoticeAddress returns ctx carrying the address a security notice
// about the event recorded with it should go to, when the user's current
// address is not it (the address an email change replaces or removes).
func WithNoticeAddress(ctx context.Context, email string) context.Context {
	return context.WithValue(ctx, noticeKey{}, email)
}

// NoticeAddress returns the address WithNoticeAddress put in ctx, or "".
func NoticeAddress(ctx context.Context) string {
	s, _ := ctx.Value(noticeKey{}).(string)
	return s
}

// Account returns the principal's account from the store, with its
// addresses but without its password hash. (User answers from a cache
// that holds no addresses.)
func (e *Email) Account(ctx context.Context, p *Principal) (*gatehouse.User, error) {
	u, err := e.s.userWithHash(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = ""
	return u, nil
}

// SetEmail asks for email to become the principal's address: a link to
// verify it is mailed to it, and the current address, if any, stays until
// the link is followed; the current address is told of the change. It
// needs a fresh TOTP code or the password (exactly one, as proveUser):
// the address can reset the password, so a stolen access token alone
// must not be able to change it.
func (e *Email) SetEmail(ctx context.Context, p *Principal, email, code, password string) error {
	if !e.Enabled() {
		return errMailOff
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := e.s.proveUser(ctx, p, code, password); err != nil {
		return err
	}
	u, err := e.Account(ctx, p)
	if err != nil {
		return err
	}
	if strings.EqualFold(u.Email, email) && u.PendingEmail == "" {
		return nil // already verified: nothing to do
	}
	now := e.s.now()
	if th, ok := e.changes.take(u.ID, now, addressChanges); !ok {
		retry, _ := th.Blocked(now, addressChanges)
		return &throttledError{after: retry}
	}
	token, hash := newLinkToken()
	m, err := e.cfg.Composer.VerifyEmail(email, u.Username, token)
	if err != nil {
		return err
	}
	now = now.UTC()
	tok := &gatehouse.EmailToken{Hash: hash, Purpose: gatehouse.TokenVerifyEmail, UserID: u.ID, Email: email,
		CreatedAt: now, ExpiresAt: now.Add(e.cfg.VerifyTTL)}
	if err := e.s.store.RequestEmail(ctx, u.ID, email, tok, []*gatehouse.Mail{m}); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return errToken
		}
		return err
	}
	e.queued()
	reason := ReasonAdded
	if u.Email != "" {
		reason = ReasonChanged
		ctx = WithNoticeAddress(ctx, u.Email)
	}
	e.s.principalEvent(ctx, p, gatehouse.AuditEmailChanged, p.SessionID, reason)
	return nil
}

// RemoveEmail removes the principal's addresses, verified and pending,
// after a fresh TOTP code or the password (exactly one); the removed
// verified address is told.
func (e *Email) RemoveEmail(ctx context.Context, p *Principal, code, password string) error {
	if err := e.s.proveUser(ctx, p, code, password); err != nil {
		return err
	}
	u, err := e.Account(ctx, p)
	if err != nil {
		return err
	}
	if err := e.s.store.RemoveEmail(ctx, u.ID, e.s.now().UTC()); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return errToken
		}
		return err
	}
	if u.Email != "" || u.PendingEmail != "" {
		if u.Email != "" {
			ctx = WithNoticeAddress(ctx, u.Email)
		}
		e.s.principalEvent(ctx, p, gatehouse.AuditEmailChanged, p.SessionID, ReasonRemoved)
	}
	return nil
}

// VerifyEmail follows a verification link: its address becomes the
// user's. The link works once, before it expires, and only while the user
// still asks for that address.
func (e *Email) VerifyEmail(ctx context.Context, token string) (*gatehouse.User, error) {
	hash := linkHash(token)
	if hash == nil {
		return nil, errLink
	}
	u, err := e.s.store.VerifyEmail(ctx, hash, e.s.now().UTC())
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errLink
	} else if err != nil {
		return nil, err
	}
	e.s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditEmailVerified, UserID: u.ID, Username: u.Username})
	u.PasswordHash = ""
	return u, nil
}

// resetThrottleKey is the store key of the reset throttle of what was
// typed (a username or an address), hashed and without regard to case,
// so that it reads the same whether or not an account exists.
func resetThrottleKey(name string) string {
	sum := sha256.Sum256([]byte("gatehouse/throttle/reset/v1\x00" + strings.ToLower(name)))
	return "reset:" + hex.EncodeToString(sum[:])
}

// ForgotPassword asks for a reset link for the account named by username
// or by its verified email (one of them is ""). Its answer is the same
// whatever the account: it checks only the input's form and the client
// address's throttle, and leaves the rest (finding the account, its
// throttle, the token and the mail) to a worker, so that neither the
// answer nor its timing tells whether the account exists or has an
// address. ETOOMANYREQUESTS when the client address has asked too often;
// EUNAVAILABLE when the worker's queue is full.
func (e *Email) ForgotPassword(ctx context.Context, username, email string, c Client) error {
	if !e.Enabled() {
		return errMailOff
	}
	switch {
	case username != "" && email != "", username == "" && email == "":
		return gatehouse.Errorf(gatehouse.EMALFORMED, "give either username or email")
	case username != "":
		if err := ValidateUsername(username); err != nil {
			return err
		}
	default:
		var err error
		if email, err = NormalizeEmail(email); err != nil {
			return err
		}
	}
	now := e.s.now()
	if key := addressKey(c.IP); key != "" {
		if th, ok := e.addrs.take(key, now, e.cfg.ResetAddress); !ok {
			retry, _ := th.Blocked(now, e.cfg.ResetAddress)
			e.s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditThrottled, Reason: "password_reset", IP: c.IP, UserAgent: truncate(c.UserAgent, 512)})
			return &throttledError{after: retry}
		}
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "shutting down")
	}
	e.pending.Add(1)
	select {
	case e.requests <- forgotRequest{username: username, email: email, client: c}:
		return nil
	default:
		e.pending.Add(-1)
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE, "too many reset requests at once, try again")
	}
}

// forgotTimeout bounds the store work of one reset request.
const forgotTimeout = 10 * time.Second

func (e *Email) run() {
	defer close(e.done)
	for r := range e.requests {
		ctx, cancel := context.WithTimeout(context.Background(), forgotTimeout)
		reason, u, err := e.forgot(ctx, r)
		cancel()
		ev := gatehouse.AuditEvent{Type: gatehouse.AuditPasswordResetRequested, Reason: reason,
			IP: r.client.IP, UserAgent: truncate(r.client.UserAgent, 512)}
		if u != nil {
			ev.UserID, ev.Username = u.ID, u.Username
		} else if r.username != "" {
			ev.Username = r.username
		}
		if err != nil {
			e.s.log.Error("password reset request failed", "reason", reason, "err", err)
		} else {
			e.s.Record(context.Background(), ev)
		}
		e.pending.Add(-1)
	}
}

// forgot does the work of one reset request and says what it did.
func (e *Email) forgot(ctx context.Context, r forgotRequest) (string, *gatehouse.User, error) {
	name := r.username
	if name == "" {
		name = r.email
	}
	if _, ok, err := e.s.store.TakeThrottle(ctx, resetThrottleKey(name), e.s.now(), e.cfg.ResetAccount); err != nil {
		return "", nil, err
	} else if !ok {
		return ReasonThrottled, nil, nil
	}
	var u *gatehouse.User
	var err error
	if r.username != "" {
		u, err = e.s.store.UserByUsername(ctx, r.username)
	} else {
		u, err = e.s.store.UserByEmail(ctx, r.email)
	}
	switch {
	case gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND:
		return ReasonNoAccount, nil, nil
	case err != nil:
		return "", nil, err
	case u.Email == "":
		return ReasonNoEmail, u, nil
	}
	token, hash := newLinkToken()
	m, err := e.cfg.Composer.ResetPassword(u.Email, u.Username, token)
	if err != nil {
		return "", u, err
	}
	now := e.s.now().UTC()
	tok := &gatehouse.EmailToken{Hash: hash, Purpose: gatehouse.TokenResetPassword, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(e.cfg.ResetTTL)}
	if err := e.s.store.QueueMail(ctx, tok, m); err != nil {
		return "", u, err
	}
	e.queued()
	return ReasonSent, u, nil
}

// Flush waits until the reset requests queued so far are handled, for
// tests. It gives up when ctx ends.
func (e *Email) Flush(ctx context.Context) error {
	for e.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Close handles the reset requests still queued and stops the worker.
func (e *Email) Close(ctx context.Context) error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.requests)
	}
	e.mu.Unlock()
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Email) queued() {
	if e.cfg.Queued != nil {
		e.cfg.Queued()
	}
}

// ResetPassword follows a reset link: the password becomes newPassword
// (under the usual policy) and every session of the user is revoked, at
// once on this instance and through the revocation feed on the others.
// The link works once and only before it expires.
func (e *Email) ResetPassword(ctx context.Context, token, newPassword string) error {
	hash := linkHash(token)
	if hash == nil {
		return errLink
	}
	now := e.s.now().UTC()
	tok, err := e.s.store.EmailToken(ctx, hash, gatehouse.TokenResetPassword, now)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return errLink
	} else if err != nil {
		return err
	}
	u, err := e.s.store.UserByID(ctx, tok.UserID)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return errLink
	} else if err != nil {
		return err
	}
	newPassword = NormalizePassword(newPassword)
	if err := ValidatePassword(newPassword, u.Username); err != nil {
		return err
	}
	h, err := e.s.hash(ctx, newPassword)
	if err != nil {
		return err
	}
	now = e.s.now().UTC()
	u, revs, err := e.s.store.ResetPassword(ctx, hash, h, now, e.s.revocationUntil(now))
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return errLink // used by a concurrent request, or expired meanwhile
	} else if err != nil {
		return err
	}
	e.s.revoked.Add(now, revs...)
	// The login throttle was for guesses at the old password, unless the
	// user has a second factor: then it holds the guesses at that too,
	// which a link to the mailbox does not answer, so it stays (and
	// expires by itself). Unsure (the lookup failed): it stays.
	if methods, err := e.s.secondFactorMethods(ctx, u.ID); err == nil && len(methods) == 0 {
		e.s.resetUser(ctx, userThrottleKey(u.Username))
	}
	e.s.Record(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditPasswordReset, UserID: u.ID, Username: u.Username})
	return nil
}

// loginName reports whether name can name an account at login: a valid
// username or, with LoginWithEmail, an address.
func (s *Service) loginName(name string) bool {
	if ValidateUsername(name) == nil {
		return true
	}
	_, err := NormalizeEmail(name)
	return s.emailLogin && err == nil && name == strings.TrimSpace(name)
}

// plausibleLogin is plausibleCredentials with an address allowed for the
// username when LoginWithEmail is on.
func (s *Service) plausibleLogin(name, password string) bool {
	if s.emailLogin && strings.Contains(name, "@") {
		n := utf8.RuneCountInString(password)
		return s.loginName(name) && n >= 1 && n <= MaxPassword
	}
	return plausibleCredentials(name, password)
}

// takeUsername counts a login by address on the username's throttle too,
// so that an account has one budget of guesses whichever name is typed;
// the throttle of the name as typed is throttledLogin's. blocked: the
// username is locked, which the caller answers like a wrong password,
// after the same hash, so that the address does not tell it. key is the
// username's throttle key for a login by address, else "".
func (s *Service) takeUsername(ctx context.Context, name string, u *gatehouse.User) (key string, blocked bool, err error) {
	if !s.emailLogin || !strings.Contains(name, "@") {
		return "", false, nil
	}
	key = userThrottleKey(u.Username)
	err = s.takeUser(ctx, key, s.now())
	if gatehouse.ErrorCode(err) == gatehouse.ETOOMANYREQUESTS {
		return key, true, nil
	}
	return key, false, err
}

// userForLogin looks up the account a login names: by verified address
// when LoginWithEmail is on and name is one, else by username.
func (s *Service) userForLogin(ctx context.Context, name string) (*gatehouse.User, error) {
	if s.emailLogin && strings.Contains(name, "@") {
		return s.store.UserByEmail(ctx, name)
	}
	return s.store.UserByUsername(ctx, name)
}
