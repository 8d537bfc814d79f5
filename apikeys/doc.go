// Package apikeys issues and verifies REST API keys. A key is shown once, when it is
// created; only its SHA-256 hash is stored. Each key carries Braze-style scopes
// (users.track, users.export.ids, …, manage). Verification compares hashes in
// constant time and caches verified keys briefly so a request costs no query.
package apikeys
