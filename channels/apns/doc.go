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
// When more than 5 % of a batch (and at least 3 messages) comes back as an
// invalid token, the batch is retried and the channel paused instead of pruning
// every token (channels.GuardMassInvalidation): that pattern means a wrong
// environment or topic, not dead devices.
//
// The apnsfake subpackage is a fake APNs that speaks the same protocol for
// tests, benchmarks and dev mode.
package apns
