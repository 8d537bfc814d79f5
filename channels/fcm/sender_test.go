package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
)

func TestSendDeliversAndRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	s := e.sender(t, e.creds(), Options{})
	msgs := messages("ok", 3)
	msgs[1].CollapseID = "promo-42"
	res := s.Send(context.Background(), msgs)
	seen := map[string]bool{}
	for i, r := range res {
		if r.Outcome != channels.Delivered || !strings.HasPrefix(r.ProviderID, "projects/"+testProject+"/messages/") {
			t.Fatalf("message %d: %+v", i, r)
		}
		if seen[r.ProviderID] {
			t.Errorf("provider id %s twice", r.ProviderID)
		}
		seen[r.ProviderID] = true
	}
	recs := e.srv.Recorder().List()
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	for _, r := range recs {
		if r.AppID != testApp || r.Channel != channels.FCM {
			t.Errorf("record %+v", r)
		}
		var p struct {
			Data    map[string]string `json:"data"`
			Android struct {
				Notification struct{ Tag string } `json:"notification"`
			} `json:"android"`
		}
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.Data[DataMessageID] != "msg-"+r.Token || p.Data[DataDispatchID] != "disp-1" {
			t.Errorf("herald ids in data %v", p.Data)
		}
		if r.Token == "ok-1" && (r.CollapseID != "promo-42" || p.Android.Notification.Tag != "promo-42" || p.Data[DataCollapseID] != "promo-42") {
			t.Errorf("collapse id: record %q, tag %q, data %v", r.CollapseID, p.Android.Notification.Tag, p.Data)
		}
	}
	// One access token serves every request (and the next batch).
	s.Send(context.Background(), messages("again", 2))
	if n := e.srv.Fake.TokensIssued(); n != 1 {
		t.Errorf("%d access tokens fetched, want 1", n)
	}
}

// Messages with distinct collapse ids carry no collapse key, and the fake
// still records Herald's collapse id (from the tag).
func TestSendUsesNoPerMessageCollapseKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	s := e.sender(t, e.creds(), Options{})
	msgs := messages("ok", 6)
	for i := range msgs {
		msgs[i].CollapseID = fmt.Sprintf("collapse-%d", i)
	}
	for i, r := range s.Send(context.Background(), msgs) {
		if r.Outcome != channels.Delivered {
			t.Fatalf("message %d: %s %v", i, r.Outcome, r.Err)
		}
	}
	recs := e.srv.Recorder().List()
	if len(recs) != len(msgs) {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs {
		var p struct {
			Data    map[string]string `json:"data"`
			Android map[string]any    `json:"android"`
		}
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			t.Fatal(err)
		}
		want := "collapse-" + strings.TrimPrefix(r.Token, "ok-")
		if _, ok := p.Android["collapse_key"]; ok || r.CollapseID != want || p.Data["herald_collapse_id"] != want {
			t.Errorf("%s: android %v, record collapse_id %q, data %v; want no collapse_key and %q", r.Token, p.Android, r.CollapseID, p.Data, want)
		}
	}
}

func TestSendTokenBehaviours(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	s := e.sender(t, e.creds(), Options{})
	tokens := []string{"unregistered-1", "baddevice-1", "throttle-1", "flaky-1", "slow-1", "ok-1"}
	var msgs []channels.Message
	for _, tok := range tokens {
		msgs = append(msgs, message(tok))
	}
	res := s.Send(context.Background(), msgs)
	want := []struct {
		outcome channels.Outcome
		reason  string
		after   time.Duration
	}{
		{channels.DropToken, CodeUnregistered, 0},
		{channels.Permanent, CodeInvalidArgument, 0},
		{channels.Retry, CodeQuotaExceeded, time.Second},
		{channels.Retry, CodeUnavailable, 0}, // the 503 is the queue's to retry, not the SDK's
		{channels.Delivered, "", 0},
		{channels.Delivered, "", 0},
	}
	for i, w := range want {
		r := res[i]
		if r.Outcome != w.outcome || r.Reason != w.reason || r.After != w.after || r.Pause {
			t.Errorf("%s: %s %q after %s pause %v (%v); want %s %q after %s",
				tokens[i], r.Outcome, r.Reason, r.After, r.Pause, r.Err, w.outcome, w.reason, w.after)
		}
	}
	var pe *channels.ProviderError
	if !errors.As(res[0].Err, &pe) || pe.Status != 404 || pe.Reason != CodeUnregistered {
		t.Errorf("unregistered Err %#v", res[0].Err)
	}
	if !errors.As(res[2].Err, &pe) || pe.RetryAfter != time.Second {
		t.Errorf("throttle Err %#v", res[2].Err)
	}
	if !errors.As(res[3].Err, &pe) || pe.Status != 503 {
		t.Errorf("flaky Err %#v", res[3].Err)
	}
	// Each token was tried once; the queue's retry of the throttled and
	// flaky ones is delivered.
	if n := e.srv.Fake.Sends(); n != len(tokens) {
		t.Errorf("%d POSTs for %d messages", n, len(tokens))
	}
	for i, r := range s.Send(context.Background(), msgs[2:4]) {
		if r.Outcome != channels.Delivered {
			t.Errorf("%s, second Send: %s %q %v", tokens[2+i], r.Outcome, r.Reason, r.Err)
		}
	}
}

func TestSendCredentialsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	// A key the fake does not trust, whose token_uri is the fake's.
	untrusted, _, _, err := fcmfake.NewServiceAccount(testProject, e.srv.TokenURL)
	if err != nil {
		t.Fatal(err)
	}
	s := e.sender(t, Credentials{ServiceAccountJSON: untrusted, Endpoint: e.srv.Endpoint}, Options{})
	res := s.Send(context.Background(), messages("ok", 4))
	for i, r := range res {
		var pe *channels.ProviderError
		if r.Outcome != channels.Retry || !r.Pause || r.Reason != "invalid_grant" || !errors.As(r.Err, &pe) || pe.Status != 400 {
			t.Errorf("message %d: %s pause %v reason %q err %v", i, r.Outcome, r.Pause, r.Reason, r.Err)
		}
	}
	if n := e.srv.Fake.Sends(); n != 0 {
		t.Errorf("%d send requests without a token", n)
	}
}

func TestSendRevokedTokenPauses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	s := e.sender(t, e.creds(), Options{})
	if r := s.Send(context.Background(), messages("ok", 1)); r[0].Outcome != channels.Delivered {
		t.Fatalf("first send: %+v", r[0])
	}
	e.srv.Fake.RevokeTokens() // the sender's cached token now gets 401
	r := s.Send(context.Background(), messages("ok", 1))[0]
	if r.Outcome != channels.Retry || !r.Pause || r.Reason != "UNAUTHENTICATED" {
		t.Errorf("after revocation: %s pause %v reason %q (%v)", r.Outcome, r.Pause, r.Reason, r.Err)
	}
}

func TestSendWrongProjectOrEndpointPauses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{Projects: map[string]string{"other": "app-2"}})
	cases := []struct {
		name   string
		creds  Credentials
		reason string
	}{
		// The key belongs to testProject: FCM refuses it for another project.
		{"other project", Credentials{ServiceAccountJSON: e.key, ProjectID: "other", Endpoint: e.srv.Endpoint}, "PERMISSION_DENIED"},
		{"unknown project", Credentials{ServiceAccountJSON: e.key, ProjectID: "nope", Endpoint: e.srv.Endpoint}, "PERMISSION_DENIED"},
		{"wrong API path", Credentials{ServiceAccountJSON: e.key, Endpoint: e.srv.URL + "/v2"}, "NOT_FOUND"},
	}
	for _, c := range cases {
		r := e.sender(t, c.creds, Options{}).Send(context.Background(), messages("ok", 1))[0]
		if r.Outcome != channels.Retry || !r.Pause || r.Reason != c.reason {
			t.Errorf("%s: %s pause %v reason %q (%v)", c.name, r.Outcome, r.Pause, r.Reason, r.Err)
		}
	}
	if n := e.srv.Recorder().Len(); n != 0 {
		t.Errorf("%d messages recorded", n)
	}
}

func TestSendUntrustedServerIsNotACredentialProblem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	// System roots do not trust the fake's CA: the token fetch fails on TLS.
	s, err := New(context.Background(), e.creds(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := s.Send(context.Background(), messages("ok", 1))[0]
	if r.Outcome != channels.Retry || r.Pause || r.Reason != "token_unavailable" {
		t.Errorf("%s pause %v reason %q (%v)", r.Outcome, r.Pause, r.Reason, r.Err)
	}
}

func TestSendReportsEachSenderIDMismatch(t *testing.T) {
	t.Parallel()
	// The mass-invalidation guard is the app's channels.Pausable (with
	// IsInvalidToken as its predicate): the sender reports every answer as
	// FCM gave it, even when most of a batch belongs to another project.
	e := newEnv(t, fcmfake.Config{Script: func(token string, _ int) (fcmfake.Answer, bool) {
		if strings.HasPrefix(token, "mismatch") {
			return fcmfake.Answer{Status: 403, Code: fcmfake.CodeSenderIDMismatch}, true
		}
		return fcmfake.Answer{}, false
	}})
	s := e.sender(t, e.creds(), Options{})

	many := append(messages("mismatch", 10), messages("unregistered", 1)...)
	many = append(many, messages("ok", 10)...)
	for i, r := range s.Send(context.Background(), many) {
		switch {
		case i < 10 && (r.Outcome != channels.DropToken || r.Pause || r.Reason != CodeSenderIDMismatch || !IsInvalidToken(r)):
			t.Errorf("mismatch %d: %s pause %v reason %q IsInvalidToken %v", i, r.Outcome, r.Pause, r.Reason, IsInvalidToken(r))
		case i == 10 && (r.Outcome != channels.DropToken || r.Reason != CodeUnregistered || IsInvalidToken(r)):
			t.Errorf("unregistered: %s reason %q IsInvalidToken %v", r.Outcome, r.Reason, IsInvalidToken(r))
		case i > 10 && r.Outcome != channels.Delivered:
			t.Errorf("ok %d: %s", i, r.Outcome)
		}
	}
}

func TestSendBigBatchInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	s := e.sender(t, e.creds(), Options{MaxInFlight: 100})
	// 1,100 messages: more than two SendEach calls; every third unregistered.
	msgs := make([]channels.Message, 1100)
	for i := range msgs {
		msgs[i] = message(fmt.Sprintf("ok-%d", i))
		if i%3 == 0 {
			msgs[i] = message(fmt.Sprintf("unregistered-%d", i))
		}
	}
	ids := map[string]bool{}
	for i, r := range s.Send(context.Background(), msgs) {
		want := channels.Delivered
		if i%3 == 0 {
			want = channels.DropToken
		}
		if r.Outcome != want {
			t.Fatalf("message %d: %s, want %s", i, r.Outcome, want)
		}
		if r.Outcome == channels.Delivered {
			ids[r.ProviderID] = true
		}
	}
	if len(ids) != 733 {
		t.Errorf("%d distinct provider ids, want 733", len(ids))
	}
}

func TestSendStaysWithinInFlightBound(t *testing.T) {
	t.Parallel()
	var cur, peak atomic.Int64
	e := newEnv(t, fcmfake.Config{Script: func(string, int) (fcmfake.Answer, bool) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(200 * time.Millisecond) // long enough for concurrency to build up under -race
		cur.Add(-1)
		return fcmfake.Answer{}, false
	}})
	for _, c := range []struct {
		maxInFlight int
		wantAbove   int64 // the budget is used, not only one SendEach call's 50
	}{{10, 0}, {60, 0}, {150, 50}} {
		peak.Store(0)
		s := e.sender(t, e.creds(), Options{MaxInFlight: c.maxInFlight})
		// Two Sends at once share the budget.
		var wg sync.WaitGroup
		wg.Go(func() { s.Send(context.Background(), messages("a", 3*c.maxInFlight)) })
		wg.Go(func() { s.Send(context.Background(), messages("b", c.maxInFlight)) })
		wg.Wait()
		if p := peak.Load(); p > int64(c.maxInFlight) || p <= c.wantAbove {
			t.Errorf("MaxInFlight %d: peak of %d concurrent requests, want ≤ %d and > %d", c.maxInFlight, p, c.maxInFlight, c.wantAbove)
		}
	}
}

func TestSendInvalidPayloadDoesNotSpoilTheBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	s := e.sender(t, e.creds(), Options{})
	msgs := messages("ok", 3)
	msgs[1] = overLimit("too-big")
	res := s.Send(context.Background(), msgs)
	if r := res[1]; r.Outcome != channels.Permanent || r.Reason != channels.ReasonInvalidPayload ||
		!strings.Contains(r.Err.Error(), "4000") {
		t.Errorf("over-limit message: %s %q %v", r.Outcome, r.Reason, r.Err)
	}
	if res[0].Outcome != channels.Delivered || res[2].Outcome != channels.Delivered {
		t.Errorf("valid messages: %s, %s", res[0].Outcome, res[2].Outcome)
	}
	if n := e.srv.Recorder().Len(); n != 2 {
		t.Errorf("%d recorded, want 2", n)
	}
}

// SendEach refuses a whole call when the SDK's validation rejects one
// message; the sender then sends one by one so the others still go.
func TestSendChunkFallsBackWhenSendEachRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	s := e.sender(t, e.creds(), Options{})
	batch := []*messaging.Message{
		{Token: "ok-a"},
		{Token: "ok-b", Android: &messaging.AndroidConfig{Notification: &messaging.AndroidNotification{Color: "red"}}},
		{Token: "ok-c"},
	}
	res := make([]channels.Result, 3)
	s.sendChunk(context.Background(), batch, []int{0, 1, 2}, res)
	if res[0].Outcome != channels.Delivered || res[2].Outcome != channels.Delivered {
		t.Errorf("valid messages: %s, %s", res[0].Outcome, res[2].Outcome)
	}
	if res[1].Outcome != channels.Permanent || res[1].Reason != channels.ReasonInvalidPayload {
		t.Errorf("invalid message: %s %q %v", res[1].Outcome, res[1].Reason, res[1].Err)
	}
}

func TestSendCancelledContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	s := e.sender(t, e.creds(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i, r := range s.Send(ctx, messages("ok", 3)) {
		if r.Outcome != channels.Retry || r.Reason != "canceled" || !errors.Is(r.Err, context.Canceled) {
			t.Errorf("message %d: %s %q %v", i, r.Outcome, r.Reason, r.Err)
		}
	}
	// Cancelled while a slow request is in flight.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := s.Send(ctx, messages("slow", 1))[0]
	if r.Outcome != channels.Retry || r.Pause {
		t.Errorf("slow message past the deadline: %s pause %v %q %v", r.Outcome, r.Pause, r.Reason, r.Err)
	}
}

func TestSendObservesEachRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	var mu sync.Mutex
	var seen []time.Duration
	s := e.sender(t, e.creds(), Options{Observe: func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, d)
	}})
	s.Send(context.Background(), append(messages("ok", 4), message("slow-1"), message("flaky-obs")))
	mu.Lock()
	defer mu.Unlock()
	// 6 messages, each once (the flaky one's 503 is not retried); the token
	// fetch is not an API call.
	if len(seen) != 6 || len(seen) != e.srv.Fake.Sends() {
		t.Fatalf("observed %d round trips, fake saw %d; want 6", len(seen), e.srv.Fake.Sends())
	}
	slowest := time.Duration(0)
	for _, d := range seen {
		slowest = max(slowest, d)
	}
	if slowest < 200*time.Millisecond {
		t.Errorf("slowest round trip %s, want ≥ 200ms (the slow token)", slowest)
	}
}
