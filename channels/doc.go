// Package channels defines what every delivery channel provides: a Sender that
// sends a batch of messages to one provider with one app's credentials and
// classifies each answer into an Outcome — Delivered, Retry (optionally after the
// wait the provider asked for), DropToken (the device is gone: prune the token)
// or Permanent (this message can never be sent). One subpackage per channel
// (apns, fcm, webpush) implements it; each ships a fake provider that speaks the
// real wire protocol over real sockets (tests, benchmarks, dev mode).
//
// A sender knows a message and a provider, nothing about why it is sent: it
// imports no store, campaign, queue or API package, and never retries by
// itself — retries live in the queue.
package channels
