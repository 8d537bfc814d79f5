package fcm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
)

// Answers beyond the shared table, each read through the SDK from the fake
// (so readAnswer is checked against the SDK's real errors).
func TestClassifyFCMAnswers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		answer  fcmfake.Answer
		outcome channels.Outcome
		pause   bool
		reason  string
		after   time.Duration
	}{
		{fcmfake.Answer{Status: 404, Code: CodeUnregistered}, channels.DropToken, false, CodeUnregistered, 0},
		{fcmfake.Answer{Status: 403, Code: CodeSenderIDMismatch}, channels.DropToken, false, CodeSenderIDMismatch, 0},
		{fcmfake.Answer{Status: 429, Code: CodeQuotaExceeded, RetryAfter: "30"}, channels.Retry, false, CodeQuotaExceeded, 30 * time.Second},
		{fcmfake.Answer{Status: 500, Code: CodeInternal, RetryAfter: now.Add(90 * time.Second).Format(http.TimeFormat)},
			channels.Retry, false, CodeInternal, 90 * time.Second},
		{fcmfake.Answer{Status: 401, Code: CodeThirdPartyAuth}, channels.Retry, true, CodeThirdPartyAuth, 0},
		{fcmfake.Answer{Status: 400, Code: CodeInvalidArgument}, channels.Permanent, false, CodeInvalidArgument, 0},
		{fcmfake.Answer{Status: 401}, channels.Retry, true, "UNAUTHENTICATED", 0},
		{fcmfake.Answer{Status: 403}, channels.Retry, true, "PERMISSION_DENIED", 0},
		{fcmfake.Answer{Status: 404}, channels.Retry, true, "NOT_FOUND", 0},
		{fcmfake.Answer{Status: 429, RetryAfter: "5"}, channels.Retry, false, "RESOURCE_EXHAUSTED", 5 * time.Second},
		{fcmfake.Answer{Status: 502}, channels.Retry, false, "UNKNOWN", 0},
		{fcmfake.Answer{Status: 413}, channels.Permanent, false, "UNKNOWN", 0},
		{fcmfake.Answer{Status: 400, RPCStatus: "FAILED_PRECONDITION"}, channels.Permanent, false, "FAILED_PRECONDITION", 0},
	}
	answers := map[string]fcmfake.Answer{}
	var msgs []channels.Message
	for i, c := range cases {
		tok := fmt.Sprintf("case-%d", i)
		answers[tok] = c.answer
		msgs = append(msgs, message(tok))
	}
	e := newEnv(t, fcmfake.Config{Script: func(token string, _ int) (fcmfake.Answer, bool) {
		a, ok := answers[token]
		return a, ok
	}})
	s := e.sender(t, e.creds(), Options{Now: func() time.Time { return now }})
	for i, r := range s.Send(context.Background(), msgs) {
		c := cases[i]
		if r.Outcome != c.outcome || r.Pause != c.pause || r.Reason != c.reason || r.After != c.after {
			t.Errorf("%d %s: %s pause %v reason %q after %s; want %s pause %v reason %q after %s (%v)",
				c.answer.Status, c.answer.Code, r.Outcome, r.Pause, r.Reason, r.After, c.outcome, c.pause, c.reason, c.after, r.Err)
		}
		var pe *channels.ProviderError
		if !errors.As(r.Err, &pe) || pe.Status != c.answer.Status || pe.Reason != r.Reason || pe.RetryAfter != c.after {
			t.Errorf("%d %s: Err %#v", c.answer.Status, c.answer.Code, r.Err)
		}
	}
}

// Errors that are not FCM's answers.
func TestClassifyWithoutAnswer(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cases := []struct {
		err     error
		outcome channels.Outcome
		reason  string
	}{
		{context.Canceled, channels.Retry, "canceled"},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), channels.Retry, "deadline_exceeded"},
		// The SDK's own validation refused the message before sending it.
		{errors.New("color must be in the #RRGGBB form"), channels.Permanent, channels.ReasonInvalidPayload},
	}
	for _, c := range cases {
		r := result("", c.err, now)
		if r.Outcome != c.outcome || r.Reason != c.reason || r.Pause || !errors.Is(r.Err, c.err) {
			t.Errorf("%v: %s %q pause %v err %v", c.err, r.Outcome, r.Reason, r.Pause, r.Err)
		}
		if !strings.HasPrefix(r.Err.Error(), "fcm: status 0") {
			t.Errorf("%v: Err %q", c.err, r.Err)
		}
	}
}
