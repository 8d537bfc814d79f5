package webpush

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/outcometest"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

// answer is a push service's answer to a condition of the shared table.
type answer struct {
	status int
	header http.Header
	body   string
}

// answers maps each condition to what push services really say (autopush's
// JSON, Apple's reason JSON).
func answers() map[outcometest.Condition]answer {
	return map[outcometest.Condition]answer{
		outcometest.Accepted:     {201, http.Header{"Location": {"https://updates.push.services.mozilla.com/m/gAAA"}}, ""},
		outcometest.Gone:         {410, nil, `{"code":410,"errno":103,"error":"Gone","message":"Request did not validate: expired subscription"}`},
		outcometest.BadToken:     {404, nil, `{"code":404,"errno":102,"error":"Not Found","message":"Request did not validate invalid token"}`},
		outcometest.Throttled:    {429, http.Header{"Retry-After": {"7"}}, ""},
		outcometest.Unavailable:  {503, nil, "<html>Service Unavailable</html>"},
		outcometest.ServerError:  {500, nil, ""},
		outcometest.AuthRejected: {403, nil, `{"reason":"BadJwtToken"}`},
		outcometest.TooLarge:     {413, nil, `{"code":413,"errno":104,"error":"Payload Too Large","message":"Data payload must be smaller than 4096 bytes"}`},
		outcometest.Malformed:    {400, nil, `{"code":400,"errno":111,"error":"Bad Request","message":"Missing TTL header"}`},
	}
}

func overLimit(msg channels.Message) channels.Message {
	msg.Object["alert"] = strings.Repeat("x", MaxPayloadSize)
	return msg
}

func TestOutcomeTableClassify(t *testing.T) {
	t.Parallel()
	now := time.Now()
	s, err := New(context.Background(), func() Credentials {
		pub, priv, _ := GenerateVAPIDKeys()
		return Credentials{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "ops@example.com"}
	}(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, a := testKeys(t)
	tok := `{"endpoint":"https://fcm.googleapis.com/fcm/send/x","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}`
	for _, c := range outcometest.Table() {
		t.Run(string(c.Condition), func(t *testing.T) {
			if c.Condition == outcometest.OverLimit {
				_, _, r := s.prepare(overLimit(message("m", tok)))
				if r == nil {
					t.Fatal("an over-limit payload passed")
				}
				outcometest.Check(t, c, *r)
				return
			}
			ans, ok := answers()[c.Condition]
			if !ok {
				t.Fatalf("no answer for condition %q", c.Condition)
			}
			got := Classify(ans.status, ans.header, []byte(ans.body), now)
			outcometest.Check(t, c, got)
			if c.Want.Outcome != channels.Delivered {
				if got.Err == nil || !strings.HasPrefix(got.Reason, strconv.Itoa(ans.status)+" ") {
					t.Errorf("reason %q / err %v", got.Reason, got.Err)
				}
			}
		})
	}
	// reasons carry the provider's word where it gives one
	if r := Classify(403, nil, []byte(`{"reason":"BadJwtToken"}`), now); r.Reason != "403 BadJwtToken" {
		t.Errorf("Apple reason: %q", r.Reason)
	}
	if r := Classify(410, nil, []byte(answers()[outcometest.Gone].body), now); r.Reason != "410 Gone" || !strings.Contains(r.Err.Error(), "errno 103") {
		t.Errorf("autopush answer: %q %v", r.Reason, r.Err)
	}
	// Retry-After as an HTTP date, and on a 503
	date := now.Add(90 * time.Second).UTC().Format(http.TimeFormat)
	if r := Classify(503, http.Header{"Retry-After": {date}}, nil, now); r.Outcome != channels.Retry || r.After < 89*time.Second || r.After > 90*time.Second {
		t.Errorf("503 with a date: %+v", r)
	}
	if r := Classify(401, nil, nil, now); r.Outcome != channels.Retry || !r.Pause {
		t.Errorf("401: %+v", r)
	}
	if r := Classify(202, nil, nil, now); r.Outcome != channels.Delivered {
		t.Errorf("202: %+v", r)
	}
}

// TestOutcomeTableThroughFake produces every condition with the fake: token
// behaviours, the fake's own verification (a VAPID key it does not know) and
// scripted answers.
func TestOutcomeTableThroughFake(t *testing.T) {
	t.Parallel()
	// scripted conditions, keyed by a word embedded in the subscription id
	script := map[string]answer{
		"ratelimited": answers()[outcometest.Throttled],
		"unavail":     answers()[outcometest.Unavailable],
		"servererror": answers()[outcometest.ServerError],
		"toolarge":    answers()[outcometest.TooLarge],
		"malformed":   answers()[outcometest.Malformed],
	}
	var calls atomic.Int64
	cfg := webpushfake.Config{Script: func(a webpushfake.Attempt) (webpushfake.Reply, bool) {
		calls.Add(1)
		word, _, _ := strings.Cut(a.ID, "-")
		if ans, ok := script[word]; ok {
			return webpushfake.Reply{Status: ans.status, Header: ans.header, Body: ans.body}, true
		}
		return webpushfake.Reply{}, false
	}}
	e := newEnv(t, cfg, Options{})
	stranger := newEnv(t, webpushfake.Config{}, Options{}) // a sender whose key e's fake refuses
	strangerSender, err := New(context.Background(), stranger.creds, Options{RootCAs: e.srv.Pool(), Policy: EndpointPolicy{AllowLoopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer strangerSender.Close()

	word := map[outcometest.Condition]string{
		outcometest.Accepted: "", outcometest.Gone: "unregistered", outcometest.BadToken: "baddevice",
		outcometest.Throttled: "ratelimited", outcometest.Unavailable: "unavail", outcometest.ServerError: "servererror",
		outcometest.AuthRejected: "", outcometest.TooLarge: "toolarge", outcometest.Malformed: "malformed", outcometest.OverLimit: "",
	}
	for _, c := range outcometest.Table() {
		w, ok := word[c.Condition]
		if !ok {
			t.Fatalf("no way to produce %q through the fake", c.Condition)
		}
		before, recorded := calls.Load(), e.srv.Recorder().Len()
		msg := message("m", e.subscribe(t, w))
		sender := e.sender
		switch c.Condition {
		case outcometest.AuthRejected:
			sender = strangerSender
		case outcometest.OverLimit:
			msg = overLimit(msg)
		}
		got := sender.Send(context.Background(), []channels.Message{msg})[0]
		outcometest.Check(t, c, got)
		if c.Condition == outcometest.OverLimit && calls.Load() != before {
			t.Errorf("over-limit payload reached the fake")
		}
		if wantRecord := c.Condition == outcometest.Accepted; (e.srv.Recorder().Len() > recorded) != wantRecord {
			t.Errorf("%s: recorded %v, want %v", c.Condition, e.srv.Recorder().Len() > recorded, wantRecord)
		}
	}
}
