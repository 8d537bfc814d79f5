package fcm

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"

	"github.com/herald-oss/herald/channels"
)

// FCM error codes (the FcmError detail of an answer), used as Result.Reason.
const (
	CodeUnregistered     = "UNREGISTERED"
	CodeSenderIDMismatch = "SENDER_ID_MISMATCH"
	CodeQuotaExceeded    = "QUOTA_EXCEEDED"
	CodeUnavailable      = "UNAVAILABLE"
	CodeInternal         = "INTERNAL"
	CodeThirdPartyAuth   = "THIRD_PARTY_AUTH_ERROR"
	CodeInvalidArgument  = "INVALID_ARGUMENT"
)

// answer is what FCM said about one message, read from the SDK's error.
type answer struct {
	status     int    // HTTP status; 0 when there was no response
	platform   string // google.rpc status ("NOT_FOUND"), or the SDK's code for a transport error
	code       string // FCM error code from the FcmError detail
	retryAfter string // the Retry-After header
	transport  string // a transport failure's reason (noRetry's synthetic answer); status is then 0
}

// readAnswer reads an SDK error with the SDK's own helpers. It must be given
// the error exactly as the SDK returned it: the helpers use type assertions
// and see nothing through a wrapper.
func readAnswer(err error) answer {
	var a answer
	if resp := errorutils.HTTPResponse(err); resp != nil {
		a.status = resp.StatusCode
		a.retryAfter = resp.Header.Get("Retry-After")
		if resp.StatusCode == statusNoRetry {
			// noRetry's answers: a transport failure, or a renamed status.
			if a.transport = resp.Header.Get(headerTransportError); a.transport != "" {
				a.status = 0
			} else if s, err := strconv.Atoi(resp.Header.Get(headerStatus)); err == nil {
				a.status = s
			}
		}
	}
	for _, c := range []struct {
		is   func(error) bool
		code string
	}{
		{messaging.IsUnregistered, CodeUnregistered},
		{messaging.IsSenderIDMismatch, CodeSenderIDMismatch},
		{messaging.IsQuotaExceeded, CodeQuotaExceeded},
		{messaging.IsUnavailable, CodeUnavailable},
		{messaging.IsInternal, CodeInternal},
		{messaging.IsThirdPartyAuthError, CodeThirdPartyAuth},
		{messaging.IsInvalidArgument, CodeInvalidArgument},
	} {
		if c.is(err) {
			a.code = c.code
			break
		}
	}
	for _, c := range []struct {
		is   func(error) bool
		code string
	}{
		{errorutils.IsInvalidArgument, "INVALID_ARGUMENT"},
		{errorutils.IsUnauthenticated, "UNAUTHENTICATED"},
		{errorutils.IsPermissionDenied, "PERMISSION_DENIED"},
		{errorutils.IsNotFound, "NOT_FOUND"},
		{errorutils.IsResourceExhausted, "RESOURCE_EXHAUSTED"},
		{errorutils.IsInternal, "INTERNAL"},
		{errorutils.IsUnavailable, "UNAVAILABLE"},
		{errorutils.IsDeadlineExceeded, "DEADLINE_EXCEEDED"},
		{errorutils.IsFailedPrecondition, "FAILED_PRECONDITION"},
		{errorutils.IsOutOfRange, "OUT_OF_RANGE"},
		{errorutils.IsConflict, "CONFLICT"},
		{errorutils.IsAborted, "ABORTED"},
		{errorutils.IsAlreadyExists, "ALREADY_EXISTS"},
		{errorutils.IsCancelled, "CANCELLED"},
		{errorutils.IsDataLoss, "DATA_LOSS"},
		{errorutils.IsUnknown, "UNKNOWN"},
	} {
		if c.is(err) {
			a.platform = c.code
			break
		}
	}
	return a
}

// result classifies the SDK's answer to one message: id and err as SendEach
// (or Send) returned them.
func result(id string, err error, now time.Time) channels.Result {
	if err == nil {
		return channels.Result{Outcome: channels.Delivered, ProviderID: id}
	}
	return classify(readAnswer(err), err, now)
}

// classify turns an answer into a Result whose Err wraps err in a
// *channels.ProviderError.
func classify(a answer, err error, now time.Time) channels.Result {
	after := channels.ParseRetryAfter(a.retryAfter, now)
	reason := a.code
	if reason == "" {
		reason = a.platform
	}
	r := channels.Result{Outcome: channels.Retry}
	switch {
	case a.transport != "":
		// No answer from FCM (it may still have accepted the message); the
		// SDK did not retry it, the queue decides.
		reason = a.transport
	case a.code == CodeUnregistered || a.code == CodeSenderIDMismatch:
		r.Outcome = channels.DropToken
	case a.code == CodeQuotaExceeded || a.code == CodeUnavailable || a.code == CodeInternal:
		r.After = after
	case a.code == CodeThirdPartyAuth:
		r.Pause = true
	case a.code == CodeInvalidArgument:
		r.Outcome = channels.Permanent
	case a.status == 0 && a.platform == "":
		// Not an answer from FCM: the context ended, or the SDK refused the
		// message before sending it (its own validation).
		switch {
		case errors.Is(err, context.Canceled):
			reason = "canceled"
		case errors.Is(err, context.DeadlineExceeded):
			reason = "deadline_exceeded"
		default:
			r.Outcome, reason = channels.Permanent, channels.ReasonInvalidPayload
		}
	case a.platform == "UNAUTHENTICATED" || a.status == http.StatusUnauthorized,
		a.platform == "PERMISSION_DENIED" || a.status == http.StatusForbidden,
		a.platform == "NOT_FOUND" || a.status == http.StatusNotFound:
		// Herald's credentials, project or endpoint are wrong, not the message.
		r.Pause = true
	case a.platform == "RESOURCE_EXHAUSTED" || a.status == http.StatusTooManyRequests,
		a.status == 0 || a.status >= 500:
		r.After = after
	default:
		r.Outcome = channels.Permanent
	}
	if reason == "" {
		reason = http.StatusText(a.status)
	}
	r.Reason = reason
	r.Err = &channels.ProviderError{Channel: channels.FCM, Status: a.status, Reason: reason, RetryAfter: after, Err: err}
	return r
}

// IsInvalidToken reports a result that would prune a token because FCM said
// it belongs to another sender (project): the predicate of the
// mass-invalidation guard (channels.Pausable). An unregistered token is
// always trusted and does not count.
func IsInvalidToken(r channels.Result) bool {
	return r.Outcome == channels.DropToken && r.Reason == CodeSenderIDMismatch
}
