// Package seal encrypts small secrets at rest (provider credentials) with
// AES-256-GCM. A sealed value carries a version byte and a random nonce; the caller
// binds it to its owner with associated data (an app id), so a ciphertext copied to
// another row does not open.
package seal
