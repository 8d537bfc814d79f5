package fcm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
	"github.com/herald-oss/herald/channels/outcometest"
)

// fcmAnswers maps each shared condition to FCM's concrete answer. OverLimit
// has none: Herald refuses the payload before sending.
func fcmAnswers() map[outcometest.Condition]fcmfake.Answer {
	return map[outcometest.Condition]fcmfake.Answer{
		outcometest.Accepted:     {Status: 200},
		outcometest.Gone:         {Status: 404, Code: CodeUnregistered, Message: "Requested entity was not found."},
		outcometest.BadToken:     {Status: 403, Code: CodeSenderIDMismatch, Message: "SenderId mismatch"},
		outcometest.Throttled:    {Status: 429, Code: CodeQuotaExceeded, RetryAfter: "7"},
		outcometest.Unavailable:  {Status: 503, Code: CodeUnavailable},
		outcometest.ServerError:  {Status: 500, Code: CodeInternal},
		outcometest.AuthRejected: {Status: 401, Message: "Request had invalid authentication credentials."},
		outcometest.TooLarge:     {Status: 400, Code: CodeInvalidArgument, Message: "Android message is too big"},
		outcometest.Malformed:    {Status: 400, Code: CodeInvalidArgument, Message: "Invalid value at 'message.android.ttl'"},
	}
}

// overLimit is a message whose payload is over MaxPayloadBytes.
func overLimit(token string) channels.Message {
	m := message(token)
	m.Object["alert"] = strings.Repeat("é", MaxPayloadBytes/2)
	return m
}

// The classifier alone: each condition's answer as the SDK error reader
// would see it.
func TestOutcomeTableClassifier(t *testing.T) {
	t.Parallel()
	answers := fcmAnswers()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range outcometest.Table() {
		t.Run(string(c.Condition), func(t *testing.T) {
			var got channels.Result
			switch ans, ok := answers[c.Condition]; {
			case c.Condition == outcometest.OverLimit:
				_, err := BuildPayload(overLimit("t"))
				if err == nil {
					t.Fatal("an over-limit payload was built")
				}
				got = payloadFailure(err)
			case !ok:
				t.Fatalf("no FCM answer for %s", c.Condition)
			case ans.Status == 200:
				got = result("projects/p/messages/1", nil, now)
			default:
				a := answer{status: ans.Status, platform: rpcStatusOf(ans.Status), code: ans.Code, retryAfter: ans.RetryAfter}
				got = classify(a, errors.New(ans.Message), now)
			}
			outcometest.Check(t, c, got)
			if c.Want.Outcome != channels.Delivered {
				var pe *channels.ProviderError
				if !errors.As(got.Err, &pe) || pe.Channel != channels.FCM {
					t.Errorf("Err %v is not an FCM *channels.ProviderError", got.Err)
				}
			}
		})
	}
}

// rpcStatusOf is the google.rpc status FCM sends with an HTTP status.
func rpcStatusOf(status int) string {
	return map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
		429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}[status]
}

// End to end: the fake answers each condition over HTTP/2, the SDK builds its
// error, the sender classifies it. Each condition takes one request: the SDK
// retries nothing (Unavailable's 503 included).
func TestOutcomeTableThroughFake(t *testing.T) {
	t.Parallel()
	answers := fcmAnswers()
	var mu sync.Mutex
	tried := map[string]int{}
	attempts := func(token string) int {
		mu.Lock()
		defer mu.Unlock()
		return tried[token]
	}
	e := newEnv(t, fcmfake.Config{Script: func(token string, attempt int) (fcmfake.Answer, bool) {
		mu.Lock()
		tried[token] = attempt
		mu.Unlock()
		cond, ok := strings.CutPrefix(token, "cond-")
		if !ok {
			return fcmfake.Answer{}, false
		}
		return answers[outcometest.Condition(cond)], true
	}})
	s := e.sender(t, e.creds(), Options{})
	for _, c := range outcometest.Table() {
		t.Run(string(c.Condition), func(t *testing.T) {
			t.Parallel()
			token := "cond-" + string(c.Condition)
			m := message(token)
			if c.Condition == outcometest.OverLimit {
				m = overLimit(token)
			}
			before := attempts(token)
			got := s.Send(context.Background(), []channels.Message{m})
			outcometest.Check(t, c, got[0])
			if n := attempts(token) - before; c.Condition != outcometest.OverLimit && n != 1 {
				t.Errorf("%d requests for one Send, want 1", n)
			}
			recorded := false
			for _, r := range e.srv.Recorder().List() {
				recorded = recorded || r.Token == token
			}
			if recorded != (c.Want.Outcome == channels.Delivered) {
				t.Errorf("recorded by the fake: %v, want %v", recorded, c.Want.Outcome == channels.Delivered)
			}
		})
	}
}
