// Package token issues and verifies gatehouse access tokens: JWTs signed with
// Ed25519 (alg EdDSA, the default) or HMAC-SHA256 (alg HS256, when an
// operator supplies a shared secret), the key set they are signed with and
// its public JWK Set.
//
// Security choices, each stated again where it is made:
//
//   - The algorithm is pinned per KeySet; a token naming any other alg (none,
//     HS256 against an EdDSA set, ...) is refused before a key is chosen, so
//     algorithm confusion cannot happen.
//   - Keys come only from the KeySet, looked up by kid. A token that carries a
//     key or a pointer to one (jwk, jku, x5u, x5c) or any header beyond alg,
//     kid and typ (crit included) is refused; nothing is ever fetched.
//   - typ must be at+jwt (RFC 9068), so an ID token or other JWT signed with
//     the same key cannot be replayed as an access token (RFC 8725 §3.11).
//   - iss, aud, exp, iat, sub, sid and jti are required; exp is checked with no
//     leeway, iat and nbf with Leeway for clock skew between instances.
//   - Input is bounded (MaxTokenSize) and restricted to canonical base64url
//     before any decoding, and Verify never panics.
//   - Every failure of Verify carries a *gatehouse.Error (errors.As,
//     gatehouse.ErrorCode) with code EINVALIDTOKEN and a message that says no
//     more than "token is invalid" or "token has expired"; the cause is
//     wrapped beside it for logs only.
package token
