package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/herald-oss/herald/channels"
)

// maxErrorBody is how much of an error answer is read for its detail.
const maxErrorBody = 1 << 10

// Classify turns a receiver's answer into a Result: 2xx Delivered; 408, 429
// and 5xx Retry after Retry-After; any other status (3xx included: redirects
// are not followed) Permanent. The Reason is the status ("503 Service
// Unavailable"); body is the start of the answer, for the error's detail.
func Classify(status int, header http.Header, body []byte, now time.Time) channels.Result {
	if status >= 200 && status < 300 {
		return channels.Result{Outcome: channels.Delivered}
	}
	text := http.StatusText(status)
	if text == "" {
		text = "status"
	}
	reason := fmt.Sprintf("%d %s", status, text)
	perr := &channels.ProviderError{Channel: channels.Webhook, Status: status, Reason: reason,
		RetryAfter: channels.ParseRetryAfter(header.Get("Retry-After"), now)}
	if d := channels.Printable(string(body), 200); d != "" {
		perr.Err = errors.New(d)
	}
	r := channels.Result{Outcome: channels.Permanent, Reason: reason, Err: perr}
	if status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500 {
		r.Outcome, r.After = channels.Retry, perr.RetryAfter
	}
	return r
}
