// Package apnsfake is a fake APNs for tests, benchmarks and dev mode. It serves
// Apple's provider API (POST /3/device/{token} over HTTP/2 and TLS) and
// verifies what APNs verifies: HTTP/2, the method and the path; the provider JWT of token
// auth (ES256 signed by a configured key for its kid, iss the team id, iat not
// older than an hour) or, without a JWT, a client certificate chaining to the
// configured CAs; apns-topic (a configured topic); apns-push-type,
// apns-priority, apns-expiration, apns-id and apns-collapse-id (at most 64
// bytes); repeated headers; and a JSON body of at most 4096 bytes holding an
// "aps" dictionary. A failed check gets Apple's status and {"reason": …} body.
//
// Accepted notifications are recorded in the shared fake.Record shape (channel
// "apns", the token, the app id of the topic, the collapse id, the apns-*
// headers, the JSON body). Tokens drive behaviours as on every fake
// (unregistered → 410 Unregistered; baddevice → 400 BadDeviceToken; throttle →
// 429 TooManyRequests with Retry-After: 1 on the first attempt; flaky → 503
// ServiceUnavailable on the first attempt; slow → 200 ms), and Config.Script
// answers any status and reason for the tokens it picks.
package apnsfake
