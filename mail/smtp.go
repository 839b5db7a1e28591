package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse/gatehouse"
)

// Sender hands one message to a mail server. An error that IsPermanent
// reports is not retried.
type Sender interface {
	Send(ctx context.Context, m *gatehouse.Mail) error
}

// TLS modes of an SMTP server.
const (
	TLSStartTLS = "starttls" // smtp://: plain connection upgraded by STARTTLS, which is required
	TLSImplicit = "tls"      // smtps://: TLS from the first byte
	TLSNone     = "none"     // smtp://…?tls=none: no TLS at all, loopback only
)

// SMTPConfig is where and how to send.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // "" for no authentication
	Password string
	TLS      string // TLSStartTLS, TLSImplicit or TLSNone
	From     string // the From address
	// TLSConfig overrides the certificate checks (tests use it for their
	// own CA); nil: the system's CAs and the host name.
	TLSConfig *tls.Config
	Timeout   time.Duration // per connection and command; 0: 30s
}

// ParseSMTPURL reads SMTP_URL: smtp://[user:pass@]host[:587] (STARTTLS,
// required), smtps://[user:pass@]host[:465] (implicit TLS), or
// smtp://host:port?tls=none (no TLS: only to a loopback address, a local
// relay, since credentials and reset links would cross the network in
// the clear). The message never shows the password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New("is not a URL like smtp://user:password@host:587")
	}
	c := SMTPConfig{Host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		c.TLS, c.Port = TLSStartTLS, 587
	case "smtps":
		c.TLS, c.Port = TLSImplicit, 465
	default:
		return SMTPConfig{}, fmt.Errorf("scheme must be smtp or smtps, got %q", u.Scheme)
	}
	if c.Host == "" {
		return SMTPConfig{}, errors.New("names no host")
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port < 1 || c.Port > 65535 {
			return SMTPConfig{}, fmt.Errorf("port must be 1 to 65535, got %q", p)
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return SMTPConfig{}, fmt.Errorf("unknown parameter %q (only tls=none)", k)
		}
	}
	switch v := q.Get("tls"); v {
	case "":
	case TLSNone:
		if u.Scheme != "smtp" {
			return SMTPConfig{}, errors.New("tls=none goes with smtp://, not smtps://")
		}
		if !loopback(c.Host) {
			return SMTPConfig{}, fmt.Errorf("tls=none is allowed only to a loopback host, not %q", c.Host)
		}
		c.TLS = TLSNone
	default:
		return SMTPConfig{}, fmt.Errorf("tls must be none when given, got %q", v)
	}
	return c, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SMTP sends over SMTP with go-mail: one connection per message, which
// is plenty for the few messages an auth server sends.
type SMTP struct {
	cfg SMTPConfig
}

// NewSMTP returns a Sender for cfg.
func NewSMTP(cfg SMTPConfig) *SMTP {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg}
}

// Send delivers m: a multipart/alternative message with its plain text
// and HTML.
func (s *SMTP) Send(ctx context.Context, m *gatehouse.Mail) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return permanent(fmt.Errorf("from address: %w", err))
	}
	if err := msg.To(m.To); err != nil {
		return permanent(fmt.Errorf("to address: %w", err))
	}
	msg.Subject(m.Subject)
	msg.SetMessageID()
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout)}
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	tc := s.cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, gomail.WithTLSConfig(tc))
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return permanent(err)
	}
	err = c.DialAndSendWithContext(ctx, msg)
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		return permanent(err)
	}
	return err
}

// permanentError is a failure that sending again would not cure: a bad
// address, a 5xx answer.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err says that sending again is useless.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// LogSender is the development mode (MAIL_DEV_LOG): it writes each message,
// links included, to the log instead of sending it. Never for production:
// the log then holds working reset links.
type LogSender struct{ Log *slog.Logger }

// Send logs m.
func (l LogSender) Send(ctx context.Context, m *gatehouse.Mail) error {
	l.Log.InfoContext(ctx, "mail (development mode, not sent)", "to", m.To, "subject", m.Subject, "body", m.Text)
	return nil
}
