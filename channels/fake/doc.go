// Package fake holds what the channels' fake providers share: the record of an
// accepted message (listed at GET /_fake/messages, cleared by DELETE), the
// token-driven behaviours every fake understands, and a throw-away TLS
// certificate authority so fakes serve real HTTP/2 over TLS on loopback.
//
// Token-driven behaviour, the same on all fakes: a token containing
// "unregistered" gets the provider's "gone" answer; "baddevice" its
// invalid-token answer; "throttle" a 429 with Retry-After: 1 on the first
// attempt, success after; "flaky" a 503 on the first attempt, success after;
// "slow" 200 ms of latency. Behaviours combine ("slow-flaky").
package fake
