package apns

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/apns/apnsfake"
	"github.com/herald-oss/herald/channels/outcometest"
)

// apnsAnswers is APNs' concrete answer to each condition of the shared table
// (OverLimit is Herald's own check: no answer).
func apnsAnswers() map[outcometest.Condition]Answer {
	return map[outcometest.Condition]Answer{
		outcometest.Accepted:     {Status: 200, ApnsID: "3B8E3BDE-2F4E-4C79-A57B-6A7B3C2A8E51"},
		outcometest.Gone:         {Status: 410, Reason: "Unregistered", Timestamp: time.UnixMilli(1700000000000)},
		outcometest.BadToken:     {Status: 400, Reason: "BadDeviceToken"},
		outcometest.Throttled:    {Status: 429, Reason: "TooManyRequests", RetryAfter: "7"},
		outcometest.Unavailable:  {Status: 503, Reason: "ServiceUnavailable"},
		outcometest.ServerError:  {Status: 500, Reason: "InternalServerError"},
		outcometest.AuthRejected: {Status: 403, Reason: "InvalidProviderToken"},
		outcometest.TooLarge:     {Status: 413, Reason: "PayloadTooLarge"},
		outcometest.Malformed:    {Status: 400, Reason: "BadExpirationDate"},
	}
}

// oversized is an apple_push object whose payload is over APNs' limit.
func oversized() map[string]any {
	return map[string]any{"alert": strings.Repeat("x", MaxPayloadSize)}
}

func TestOutcomeTableClassifier(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, c := range outcometest.Table() {
		t.Run(string(c.Condition), func(t *testing.T) {
			t.Parallel()
			var got channels.Result
			if c.Condition == outcometest.OverLimit {
				s := &Sender{topic: testTopic}
				n, res, ok := s.prepare(message("m1", "abc", oversized()), now)
				if ok || n != nil {
					t.Fatal("an oversized payload was prepared for sending")
				}
				got = res
			} else {
				a, ok := apnsAnswers()[c.Condition]
				if !ok {
					t.Fatalf("no APNs answer for %s", c.Condition)
				}
				got = Classify(a, now)
				checkProviderError(t, got)
			}
			outcometest.Check(t, c, got)
		})
	}
}

// checkProviderError checks a failure's Err is a *channels.ProviderError of apns.
func checkProviderError(t *testing.T, r channels.Result) {
	t.Helper()
	if r.Outcome == channels.Delivered {
		if r.Err != nil {
			t.Errorf("a delivery with an error: %v", r.Err)
		}
		return
	}
	var pe *channels.ProviderError
	if !errors.As(r.Err, &pe) || pe.Channel != channels.APNs || pe.Reason != r.Reason {
		t.Errorf("Err %#v is not the apns ProviderError of reason %q", r.Err, r.Reason)
	}
}

func TestOutcomeTableThroughFake(t *testing.T) {
	t.Parallel()
	// The fake answers scripted tokens ("cond-<condition>") with the table's
	// answer; the rest of the table comes from the fake's own checks and
	// token behaviours.
	e := newEnv(t, func(c *apnsfake.Config) {
		c.Script = func(token string) (int, string, string, bool) {
			cond, ok := strings.CutPrefix(token, "cond-")
			if !ok {
				return 0, "", "", false
			}
			a := apnsAnswers()[outcometest.Condition(cond)]
			return a.Status, a.Reason, a.RetryAfter, true
		}
	})
	good := e.sender(t, nil)
	stranger := e.sender(t, func(c *Credentials, _ *Options) { c.KeyP8 = p8(t, newP256(t)) }) // same kid, other key

	for _, c := range outcometest.Table() {
		t.Run(string(c.Condition), func(t *testing.T) {
			s, m := good, message("m-"+string(c.Condition), "cond-"+string(c.Condition), alert("hi"))
			switch c.Condition {
			case outcometest.Accepted:
				m.Token = "0123abcd"
			case outcometest.Gone:
				m.Token = "tok-unregistered" // the fake's behaviour: 410 Unregistered
			case outcometest.BadToken:
				m.Token = "tok-baddevice" // 400 BadDeviceToken
			case outcometest.AuthRejected:
				s, m.Token = stranger, "0123abcd" // the fake refuses the JWT's signature
			case outcometest.OverLimit:
				m.Object = oversized()
			}
			before := e.srv.Fake.Requests()
			got := s.Send(context.Background(), []channels.Message{m})[0]
			outcometest.Check(t, c, got)
			if c.Condition != outcometest.OverLimit { // Herald's own refusal carries the builder's error
				checkProviderError(t, got)
			} else if !errors.Is(got.Err, ErrInvalidPayload) {
				t.Errorf("over the limit: Err %v", got.Err)
			}
			sent := e.srv.Fake.Requests() - before
			if c.Condition == outcometest.OverLimit && sent != 0 {
				t.Errorf("an oversized payload reached APNs (%d requests)", sent)
			}
			if c.Condition != outcometest.OverLimit && sent != 1 {
				t.Errorf("%d requests, want 1 (no retry inside the sender)", sent)
			}
			if c.Condition == outcometest.AuthRejected && got.Reason != "InvalidProviderToken" {
				t.Errorf("auth rejected: reason %q", got.Reason)
			}
			if c.Condition == outcometest.Accepted {
				recs := e.srv.Recorder().List()
				if len(recs) == 0 || got.ProviderID == "" || recs[len(recs)-1].Headers["apns-id"] != got.ProviderID {
					t.Errorf("ProviderID %q is not the recorded apns-id", got.ProviderID)
				}
			}
		})
	}
}

func TestClassifyMore(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		a     Answer
		out   channels.Outcome
		after time.Duration
		pause bool
	}{
		{Answer{Status: 410, Reason: "ExpiredToken"}, channels.DropToken, 0, false},
		{Answer{Status: 400, Reason: "DeviceTokenNotForTopic"}, channels.DropToken, 0, false},
		{Answer{Status: 403, Reason: "ExpiredProviderToken"}, channels.Retry, 0, true},
		{Answer{Status: 403, Reason: "BadCertificate"}, channels.Retry, 0, true},
		{Answer{Status: 403, Reason: "BadCertificateEnvironment"}, channels.Retry, 0, true},
		{Answer{Status: 403, Reason: "MissingProviderToken"}, channels.Retry, 0, true},
		{Answer{Status: 400, Reason: "TopicDisallowed"}, channels.Retry, 0, true},
		{Answer{Status: 400, Reason: "BadTopic"}, channels.Retry, 0, true},
		{Answer{Status: 429, Reason: "TooManyProviderTokenUpdates"}, channels.Retry, 0, false},
		{Answer{Status: 429, Reason: "TooManyRequests", RetryAfter: now.Add(30 * time.Second).Format(http.TimeFormat)}, channels.Retry, 30 * time.Second, false},
		{Answer{Status: 503, Reason: "Shutdown", RetryAfter: "2"}, channels.Retry, 2 * time.Second, false},
		{Answer{Status: 502}, channels.Retry, 0, false},
		{Answer{Status: 405, Reason: "MethodNotAllowed"}, channels.Permanent, 0, false},
		{Answer{Status: 404, Reason: "BadPath"}, channels.Permanent, 0, false},
		{Answer{Status: 400, Reason: "BadCollapseId"}, channels.Permanent, 0, false},
		{Answer{Status: 400}, channels.Permanent, 0, false},
	}
	for _, c := range cases {
		r := Classify(c.a, now)
		if r.Outcome != c.out || r.After != c.after || r.Pause != c.pause || r.Reason == "" {
			t.Errorf("%d %s: got %s after %s pause %v reason %q; want %s after %s pause %v",
				c.a.Status, c.a.Reason, r.Outcome, r.After, r.Pause, r.Reason, c.out, c.after, c.pause)
		}
	}
	if r := Classify(Answer{Status: 410, Reason: "Unregistered", Timestamp: time.UnixMilli(1700000000000)}, now); !strings.Contains(r.Err.Error(), "2023-11-14") {
		t.Errorf("the 410 timestamp is not in the error: %v", r.Err)
	}
}

func TestClassifyError(t *testing.T) {
	t.Parallel()
	token := "0123456789abcdef0123456789abcdef"
	cases := []struct {
		err    error
		reason string
		pause  bool
	}{
		{context.DeadlineExceeded, ReasonTimeout, false},
		{context.Canceled, ReasonCanceled, false},
		{errors.New("write: broken pipe"), ReasonTransportError, false},
		{errors.New(`http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug="{\"reason\":\"BadCertificateEnvironment\"}"`), "BadCertificateEnvironment", true},
		{&url.Error{Op: "Post", URL: "https://api.push.apple.com/3/device/" + token, Err: context.DeadlineExceeded}, ReasonTimeout, false},
	}
	for _, c := range cases {
		r := ClassifyError(c.err, token)
		if r.Outcome != channels.Retry || r.Reason != c.reason || r.Pause != c.pause {
			t.Errorf("%v: got %s %q pause %v; want retry %q pause %v", c.err, r.Outcome, r.Reason, r.Pause, c.reason, c.pause)
		}
		if strings.Contains(r.Err.Error(), token) {
			t.Errorf("the whole device token is in the error: %v", r.Err)
		}
	}
}
