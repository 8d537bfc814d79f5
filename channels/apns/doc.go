// Package apns sends push notifications to Apple devices through the APNs
// HTTP/2 provider API, with sideshow/apns2 as the client.
//
// A Sender serves one app. It holds one long-lived HTTP/2 client per
// credential: token auth (a .p8 key, key id and team id; one shared provider
// JWT, generated in New so a bad key fails at once and refreshed every 40
// minutes, well inside Apple's 20–60 minute window) or certificate auth (.p12
// or PEM). The client pings idle connections (HTTP/2 PING after 15 s without a
// frame) and requests in flight are bounded by Options.MaxInFlight.
//
// BuildPayload turns a rendered Braze apple_push object into the APNs JSON body
// and headers; a body over 4096 bytes is never sent (Permanent,
// invalid_push_payload). Answers are classified by Classify:
//
//	200                                         Delivered (ProviderID = apns-id)
//	410, 400 BadDeviceToken/DeviceTokenNotForTopic  DropToken
//	429, 5xx, network errors                    Retry (after Retry-After when given)
//	403 (InvalidProviderToken, ExpiredProviderToken, BadCertificate,
//	BadCertificateEnvironment, …), 400 BadTopic/TopicDisallowed/MissingTopic
//	                                            Retry with Pause (credentials or environment)
//	other 4xx, 413                              Permanent
//
// A token that cannot be a device token (empty, over 200 bytes, or with
// characters outside letters, digits, '-', '_' and '.') is never sent:
// DropToken with Herald's reason invalid_token_format.
//
// The sender does not guard against mass invalidation itself: the app's
// channels.Pausable does, over a window, with IsInvalidToken (APNs'
// BadDeviceToken and DeviceTokenNotForTopic answers) as its predicate — many
// such answers at once mean a wrong environment or topic, not dead devices.
//
// Close waits (at most Options.Timeout) for running sends, then closes every
// connection the client opened, so none is left open; an idle connection also
// closes after 5 minutes without a request.
//
// The apnsfake subpackage is a fake APNs that speaks the same protocol for
// tests, benchmarks and dev mode.
package apns
