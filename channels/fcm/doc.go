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
//	5xx, 429, network errors                   → Retry
//
// When many tokens of a batch come back SENDER_ID_MISMATCH (a sign of a wrong
// project rather than of dead devices) channels.GuardMassInvalidation turns
// them into Retry with Pause instead of pruning them.
//
// The SDK retries 503 answers and network errors by itself (up to 4 times,
// exponential backoff honouring Retry-After); nothing else is retried here:
// retries live in the queue.
package fcm
