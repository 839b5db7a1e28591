// gatehouse passkeys: runs the WebAuthn ceremonies of the pages.
//
// A button with data-webauthn="create" or "get" carries the server's
// options (JSON, binary members in base64url) in data-options and names
// in data-form the form to post the answer with. On a click the script
// asks the browser (navigator.credentials.create or get), puts the answer
// as JSON in the form's hidden field (data-field, else "credential") and
// submits the form with its other fields (the current password),
// which carries its own CSRF token. The script calls no endpoint and sees
// no token; the server checks everything.
(function () {
  "use strict";

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeList(list) {
    (list || []).forEach(function (c) { c.id = fromB64url(c.id); });
  }

  // creationOptions and requestOptions turn the server's JSON into what
  // the browser takes: the binary members as ArrayBuffers.
  function creationOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    decodeList(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    decodeList(pk.allowCredentials);
    return pk;
  }

  // credentialJSON is PublicKeyCredential.toJSON(), written out for the
  // browsers that lack it.
  function credentialJSON(cred) {
    var r = cred.response, resp = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      resp.attestationObject = toB64url(r.attestationObject);
      resp.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      resp.authenticatorData = toB64url(r.authenticatorData);
      resp.signature = toB64url(r.signature);
      if (r.userHandle) resp.userHandle = toB64url(r.userHandle);
    }
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: resp,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  function say(text) {
    var el = document.getElementById("passkey-status");
    if (el) {
      el.textContent = text;
      el.hidden = false;
    }
  }

  function run(button) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say("This browser cannot use passkeys.");
      return;
    }
    var form = document.getElementById(button.getAttribute("data-form"));
    // The form's own fields (the current password when adding a passkey)
    // must be filled in before the browser is asked.
    if (!form.reportValidity()) return;
    var options = JSON.parse(button.getAttribute("data-options")).publicKey;
    var ask = button.getAttribute("data-webauthn") === "create"
      ? navigator.credentials.create({ publicKey: creationOptions(options) })
      : navigator.credentials.get({ publicKey: requestOptions(options) });
    button.disabled = true;
    ask.then(function (cred) {
      form.elements[button.getAttribute("data-field") || "credential"].value = JSON.stringify(credentialJSON(cred));
      form.submit();
    }).catch(function (err) {
      button.disabled = false;
      say(err && err.name === "NotAllowedError"
        ? "The passkey request was cancelled or timed out. Reload the page to try again."
        : "The browser could not use a passkey: " + (err && err.message ? err.message : err));
    });
  }

  document.querySelectorAll("[data-webauthn]").forEach(function (b) {
    b.addEventListener("click", function () { run(b); });
  });
})();
