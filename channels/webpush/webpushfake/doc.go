// Package webpushfake is a fake Web Push service (RFC 8030) for tests,
// benchmarks and dev mode. It verifies what a push service and the browser
// verify, so a test passing against it proves the browser could read the
// message:
//
//   - POST /_fake/webpush/subscribe[?behavior=word] mints a subscription, as a
//     browser's PushManager.subscribe would: it answers 201 with the
//     PushSubscription JSON {"endpoint":"<base>/push/<id>","keys":{"p256dh":…,
//     "auth":…}} (raw base64url) and keeps the browser's private key and auth
//     secret. An optional JSON body {"applicationServerKey":…} restricts the
//     subscription to that VAPID key. A behaviour word is embedded in the id
//     ("<base>/push/unregistered-<random>").
//   - DELETE /_fake/webpush/subscriptions/{id} unsubscribes: later pushes get 410.
//   - POST /push/{id} is the push resource. In order: an unknown id is 404, an
//     unsubscribed one 410; the Authorization header must be
//     "vapid t=<JWT>, k=<key>" (else 401 with WWW-Authenticate: vapid); the JWT
//     must be ES256-signed by k, with aud the endpoint's origin, exp in the
//     future and at most 24 hours ahead, and sub a mailto: address (not the
//     doubled "mailto:mailto:") or an https: URL (else 403); k must be one of
//     Config.VAPIDKeys when that is set, and the subscription's
//     applicationServerKey when it has one (else 403); TTL is required, Urgency
//     and Topic (at most 32 base64url characters) are checked (else 400);
//     Content-Encoding must be aes128gcm (else 400); the body may be 4096 bytes
//     at most (else 413); and it must decrypt (RFC 8291: ECDH, HKDF,
//     AES-128-GCM, 0x02 padding delimiter) with the subscription's keys (else
//     400). Then Config.Script may answer, else the token behaviours of package
//     fake apply to the id (unregistered → 410, baddevice → 404, throttle → 429
//     with Retry-After: 1 on the first attempt, flaky → 503 on the first
//     attempt, slow → 200 ms). An accepted push is answered 201 Created with a
//     Location and recorded.
//
// Errors are JSON in autopush's shape: {"code","errno","error","message"}.
//
// A record has channel "webpush", the endpoint, token = the subscription id,
// app_id from Config.VAPIDKeys, collapse_id = the Topic header, the TTL,
// Urgency, Topic and Content-Encoding headers, and as payload the DECRYPTED
// plaintext (JSON as is, anything else as a JSON string).
//
// Subscriptions live in memory: a restarted fake answers 404 to the old ones.
package webpushfake
