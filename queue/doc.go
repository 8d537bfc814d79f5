// Package queue defines Herald's background tasks on asynq (Redis): their
// types and small typed payloads, the enqueue Client (public: other Go
// services use it to trigger campaigns and sends without HTTP), and the
// Server that runs a set of Handlers with Herald's retry policy and metrics.
//
// The handlers themselves live in package campaigns, which imports this
// package; this package imports no store or campaign package. Payloads carry
// identifiers and cursors, never profiles.
//
// Idempotency: a task that must be enqueued once carries an asynq TaskID
// derived from its meaning (DispatchTaskID, DeliverTaskID, a request id) and a
// Retention, so a second enqueue of the same dispatch or page — while it is
// pending, retrying, or completed within the Retention — is a no-op that
// reports success. Redis is a work queue, not the source of truth: the store
// records dispatches and their pages, and a reconciler re-enqueues what Redis
// lost.
//
// Retries: a handler error is retried with an exponential delay (1s doubling
// to 5m, with jitter) and counts against the task's MaxRetry. A *Backoff
// (a provider or a rate limit asking to wait) is not a failure: the retry count
// is not used and the task runs again after Backoff.After. An error wrapping
// asynq.SkipRetry archives the task at once; a malformed payload does so too.
//
// asynq's own Redis keys cannot be prefixed (they are asynq:{queue}:…), so the
// queue name is configurable: deployments or tests sharing one Redis use
// different queue names.
package queue
