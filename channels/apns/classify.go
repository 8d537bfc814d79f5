package apns

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sideshow/apns2"

	"github.com/herald-oss/herald/channels"
)

// Herald's reasons for failures that carry no APNs reason.
const (
	ReasonTimeout        = "timeout"
	ReasonCanceled       = "canceled"
	ReasonTransportError = "transport_error"
	ReasonSenderClosed   = "sender_closed"
	// ReasonInvalidTokenFormat is a token Herald refuses without asking APNs
	// (empty, too long, or with characters a device token never has): DropToken,
	// but not counted by IsInvalidToken.
	ReasonInvalidTokenFormat = "invalid_token_format"
)

// Answer is APNs' answer to one notification, as the classifier needs it.
type Answer struct {
	Status     int
	Reason     string    // the "reason" of the JSON body
	RetryAfter string    // the Retry-After header
	ApnsID     string    // the apns-id header
	Timestamp  time.Time // 410: when the token stopped being valid
}

// Classify turns an APNs answer into a Result; now dates a Retry-After given
// as an HTTP date. Result.Err is a *channels.ProviderError for every failure.
func Classify(a Answer, now time.Time) channels.Result {
	if a.Status == http.StatusOK {
		return channels.Result{Outcome: channels.Delivered, ProviderID: a.ApnsID}
	}
	reason := a.Reason
	if reason == "" {
		reason = strconv.Itoa(a.Status) + " " + http.StatusText(a.Status)
	}
	after := channels.ParseRetryAfter(a.RetryAfter, now)
	perr := &channels.ProviderError{Channel: channels.APNs, Status: a.Status, Reason: reason, RetryAfter: after}
	r := channels.Result{Reason: reason, ProviderID: a.ApnsID, Err: perr}
	switch {
	case a.Status == http.StatusGone:
		r.Outcome = channels.DropToken
		if !a.Timestamp.IsZero() {
			perr.Err = fmt.Errorf("the token is invalid since %s", a.Timestamp.UTC().Format(time.RFC3339))
		}
	case a.Status == http.StatusBadRequest && (reason == apns2.ReasonBadDeviceToken || reason == apns2.ReasonDeviceTokenNotForTopic):
		r.Outcome = channels.DropToken
	case a.Status == http.StatusForbidden, a.Status == http.StatusBadRequest && topicReason(reason):
		// The key, certificate, environment or topic is wrong: every message of
		// this app would fail the same way.
		r.Outcome, r.Pause = channels.Retry, true
	case a.Status == http.StatusTooManyRequests, a.Status >= 500:
		r.Outcome, r.After = channels.Retry, after
	case a.Status >= 400:
		r.Outcome = channels.Permanent
	default: // an answer APNs does not give (1xx, 3xx, other 2xx)
		r.Outcome, r.After = channels.Retry, after
	}
	return r
}

// topicReason reports a 400 reason that blames the app's topic, not the message.
func topicReason(reason string) bool {
	switch reason {
	case apns2.ReasonBadTopic, apns2.ReasonTopicDisallowed, apns2.ReasonMissingTopic:
		return true
	}
	return false
}

// credentialReason finds an APNs reason for a refused key or certificate in an
// error's text: when APNs closes the connection (GOAWAY), the reason appears
// only in the transport error.
func credentialReason(text string) string {
	for _, r := range [...]string{apns2.ReasonBadCertificateEnvironment, apns2.ReasonBadCertificate,
		apns2.ReasonExpiredProviderToken, apns2.ReasonInvalidProviderToken, apns2.ReasonMissingProviderToken} {
		if strings.Contains(text, r) {
			return r
		}
	}
	return ""
}

// ClassifyError turns a failed round trip (no APNs answer) into a Result:
// Retry, with Pause when the error names a credential problem. token is
// redacted from the error.
func ClassifyError(err error, token string) channels.Result {
	var ue *url.Error
	if errors.As(err, &ue) {
		// The URL holds the device token: name only its start.
		err = fmt.Errorf("POST /3/device/%s: %w", Redact(token), ue.Err)
	}
	reason := ReasonTransportError
	pause := false
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		reason = ReasonTimeout
	case errors.Is(err, context.Canceled):
		reason = ReasonCanceled
	default:
		if r := credentialReason(err.Error()); r != "" {
			reason, pause = r, true
		}
	}
	return channels.Result{Outcome: channels.Retry, Reason: reason, Pause: pause,
		Err: &channels.ProviderError{Channel: channels.APNs, Reason: reason, Err: err}}
}

// IsInvalidToken reports a result that would prune a token because APNs said
// it is invalid for this app (BadDeviceToken, DeviceTokenNotForTopic): the
// predicate of the mass-invalidation guard (channels.Pausable). Neither an
// unregistered token (always trusted) nor one Herald refused itself
// (ReasonInvalidTokenFormat: APNs was not asked) counts.
func IsInvalidToken(r channels.Result) bool {
	return r.Outcome == channels.DropToken &&
		(r.Reason == apns2.ReasonBadDeviceToken || r.Reason == apns2.ReasonDeviceTokenNotForTopic)
}

// Redact shortens a device token for errors and logs.
func Redact(token string) string {
	if len(token) <= 8 {
		return token
	}
	return token[:8] + "…"
}
