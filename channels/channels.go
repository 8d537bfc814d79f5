package channels

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Outcome is what happened to one message.
type Outcome uint8

// Outcomes of a send.
const (
	// Delivered: the provider accepted the message.
	Delivered Outcome = iota + 1
	// Retry: not sent now; send it again later (after Result.After when set).
	Retry
	// DropToken: the device token is no longer valid; prune it, do not retry.
	DropToken
	// Permanent: this message cannot be sent (bad payload, rejected); do not retry.
	Permanent
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case DropToken:
		return "drop_token"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Outcomes lists every outcome, for metrics created up front.
func Outcomes() []Outcome { return []Outcome{Delivered, Retry, DropToken, Permanent} }

// Channel names, as used in metrics and fake records.
const (
	APNs    = "apns"
	FCM     = "fcm"
	WebPush = "webpush"
	Webhook = "webhook"
)

// Message is one push to one device.
type Message struct {
	// ID identifies the message (one ledger row): Herald puts it in the payload's
	// extras as herald_message_id, so a device-visible duplicate can be told apart.
	ID string
	// DispatchID is put in the extras as herald_dispatch_id.
	DispatchID string
	// AppID names the app whose credentials send it.
	AppID string
	// Token addresses the device: an APNs or FCM token, or for web the
	// PushSubscription JSON.
	Token string
	// CollapseID makes a rare re-send replace the first on the device: APNs
	// apns-collapse-id, FCM collapse key and notification tag, Web Push Topic.
	CollapseID string
	// Object is the rendered channel object in Braze's shape (apple_push,
	// android_push or web_push); the sender builds the provider payload from it.
	Object map[string]any
}

// Result is the outcome of one Message, in the order of the batch.
type Result struct {
	Outcome Outcome
	// After is the wait the provider asked for (Retry-After); zero leaves the
	// wait to the queue's backoff.
	After time.Duration
	// Reason is the provider's reason code ("Unregistered", "UNREGISTERED",
	// "410 Gone") or Herald's ("invalid_push_payload").
	Reason string
	// ProviderID is the provider's id for an accepted message (apns-id, FCM
	// message name, Web Push Location).
	ProviderID string
	// Pause reports a credential or environment problem (bad key, wrong
	// sandbox/production, topic mismatch): the app's channel should be paused
	// rather than the message dropped or retried at once.
	Pause bool
	// Err is the detail of a failure; it never holds a secret.
	Err error
}

// Sender sends batches of messages for one app and classifies each answer.
type Sender interface {
	// Send sends msgs concurrently (within the sender's own in-flight bound) and
	// returns one Result per message, in order. It does not retry.
	Send(ctx context.Context, msgs []Message) []Result
	// Close releases connections.
	Close() error
}

// ProviderError is a provider's answer that is not a success, with what the
// classifier needs. It is the Err of a Result.
type ProviderError struct {
	Channel    string
	Status     int
	Reason     string
	RetryAfter time.Duration
	Err        error
}

func (e *ProviderError) Error() string {
	s := fmt.Sprintf("%s: status %d", e.Channel, e.Status)
	if e.Reason != "" && !strings.HasPrefix(e.Reason, strconv.Itoa(e.Status)) {
		s += " " + e.Reason
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ProviderError) Unwrap() error { return e.Err }

// Abort reasons a payload builder returns (the delivery pipeline's table of
// abort reasons includes them).
const (
	ReasonInvalidPayload = "invalid_push_payload"
)

// PermanentResult returns a Permanent result with Herald's reason and detail.
func PermanentResult(reason string, err error) Result {
	return Result{Outcome: Permanent, Reason: reason, Err: err}
}
