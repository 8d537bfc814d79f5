// Package webpush is the Web Push channel: it sends a message to a browser's
// push subscription through the browser vendor's push service (RFC 8030), with
// VAPID authentication (RFC 8292) and the payload encrypted for the browser
// (RFC 8291, aes128gcm), using github.com/SherClockHolmes/webpush-go.
//
// # Tokens and the endpoint policy
//
// A message's Token is the browser's PushSubscription JSON,
// {"endpoint":…,"keys":{"p256dh":…,"auth":…}}, keys in raw base64url
// (ParseSubscription reads it; Subscription.Token writes the canonical form).
// The endpoint comes from outside (a browser, through the SDK), so Herald only
// posts to push services on an allow-list: EndpointPolicy.Check is called when a
// token is registered (a refused endpoint is an error then, never a request) and
// again by the Sender for every message (a refused endpoint is Permanent, with
// reason endpoint_not_allowed, and nothing is sent). DefaultAllowedHosts are the
// major browsers' push services, https only; herald dev, herald fakes and tests
// set AllowLoopback. The HTTP client follows no redirect.
//
// # Credentials
//
// Credentials hold the app's VAPID key pair (GenerateVAPIDKeys makes one; the
// public key is the page's applicationServerKey) and the subject: an e-mail
// address (with or without "mailto:") or an https URL.
//
// # Requests
//
// Each request carries TTL (the object's time_to_live in seconds, default and
// maximum DefaultTTL, 4 weeks), Urgency (the object's urgency, a Herald
// extension, default normal) and, when the message has a collapse id, Topic: the
// collapse id hashed to 32 base64url characters (see Topic), so that a re-send
// of the same message replaces the first while it is still queued. The body is
// one 4096-byte aes128gcm record, so the plaintext holds at most MaxPayloadSize
// (3993) bytes; a larger payload is refused before encryption (Permanent,
// invalid_push_payload).
//
// # Payload: what the Herald service worker receives
//
// BuildPayload turns the web_push object into this JSON (members without a
// value are left out, except the two ids):
//
//	{
//	  "title": "…",                 // web_push.title (required)
//	  "body": "…",                  // web_push.alert (required)
//	  "icon": "https://…",          // web_push.image_url
//	  "image": "https://…",         // web_push.large_image_url
//	  "url": "https://…",           // web_push.custom_uri: opened on click
//	  "require_interaction": true,  // web_push.require_interaction
//	  "tag": "…",                   // the message's collapse id (Notification tag)
//	  "buttons": [                  // web_push.buttons
//	    {"text": "…", "action": "OPEN_APP" | "URI" | "CLOSE", "uri": "…"}
//	  ],
//	  "extra": {…},                 // web_push.extra, as given
//	  "herald_message_id": "…",     // the message (ledger row) id
//	  "herald_dispatch_id": "…"     // the dispatch id
//	}
//
// A button's action defaults to OPEN_APP; URI needs a uri.
//
// # Outcomes
//
// Classify maps the push service's answer: 2xx Delivered (ProviderID is the
// Location header); 404 and 410 DropToken; 413 Permanent; 429 and 5xx Retry
// after Retry-After; 401 and 403 (VAPID refused) Retry with Pause; other 4xx
// Permanent. Network errors are Retry. A token that is not a valid subscription
// is DropToken (invalid_subscription). No mass-invalidation guard applies: a
// push service's 404/410 names one subscription; an answer about the app's
// credentials is a 401/403, which pauses rather than prunes.
//
// Errors and log lines never hold the VAPID private key or an endpoint's path
// (the subscription's secret): only the push service's origin.
package webpush
