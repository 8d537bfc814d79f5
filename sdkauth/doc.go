// Package sdkauth verifies the tokens of SDK authentication: a customer's
// backend signs a short-lived JWT naming one user, the app SDK sends it with
// every request in X-Herald-Sdk-Auth, and Herald lets the request read or
// write that user only.
//
// A token is a compact JWS (RFC 7515) signed with HS256 (a secret shared with
// the app) or RS256 (the app holds the RSA public key). The token's alg must be
// the one the app is configured with: "none", any other algorithm, and an
// HS256 token presented to an RS256 app (the public key used as an HMAC
// secret) are refused. Claims:
//
//   - sub: the user's external id, required;
//   - exp: required, and at most MaxLifetime (24 h) after iat, or after the
//     time of verification when the token has no iat;
//   - iat: optional; a token issued in the future is refused;
//   - nbf: optional, honoured.
//
// Time comparisons allow Leeway (60 s) of clock skew. Other claims (aud, iss,
// jti) are ignored. Failures are *Error values wrapping one of the sentinels
// (ErrMalformed, ErrWrongAlgorithm, ErrBadSignature, ErrExpired,
// ErrNotYetValid, ErrInvalidClaims), and their messages are written to be
// returned to the client as they are: they never contain a key.
//
// The package is pure: it knows no store, no HTTP and no app; Mode and Check
// say what a request may do with the verified subject.
package sdkauth
