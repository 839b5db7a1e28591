package web_test

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// virtualAuthenticator gives the browser Chromium's virtual authenticator
// (DevTools WebAuthn domain): a platform authenticator with user
// verification that says yes at once, so navigator.credentials.create and
// get run without a person.
func virtualAuthenticator(b *browser) webauthn.AuthenticatorID {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		b.t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// authenticatorCredentials returns what the virtual authenticator holds.
func authenticatorCredentials(b *browser, id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		b.t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// addPasskeyInBrowser adds a passkey named name from the main page, as a
// person would: type a name, "Add a passkey", type the current password,
// "Create the passkey".
func addPasskeyInBrowser(b *browser, name, password string) {
	b.t.Helper()
	if st := b.open("/main"); st != 200 {
		b.t.Fatalf("/main = %d", st)
	}
	b.fill("#passkey_name", name)
	if st := b.click("#passkey-add"); st != 200 {
		b.t.Fatalf("Add a passkey: %d", st)
	}
	b.fill("#passkey_password", password)
	// The script asks the (virtual) authenticator and posts its answer
	// with the password; the finish form ends on /main.
	if st := b.click("#passkey-create"); st != 200 || b.path() != "/main" {
		b.t.Fatalf("Create the passkey: %d on %s: %s", st, b.path(), b.text("main"))
	}
}

// TestBrowserPasskey registers a passkey from /main in Chromium with its
// virtual authenticator, through the page's script and forms under the
// page's Content-Security-Policy, logs out, and logs in again with the
// password and then the passkey as the second factor.
func TestBrowserPasskey(t *testing.T) {
	env := newPageEnv(t, pageOpts{passkeys: true})
	b := newBrowser(t, env.LocalURL)
	auth := virtualAuthenticator(b)
	if st := b.register("alice", "correct horse battery"); st != 200 {
		t.Fatalf("register: %d", st)
	}
	addPasskeyInBrowser(b, "Virtual key", "correct horse battery")
	section := b.text("#passkeys")
	if !strings.Contains(section, "Virtual key") || !strings.Contains(b.text(".messages"), "Your passkey has been added.") {
		t.Fatalf("after adding, the passkey section reads %q", section)
	}
	shotPasskeys(b, "passkeys.png")
	creds := authenticatorCredentials(b, auth)
	if len(creds) != 1 || creds[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v, want one credential for localhost", creds)
	}
	if errs := b.consoleErrors(nil); len(errs) > 0 {
		t.Fatalf("console errors: %v", errs)
	}

	// Log out; the password alone no longer opens a session.
	if st := b.click(`.topbar form[action="/logout"] button`); st != 200 || b.path() != "/login" {
		t.Fatalf("logout = %d at %s", st, b.path())
	}
	if st := b.login("alice", "correct horse battery"); st != 200 || b.path() != "/login/second-factor" {
		t.Fatalf("login = %d at %s, want the second-factor page", st, b.path())
	}
	if eval[bool](b, `document.querySelector("#totp_code") !== null`) {
		t.Fatal("the second-factor page asks a passkey-only user for a code")
	}
	shotPage(b, "passkey-login.png")
	before := creds[0].SignCount
	if st := b.click("#passkey-use"); st != 200 || b.path() != "/main" {
		t.Fatalf("Use a passkey = %d at %s: %s", st, b.path(), b.text("main"))
	}
	if got := authenticatorCredentials(b, auth)[0].SignCount; got <= before {
		t.Fatalf("sign count %v after the login, was %v: the authenticator was not asked", got, before)
	}
	if !strings.Contains(b.text("#passkeys"), "last used just now") {
		t.Fatalf("the passkey's last use is not shown: %q", b.text("#passkeys"))
	}
	// The session's tokens say how the user logged in.
	at := b.cookie("gh_at")
	if amr := amrOf(t, at); len(amr) != 2 || amr[0] != "pwd" || amr[1] != "hwk" {
		t.Fatalf("amr of the page session = %v, want [pwd hwk]", amr)
	}
	if errs := b.consoleErrors(nil); len(errs) > 0 {
		t.Fatalf("console errors: %v", errs)
	}
}

// shotPage takes a picture of the whole page for the README, like
// shotPasskeys.
func shotPage(b *browser, file string) {
	b.t.Helper()
	dir := b.t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "docs")
	}
	eval[bool](b, `document.activeElement.blur() || true`)
	img := step(b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, file), img, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// shotPasskeys takes a picture of the passkey section for the README:
// into docs/ with -screenshots (see TestScreenshots), else a temporary
// directory, checked to be a PNG.
func shotPasskeys(b *browser, file string) {
	b.t.Helper()
	dir := b.t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "docs")
	}
	eval[bool](b, `document.activeElement.blur() || true`)
	img := step(b, chromedp.Screenshot(chromedp.CSS("#passkeys")))
	if _, err := png.DecodeConfig(bytes.NewReader(img)); err != nil {
		b.t.Fatalf("%s: not a PNG: %v", file, err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), img, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
