// Package webhook sends campaign webhooks: one HTTP request per user, whose
// URL, method, headers and body the delivery pipeline has rendered from Liquid
// templates (Braze's webhook object: url, request_method, request_headers,
// body).
//
// Every request carries an Idempotency-Key header, the ledger row's message id
// (channels.Message.ID): a claim re-sent after a crashed worker's lease
// carries the same key, so a receiver can drop the duplicate.
//
// The answer is classified like a push provider's: 2xx Delivered; 408, 429 and
// 5xx Retry (after Retry-After when given); any other status Permanent;
// transport errors Retry. Redirects are not followed (a 3xx is Permanent).
//
// A rendered URL comes from templates and so, through profile attributes, from
// outside: the dialer refuses loopback, private (RFC 1918, fc00::/7),
// link-local, multicast and unspecified addresses at connect time, whatever
// name resolved to them, unless Options.AllowPrivate is set. A refused address
// is Permanent (reason address_not_allowed).
package webhook
