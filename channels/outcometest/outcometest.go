// Package outcometest holds the outcome table every channel's classifier is
// tested against: provider-independent situations and the Result each must
// produce. A channel's test maps each Condition to its provider's answer (a
// status, a reason, headers) and checks its classifier, and its fake, against
// Want.
package outcometest

import (
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
)

// Condition is a situation every provider can answer with.
type Condition string

// The conditions of the shared table.
const (
	Accepted     Condition = "accepted"           // the provider took the message
	Gone         Condition = "gone"               // the device unregistered (APNs 410, FCM UNREGISTERED, Web Push 410)
	BadToken     Condition = "bad-token"          // the token is not valid for this app (APNs BadDeviceToken, FCM SENDER_ID_MISMATCH, Web Push 404)
	Throttled    Condition = "throttled"          // rate limited, with Retry-After: 7
	Unavailable  Condition = "unavailable"        // 503 without Retry-After
	ServerError  Condition = "server-error"       // 500
	AuthRejected Condition = "auth-rejected"      // the provider refused Herald's credentials (APNs 403 InvalidProviderToken, FCM 401, Web Push 403)
	TooLarge     Condition = "too-large"          // the provider refused the payload's size
	Malformed    Condition = "malformed"          // the provider refused the request as invalid (other 4xx)
	OverLimit    Condition = "payload-over-limit" // Herald's own check: the built payload exceeds the channel's limit; nothing is sent
)

// Want is the expected Result of a condition.
type Want struct {
	Outcome channels.Outcome
	After   time.Duration // for Retry
	Pause   bool
	Reason  string // when not empty, Result.Reason must equal it
}

// Case is one row of the table.
type Case struct {
	Condition Condition
	Want      Want
}

// Table is the shared outcome table.
func Table() []Case {
	return []Case{
		{Accepted, Want{Outcome: channels.Delivered}},
		{Gone, Want{Outcome: channels.DropToken}},
		{BadToken, Want{Outcome: channels.DropToken}},
		{Throttled, Want{Outcome: channels.Retry, After: 7 * time.Second}},
		{Unavailable, Want{Outcome: channels.Retry}},
		{ServerError, Want{Outcome: channels.Retry}},
		{AuthRejected, Want{Outcome: channels.Retry, Pause: true}},
		{TooLarge, Want{Outcome: channels.Permanent}},
		{Malformed, Want{Outcome: channels.Permanent}},
		{OverLimit, Want{Outcome: channels.Permanent, Reason: channels.ReasonInvalidPayload}},
	}
}

// Check compares a Result with a Want.
func Check(t testing.TB, c Case, got channels.Result) {
	t.Helper()
	w := c.Want
	if got.Outcome != w.Outcome || got.Pause != w.Pause || (w.Outcome == channels.Retry && got.After != w.After) {
		t.Errorf("%s: got %s (after %s, pause %v, reason %q, err %v); want %s (after %s, pause %v)",
			c.Condition, got.Outcome, got.After, got.Pause, got.Reason, got.Err, w.Outcome, w.After, w.Pause)
	}
	if w.Reason != "" && got.Reason != w.Reason {
		t.Errorf("%s: reason %q, want %q", c.Condition, got.Reason, w.Reason)
	}
	if w.Outcome != channels.Delivered && got.Reason == "" {
		t.Errorf("%s: a failure without a reason", c.Condition)
	}
}
