// Package dashboard is Herald's web UI, served by the API process under
// /dashboard and embedded in the binary (html/template pages, a little
// JavaScript, and uPlot vendored from npm for the live chart; nothing is
// fetched from the internet).
//
// Sign-in takes an API key with the manage scope. The session is a cookie
// (HttpOnly, Secure, SameSite=Strict, Path=/dashboard) holding the key's
// secret, its expiry and a CSRF token, sealed with AES-GCM under a key
// derived (HKDF-SHA256) from security.encryption_key: every replica
// configured with that key accepts it, none keeps session state, and a
// revoked key ends its sessions at their next request (within the API's
// key cache TTL). Every state-changing request needs the session's CSRF
// token (form field csrf or header X-CSRF-Token) and a same-origin Origin.
//
// The dashboard is a client of the management API, called in process as
// the signed-in key: campaigns, segments, apps and stats go through the same
// handlers, validation and errors as /manage/… so no rule lives twice. What
// the API does not offer comes from small interfaces: API keys
// (apikeys.Store), the template preview (campaigns.Service.Preview), the
// user lookup (store) and credential test sends (daemon). The live view
// reads a Stats source each second and streams it as server-sent events.
//
// See docs/dashboard.md.
package dashboard
