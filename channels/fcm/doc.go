// Package fcm sends Android pushes through Firebase Cloud Messaging's HTTP v1
// API with the firebase Admin SDK (firebase.google.com/go/v4/messaging).
//
// A Sender serves one app: it authenticates with the app's service-account
// JSON key (a real OAuth 2.0 JWT-bearer exchange at the key's token_uri, the
// access token cached and refreshed by golang.org/x/oauth2), builds each
// message from Braze's android_push object (BuildPayload, 4,000-byte limit),
// and sends with SendEach in calls of at most 500 (each runs 50 SDK workers),
// at most Options.MaxInFlight HTTP requests in flight across all its Send
// calls: the bound is kept in the transport, per request.
//
// Classification, done on the SDK's own error before anything wraps it (the
// SDK's helpers use type assertions, not errors.As):
//
//	UNREGISTERED, SENDER_ID_MISMATCH           → DropToken
//	QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL      → Retry (after Retry-After)
//	INVALID_ARGUMENT, other 4xx                → Permanent
//	401, 403, THIRD_PARTY_AUTH_ERROR, bare 404 → Retry with Pause (credentials, project or endpoint)
//	a token endpoint refusing the key (4xx)    → Retry with Pause, for the whole batch
//	5xx (503 after its Retry-After), 429       → Retry
//	no answer: timeout, transport_error        → Retry (FCM may have accepted the message)
//	no connection: connect_failed              → Retry (nothing was sent)
//
// When many of an app's tokens come back SENDER_ID_MISMATCH (a sign of a
// wrong project rather than of dead devices) the daemon's channels.Pausable,
// given IsInvalidToken, pauses the channel instead of pruning them.
//
// Nothing is retried within Send: retries live in the queue. The SDK's own
// retry policy (every network error and every 503, up to 4 times, honouring
// Retry-After for up to 2 minutes each) would send a message FCM may already
// have accepted a second time — a timeout, a reset after the request was
// written, a body cut after a 200 — and hold Send for minutes on a 503. So
// the sender's transport bounds each request with a context deadline
// (Options.Timeout) and answers every transport failure and every 503 itself
// with a status the SDK does not retry, which the classifier reads back
// (noretry.go). A token of the fakes' "flaky" behaviour (503 on the first
// attempt) is therefore Retry on the first Send and delivered on the next.
package fcm
