package sqldb_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/storetest"
	"github.com/gatehouse/gatehouse/sqldb"
)

// TestEmailStore is the conformance suite of gatehouse.EmailStore, on
// every dialect.
func TestEmailStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, db *sqldb.DB)
	}{
		{"VerifyEmail", testVerifyEmail},
		{"EmailUniqueIgnoringCase", testEmailUnique},
		{"RemoveEmail", testRemoveEmail},
		{"ResetPassword", testResetPassword},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"DeleteExpiredEmail", testDeleteExpiredEmail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, url string) { tc.run(t, openStore(t, url)) })
		})
	}
}

func emailToken(purpose, userID, email string, at time.Time, ttl time.Duration) *gatehouse.EmailToken {
	return &gatehouse.EmailToken{Hash: newHash(), Purpose: purpose, UserID: userID, Email: email, CreatedAt: at, ExpiresAt: at.Add(ttl)}
}

func requestEmail(t *testing.T, db *sqldb.DB, u *gatehouse.User, email string, at time.Time) *gatehouse.EmailToken {
	t.Helper()
	tok := emailToken(gatehouse.TokenVerifyEmail, u.ID, email, at, time.Hour)
	if err := db.RequestEmail(t.Context(), u.ID, email, tok, []*gatehouse.Mail{{To: email, Subject: "verify", Text: "link"}}); err != nil {
		t.Fatalf("RequestEmail(%q): %v", email, err)
	}
	return tok
}

func userEmail(t *testing.T, db *sqldb.DB, id string) (email, pending string) {
	t.Helper()
	u, err := db.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	return u.Email, u.PendingEmail
}

// testVerifyEmail: a token verifies its address once; the old address stays
// until then; an expired token, a reused one and one for an address the
// user has since replaced do nothing.
func testVerifyEmail(t *testing.T, db *sqldb.DB) {
	t0 := now()
	u := createUser(t, db, "alice")
	if e, p := userEmail(t, db, u.ID); e != "" || p != "" {
		t.Fatalf("new user: email %q, pending %q; want none", e, p)
	}
	tok := requestEmail(t, db, u, "Alice@Example.com", t0)
	if e, p := userEmail(t, db, u.ID); e != "" || p != "Alice@Example.com" {
		t.Fatalf("after request: email %q, pending %q", e, p)
	}
	if _, err := db.UserByEmail(t.Context(), "alice@example.com"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatalf("UserByEmail of a pending address: %v, want not_found", err)
	}
	if _, err := db.VerifyEmail(t.Context(), tok.Hash, t0.Add(2*time.Hour)); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Fatalf("VerifyEmail after expiry: %v, want not_found", err)
	}
	got, err := db.VerifyEmail(t.Context(), tok.Hash, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("VerifyEmail: %v", err)
	}
	if got.ID != u.ID || got.Email != "Alice@Example.com" || got.PendingEmail != "" {
		t.Fatalf("VerifyEmail = %+v", got)
	}
	_, err = db.VerifyEmail(t.Context(), tok.Hash, t0.Add(time.Minute))
	wantCode(t, err, gatehouse.ENOTFOUND)
	byMail, err := db.UserByEmail(t.Context(), "ALICE@example.COM")
	if err != nil || byMail.ID != u.ID {
		t.Fatalf("UserByEmail ignoring case = %+v, %v", byMail, err)
	}

	// A change keeps the old address until the new one is verified, and a
	// second request replaces the first one's link.
	first := requestEmail(t, db, u, "new1@example.com", t0)
	second := requestEmail(t, db, u, "new2@example.com", t0)
	if e, p := userEmail(t, db, u.ID); e != "Alice@Example.com" || p != "new2@example.com" {
		t.Fatalf("after change request: email %q, pending %q", e, p)
	}
	_, err = db.VerifyEmail(t.Context(), first.Hash, t0.Add(time.Minute))
	wantCode(t, err, gatehouse.ENOTFOUND)
	if _, err := db.VerifyEmail(t.Context(), second.Hash, t0.Add(time.Minute)); err != nil {
		t.Fatalf("VerifyEmail of the second request: %v", err)
	}
	if e, p := userEmail(t, db, u.ID); e != "new2@example.com" || p != "" {
		t.Fatalf("after change: email %q, pending %q", e, p)
	}
	_, err = db.VerifyEmail(t.Context(), []byte("short"), t0)
	wantCode(t, err, gatehouse.ENOTFOUND)
	err = db.RequestEmail(t.Context(), "no-such-user", "x@example.com",
		emailToken(gatehouse.TokenVerifyEmail, "no-such-user", "x@example.com", t0, time.Hour), nil)
	wantCode(t, err, gatehouse.ENOTFOUND)
}

// testEmailUnique: two accounts may wait for one address, but only one can
// verify it, without regard to case; the other's link stays unused.
func testEmailUnique(t *testing.T, db *sqldb.DB) {
	t0 := now()
	a, b := createUser(t, db, "alice"), createUser(t, db, "bob")
	ta := requestEmail(t, db, a, "Shared@example.com", t0)
	tb := requestEmail(t, db, b, "shared@EXAMPLE.com", t0)
	if _, err := db.VerifyEmail(t.Context(), ta.Hash, t0); err != nil {
		t.Fatalf("VerifyEmail a: %v", err)
	}
	_, err := db.VerifyEmail(t.Context(), tb.Hash, t0)
	wantCode(t, err, gatehouse.EEMAILTAKEN)
	if _, err := db.EmailToken(t.Context(), tb.Hash, gatehouse.TokenVerifyEmail, t0); err != nil {
		t.Fatalf("the refused token was used up: %v", err)
	}
	if err := db.RemoveEmail(t.Context(), a.ID, t0); err != nil {
		t.Fatalf("RemoveEmail: %v", err)
	}
	if _, err := db.VerifyEmail(t.Context(), tb.Hash, t0); err != nil {
		t.Fatalf("VerifyEmail b once a removed it: %v", err)
	}
}

func testRemoveEmail(t *testing.T, db *sqldb.DB) {
	t0 := now()
	u := createUser(t, db, "alice")
	tok := requestEmail(t, db, u, "a@example.com", t0)
	if _, err := db.VerifyEmail(t.Context(), tok.Hash, t0); err != nil {
		t.Fatal(err)
	}
	pending := requestEmail(t, db, u, "b@example.com", t0)
	reset := emailToken(gatehouse.TokenResetPassword, u.ID, "a@example.com", t0, time.Hour)
	if err := db.QueueMail(t.Context(), reset); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveEmail(t.Context(), u.ID, t0); err != nil {
		t.Fatalf("RemoveEmail: %v", err)
	}
	if e, p := userEmail(t, db, u.ID); e != "" || p != "" {
		t.Fatalf("after RemoveEmail: email %q, pending %q", e, p)
	}
	for _, tok := range []*gatehouse.EmailToken{pending, reset} {
		_, err := db.EmailToken(t.Context(), tok.Hash, tok.Purpose, t0)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}
	wantCode(t, db.RemoveEmail(t.Context(), "nobody", t0), gatehouse.ENOTFOUND)
}

// testResetPassword: a reset token sets the hash and revokes every session,
// once; every other reset token of the user goes with it; a token sent to
// an address the user no longer has does nothing.
func testResetPassword(t *testing.T, db *sqldb.DB) {
	t0 := now()
	u := createUser(t, db, "alice")
	other := createUser(t, db, "bob")
	v := requestEmail(t, db, u, "a@example.com", t0)
	if _, err := db.VerifyEmail(t.Context(), v.Hash, t0); err != nil {
		t.Fatal(err)
	}
	s1, _ := createSession(t, db, u.ID, t0, t0.Add(time.Hour))
	s2, _ := createSession(t, db, u.ID, t0, t0.Add(time.Hour))
	bobs, _ := createSession(t, db, other.ID, t0, t0.Add(time.Hour))
	t1 := emailToken(gatehouse.TokenResetPassword, u.ID, "a@example.com", t0, 30*time.Minute)
	t2 := emailToken(gatehouse.TokenResetPassword, u.ID, "a@example.com", t0, 30*time.Minute)
	if err := db.QueueMail(t.Context(), t1, &gatehouse.Mail{To: "a@example.com", Subject: "reset", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := db.QueueMail(t.Context(), t2); err != nil {
		t.Fatal(err)
	}
	if got, err := db.EmailToken(t.Context(), t1.Hash, gatehouse.TokenVerifyEmail, t0); err == nil {
		t.Fatalf("a reset token found as a verify token: %+v", got)
	}
	_, _, err := db.ResetPassword(t.Context(), t1.Hash, "$new", t0.Add(31*time.Minute), t0.Add(time.Hour))
	wantCode(t, err, gatehouse.ENOTFOUND)
	got, revs, err := db.ResetPassword(t.Context(), t1.Hash, "$new", t0.Add(time.Minute), t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if got.ID != u.ID || got.PasswordHash != "$new" || len(revs) != 2 {
		t.Fatalf("ResetPassword = %+v, %d revocations; want alice, $new, 2", got, len(revs))
	}
	for _, s := range []*gatehouse.Session{s1, s2} {
		if r, _ := db.IsRevoked(t.Context(), s.ID); !r {
			t.Fatalf("session %s not revoked", s.ID)
		}
	}
	if r, _ := db.IsRevoked(t.Context(), bobs.ID); r {
		t.Fatal("another user's session was revoked")
	}
	stored, _ := db.UserByID(t.Context(), u.ID)
	if stored.PasswordHash != "$new" {
		t.Fatalf("stored hash = %q", stored.PasswordHash)
	}
	for _, tok := range []*gatehouse.EmailToken{t1, t2} {
		_, _, err = db.ResetPassword(t.Context(), tok.Hash, "$again", t0.Add(time.Minute), t0.Add(time.Hour))
		wantCode(t, err, gatehouse.ENOTFOUND)
	}

	// Bound to the address: after a change, a link sent to the old one fails.
	t3 := emailToken(gatehouse.TokenResetPassword, u.ID, "a@example.com", t0, 30*time.Minute)
	if err := db.QueueMail(t.Context(), t3); err != nil {
		t.Fatal(err)
	}
	v2 := requestEmail(t, db, u, "b@example.com", t0)
	if _, err := db.VerifyEmail(t.Context(), v2.Hash, t0); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.ResetPassword(t.Context(), t3.Hash, "$again", t0.Add(time.Minute), t0.Add(time.Hour))
	wantCode(t, err, gatehouse.ENOTFOUND)
}

// testOutbox: a queued mail is claimed once until its lease ends, retried
// after a failure at the time given, and its body is blanked once sent.
func testOutbox(t *testing.T, db *sqldb.DB) {
	t0 := now()
	m := &gatehouse.Mail{To: "a@example.com", Subject: "Hello", Text: "text with a link", HTML: "<p>html</p>", CreatedAt: t0}
	if err := db.QueueMail(t.Context(), nil, m); err != nil {
		t.Fatalf("QueueMail: %v", err)
	}
	if m.ID == 0 {
		t.Fatal("QueueMail set no ID")
	}
	got, err := db.ClaimMail(t.Context(), t0, time.Minute, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("ClaimMail = %v, %v; want one mail", got, err)
	}
	if g := got[0]; g.ID != m.ID || g.To != m.To || g.Subject != m.Subject || g.Text != m.Text || g.HTML != m.HTML || g.Attempts != 0 {
		t.Fatalf("claimed %+v, want %+v", g, m)
	}
	if again, _ := db.ClaimMail(t.Context(), t0.Add(time.Second), time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed again within the lease: %+v", again)
	}
	if again, _ := db.ClaimMail(t.Context(), t0.Add(2*time.Minute), time.Minute, 10); len(again) != 1 {
		t.Fatalf("not claimable after the lease: %+v", again)
	}
	next := t0.Add(5 * time.Minute)
	if err := db.MailFailed(t.Context(), m.ID, t0.Add(2*time.Minute), "421 try later", next, false); err != nil {
		t.Fatalf("MailFailed: %v", err)
	}
	if early, _ := db.ClaimMail(t.Context(), next.Add(-time.Second), time.Minute, 10); len(early) != 0 {
		t.Fatalf("claimed before its next attempt: %+v", early)
	}
	got, _ = db.ClaimMail(t.Context(), next, time.Minute, 10)
	if len(got) != 1 || got[0].Attempts != 1 || got[0].LastError != "421 try later" || got[0].Text != m.Text {
		t.Fatalf("claim after a failure = %+v", got)
	}
	if err := db.MailSent(t.Context(), m.ID, next); err != nil {
		t.Fatalf("MailSent: %v", err)
	}
	if later, _ := db.ClaimMail(t.Context(), next.Add(time.Hour), time.Minute, 10); len(later) != 0 {
		t.Fatalf("a sent mail was claimed: %+v", later)
	}
	var text, html string
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT body_text, body_html FROM mail_outbox`).Scan(&text, &html); err != nil {
		t.Fatal(err)
	}
	if text != "" || html != "" {
		t.Fatalf("a sent mail keeps its body: %q, %q", text, html)
	}

	// Given up: never claimed again, body blanked too.
	m2 := &gatehouse.Mail{To: "b@example.com", Subject: "x", Text: "secret link", CreatedAt: t0}
	if err := db.QueueMail(t.Context(), nil, m2); err != nil {
		t.Fatal(err)
	}
	if err := db.MailFailed(t.Context(), m2.ID, t0, "550 no such user", t0, true); err != nil {
		t.Fatal(err)
	}
	if later, _ := db.ClaimMail(t.Context(), t0.Add(time.Hour), time.Minute, 10); len(later) != 0 {
		t.Fatalf("a given-up mail was claimed: %+v", later)
	}
}

// testOutboxConcurrentClaims: claimers racing over the same mails get each
// mail exactly once between them.
func testOutboxConcurrentClaims(t *testing.T, db *sqldb.DB) {
	t0 := now()
	const n = 20
	for i := range n {
		if err := db.QueueMail(t.Context(), nil, &gatehouse.Mail{To: "x@example.com", Subject: string(rune('a' + i)), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				ms, err := db.ClaimMail(t.Context(), t0, time.Hour, 3)
				if err != nil {
					t.Errorf("ClaimMail: %v", err)
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d mails claimed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("mail %d claimed %d times", id, c)
		}
	}
}

func testDeleteExpiredEmail(t *testing.T, db *sqldb.DB) {
	t0 := now()
	u := createUser(t, db, "alice")
	old := emailToken(gatehouse.TokenResetPassword, u.ID, "", t0.Add(-time.Hour), 30*time.Minute)
	live := emailToken(gatehouse.TokenResetPassword, u.ID, "", t0, 30*time.Minute)
	sent := &gatehouse.Mail{To: "a@example.com", Subject: "sent", CreatedAt: t0.Add(-48 * time.Hour)}
	queued := &gatehouse.Mail{To: "a@example.com", Subject: "queued", CreatedAt: t0.Add(-48 * time.Hour), NextAttempt: t0.Add(time.Hour)}
	if err := db.QueueMail(t.Context(), old, sent, queued); err != nil {
		t.Fatal(err)
	}
	if err := db.QueueMail(t.Context(), live); err != nil {
		t.Fatal(err)
	}
	if err := db.MailSent(t.Context(), sent.ID, t0.Add(-47*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := db.DeleteExpiredEmail(t.Context(), t0, t0.Add(-24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredEmail = %d, %v; want 2 (the expired token, the sent mail)", n, err)
	}
	if _, err := db.EmailToken(t.Context(), live.Hash, gatehouse.TokenResetPassword, t0); err != nil {
		t.Fatalf("the live token went: %v", err)
	}
	if got, _ := db.ClaimMail(t.Context(), t0.Add(2*time.Hour), time.Minute, 10); len(got) != 1 || got[0].ID != queued.ID {
		t.Fatalf("the queued mail went: %+v", got)
	}
}
