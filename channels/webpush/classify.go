package webpush

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/herald-oss/herald/channels"
)

// Reasons Herald gives to failures that are not a push service's answer.
const (
	ReasonEndpointNotAllowed  = "endpoint_not_allowed"
	ReasonInvalidSubscription = "invalid_subscription"
	ReasonTransport           = "transport_error"
	ReasonCanceled            = "canceled"
	ReasonClosed              = "sender_closed"
	ReasonEncrypt             = "encrypt_error"
)

// maxErrorBody is how much of an error answer is read for its detail.
const maxErrorBody = 4 << 10

// Classify turns a push service's answer into a Result: 2xx is Delivered (the
// Location header is the ProviderID); 404 and 410 DropToken (the subscription is
// gone); 413 Permanent; 429 and 5xx Retry after Retry-After; 401 and 403 (the
// service refused the VAPID JWT or key) Retry with Pause; any other status
// Permanent. The Reason is the status and the service's reason ("410 Gone",
// "403 BadJwtToken"); body is the start of the answer, for the error's detail.
func Classify(status int, header http.Header, body []byte, now time.Time) channels.Result {
	if status >= 200 && status < 300 {
		return channels.Result{Outcome: channels.Delivered, ProviderID: header.Get("Location")}
	}
	reason, detail := describe(status, body)
	perr := &channels.ProviderError{
		Channel:    channels.WebPush,
		Status:     status,
		Reason:     reason,
		RetryAfter: channels.ParseRetryAfter(header.Get("Retry-After"), now),
	}
	if detail != "" {
		perr.Err = errors.New(detail)
	}
	r := channels.Result{Reason: reason, Err: perr}
	switch {
	case status == http.StatusNotFound || status == http.StatusGone:
		r.Outcome = channels.DropToken
	case status == http.StatusRequestEntityTooLarge:
		r.Outcome = channels.Permanent
	case status == http.StatusTooManyRequests || status >= 500:
		r.Outcome, r.After = channels.Retry, perr.RetryAfter
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		r.Outcome, r.After, r.Pause = channels.Retry, perr.RetryAfter, true
	default:
		r.Outcome = channels.Permanent
	}
	return r
}

// describe reads an error answer: Apple's {"reason":…}, autopush's
// {"errno":…,"message":…} or text.
func describe(status int, body []byte) (reason, detail string) {
	reason = http.StatusText(status)
	if reason == "" {
		reason = "status"
	}
	var j struct {
		Reason  string      `json:"reason"`
		Errno   json.Number `json:"errno"`
		Message string      `json:"message"`
	}
	if json.Unmarshal(body, &j) == nil {
		if r := channels.Printable(j.Reason, 64); r != "" && !strings.ContainsAny(r, " ") {
			reason = r
		}
		switch {
		case j.Message != "" && j.Errno != "":
			detail = fmt.Sprintf("errno %s: %s", j.Errno, channels.Printable(j.Message, 200))
		case j.Message != "":
			detail = channels.Printable(j.Message, 200)
		}
		return fmt.Sprintf("%d %s", status, reason), detail
	}
	return fmt.Sprintf("%d %s", status, reason), channels.Printable(string(body), 200)
}

// IsVAPIDRefusal picks the answers where the push service refused Herald's
// VAPID JWT or key (401, 403). A subscription made with another application
// server key draws the same answer as a wrong key, so it may concern one
// subscription only: channels.PauseOptions.PerToken.
func IsVAPIDRefusal(r channels.Result) bool {
	var perr *channels.ProviderError
	return r.Pause && errors.As(r.Err, &perr) && perr.Channel == channels.WebPush &&
		(perr.Status == http.StatusUnauthorized || perr.Status == http.StatusForbidden)
}
