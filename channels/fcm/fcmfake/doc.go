// Package fcmfake is a fake Firebase Cloud Messaging provider for tests,
// benchmarks, `herald fakes` and dev mode. It speaks the real wire protocols
// the firebase Admin SDK uses, so a sender runs unchanged against it:
//
//   - the Google OAuth 2.0 token endpoint a service account's token_uri points
//     at (POST /token): a JWT-bearer grant whose RS256 assertion must be signed
//     by a configured service account's key, addressed to the endpoint (aud),
//     fresh (iat, exp) and asking for the firebase.messaging or cloud-platform
//     scope; it answers with an access token, or 400 {"error":"invalid_grant"};
//   - the FCM HTTP v1 API (POST /v1/projects/{project}/messages:send): the
//     bearer token must be one it issued and still valid (else 401
//     UNAUTHENTICATED), the project must be configured and the token's service
//     account must belong to it (else 403 PERMISSION_DENIED), the message is
//     decoded strictly and validated as FCM does (else 400 INVALID_ARGUMENT).
//
// Errors carry FCM's google.rpc shape with a FcmError detail, so the SDK's own
// helpers (messaging.IsUnregistered, IsQuotaExceeded, …) classify them.
//
// Token-driven behaviours (see package fake): "unregistered" → 404
// UNREGISTERED; "baddevice" → 400 INVALID_ARGUMENT; "throttle" → 429
// QUOTA_EXCEEDED with Retry-After: 1 on the first attempt; "flaky" → 503
// UNAVAILABLE on the first attempt, success after (the bare SDK retries a 503
// by itself; Herald's sender does not let it, so there a flaky token is Retry
// on the first Send and delivered on the next); "slow" → 200 ms.
// Config.Script overrides them per token for outcome tables, and can break an
// exchange off as a network failure would (Answer.Cut).
//
// The size limit (MaxPayloadBytes) applies to the JSON of the data and
// notification objects, as FCM's does, not to the token or options.
//
// Accepted messages are recorded (channel "fcm", token, app_id from the
// project, collapse_id from android.collapse_key or else the android
// notification's tag, where Herald puts its collapse id, a few headers —
// never Authorization — and the request's message JSON as payload).
package fcmfake
