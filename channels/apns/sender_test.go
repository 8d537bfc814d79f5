package apns

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/apns/apnsfake"
	"github.com/herald-oss/herald/channels/fake"
)

func TestSendDeliversAndRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := e.sender(t, nil)
	msgs := []channels.Message{
		message("m1", "aaaa1111", alert("one")),
		message("m2", "bbbb2222", map[string]any{"content-available": true}),
		message("m3", "cccc3333", map[string]any{"alert": "call", "push_type": "voip", "collapse_id": "braze-c"}),
	}
	msgs[0].CollapseID = "ledger-c1"
	results := s.Send(context.Background(), msgs)
	byToken := map[string]fake.Record{}
	for _, r := range e.srv.Recorder().List() {
		byToken[r.Token] = r
	}
	want := []struct {
		topic, pushType, priority, collapse string
	}{
		{testTopic, "alert", "", "ledger-c1"},
		{testTopic, "background", "5", ""},
		{testTopic + ".voip", "voip", "", "braze-c"},
	}
	for i, m := range msgs {
		r := results[i]
		rec, ok := byToken[m.Token]
		if r.Outcome != channels.Delivered || !ok {
			t.Fatalf("%s: %s %q %v (recorded %v)", m.ID, r.Outcome, r.Reason, r.Err, ok)
		}
		if r.ProviderID == "" || rec.Headers["apns-id"] != r.ProviderID {
			t.Errorf("%s: ProviderID %q, recorded apns-id %q", m.ID, r.ProviderID, rec.Headers["apns-id"])
		}
		w := want[i]
		if rec.Headers["apns-topic"] != w.topic || rec.Headers["apns-push-type"] != w.pushType ||
			rec.Headers["apns-priority"] != w.priority || rec.CollapseID != w.collapse || rec.AppID != testApp {
			t.Errorf("%s: recorded %+v, want %+v", m.ID, rec, w)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Payload, &body); err != nil || body[KeyMessageID] != m.ID || body[KeyDispatchID] != "d1" {
			t.Errorf("%s: payload %s (%v)", m.ID, rec.Payload, err)
		}
	}
}

func TestSendMixedBatchInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := e.sender(t, nil)
	msgs := []channels.Message{
		message("ok1", "tok-ok1", alert("a")),
		message("gone", "tok-unregistered", alert("a")),
		message("thr", "tok-throttle", alert("a")),
		message("flaky", "tok-flaky", alert("a")),
		message("bad", "tok-ok2", map[string]any{"alert": "a", "extra": map[string]any{"aps": 1}}),
		message("path", "tok/../x", alert("a")),
		message("ok2", "tok-slow-ok3", alert("a")),
	}
	got := s.Send(context.Background(), msgs)
	want := []struct {
		out    channels.Outcome
		reason string
		after  time.Duration
	}{
		{channels.Delivered, "", 0},
		{channels.DropToken, "Unregistered", 0},
		{channels.Retry, "TooManyRequests", time.Second},
		{channels.Retry, "ServiceUnavailable", 0},
		{channels.Permanent, channels.ReasonInvalidPayload, 0},
		{channels.DropToken, "BadDeviceToken", 0},
		{channels.Delivered, "", 0},
	}
	for i, w := range want {
		if got[i].Outcome != w.out || got[i].Reason != w.reason || got[i].After != w.after || got[i].Pause {
			t.Errorf("%s: got %s %q after %s pause %v (%v); want %s %q after %s",
				msgs[i].ID, got[i].Outcome, got[i].Reason, got[i].After, got[i].Pause, got[i].Err, w.out, w.reason, w.after)
		}
	}
	if n := e.srv.Fake.Requests(); n != 5 {
		t.Errorf("%d requests reached the fake, want 5 (the bad payload and the bad token are never sent)", n)
	}
	// The next attempt of throttle and flaky succeeds: the sender holds no state.
	again := s.Send(context.Background(), []channels.Message{msgs[2], msgs[3]})
	for _, r := range again {
		if r.Outcome != channels.Delivered {
			t.Errorf("second attempt: %s %q", r.Outcome, r.Reason)
		}
	}
}

func TestMassInvalidationGuard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var logs bytes.Buffer
	s := e.sender(t, func(_ *Credentials, o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	batch := func(n, bad int) []channels.Message {
		msgs := make([]channels.Message, n)
		for i := range msgs {
			msgs[i] = message(fmt.Sprint("m", i), fmt.Sprintf("tok%03d", i), alert("x"))
			if i < bad {
				msgs[i].Token += "-baddevice"
			}
		}
		msgs[n-1].Token = "tok-last-unregistered"
		return msgs
	}
	// 3 of 20 invalid: a wrong environment, not dead devices.
	res := s.Send(context.Background(), batch(20, 3))
	for i, r := range res {
		switch {
		case i < 3:
			if r.Outcome != channels.Retry || !r.Pause || r.Reason != "BadDeviceToken" {
				t.Errorf("invalid token %d: %s pause %v %q", i, r.Outcome, r.Pause, r.Reason)
			}
		case i == 19:
			if r.Outcome != channels.DropToken || r.Reason != "Unregistered" {
				t.Errorf("an unregistered token is always pruned: %s %q", r.Outcome, r.Reason)
			}
		default:
			if r.Outcome != channels.Delivered {
				t.Errorf("message %d: %s", i, r.Outcome)
			}
		}
	}
	if !strings.Contains(logs.String(), "invalid") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	// 3 of 100 (3 %) invalid: those tokens are pruned.
	res = s.Send(context.Background(), batch(100, 3))
	for i := range 3 {
		if res[i].Outcome != channels.DropToken || res[i].Pause {
			t.Errorf("3 %% invalid, token %d: %s pause %v", i, res[i].Outcome, res[i].Pause)
		}
	}
}

func TestCredentialErrorsPause(t *testing.T) {
	t.Parallel()
	late := newClock()
	late.Add(61 * time.Minute) // this fake's clock makes every token Herald signs now an hour old
	old := newEnv(t, func(cfg *apnsfake.Config) { cfg.Now = late.Now })
	now := newEnv(t, nil)
	cases := []struct {
		name   string
		e      *env
		mod    func(*Credentials, *Options)
		reason string
	}{
		{"expired token", old, nil, "ExpiredProviderToken"},
		{"unknown key id", now, func(c *Credentials, _ *Options) { c.KeyID = "OTHERKEY00" }, "InvalidProviderToken"},
		{"wrong team", now, func(c *Credentials, _ *Options) { c.TeamID = "OTHERTEAM0" }, "InvalidProviderToken"},
		{"unknown topic", now, func(c *Credentials, _ *Options) { c.Topic = "com.other.app" }, "TopicDisallowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.e.sender(t, tc.mod)
			r := s.Send(context.Background(), []channels.Message{message("m", "abcd", alert("x"))})[0]
			if r.Outcome != channels.Retry || !r.Pause || r.Reason != tc.reason {
				t.Errorf("got %s pause %v %q, want retry with pause, %s", r.Outcome, r.Pause, r.Reason, tc.reason)
			}
		})
	}
}

func TestTokenSharedAndRefreshed(t *testing.T) {
	t.Parallel()
	c := newClock()
	e := newEnv(t, func(cfg *apnsfake.Config) { cfg.Now = c.Now; cfg.TokenUpdateInterval = 20 * time.Minute })
	s := e.sender(t, func(_ *Credentials, o *Options) { o.Now = c.Now })
	bearer := func() string { s.tok.Lock(); defer s.tok.Unlock(); return s.tok.Bearer }
	msgs := make([]channels.Message, 50)
	for i := range msgs {
		msgs[i] = message(fmt.Sprint(i), fmt.Sprintf("tok%02d", i), alert("x"))
	}
	first := bearer()
	for _, r := range s.Send(context.Background(), msgs) {
		if r.Outcome != channels.Delivered {
			t.Fatalf("50 concurrent sends share one token: %s %q", r.Outcome, r.Reason)
		}
	}
	c.Add(39 * time.Minute)
	s.Send(context.Background(), msgs[:1])
	if bearer() != first {
		t.Error("the token was re-signed before TokenRefresh")
	}
	c.Add(2 * time.Minute)
	if r := s.Send(context.Background(), msgs[:5]); r[0].Outcome != channels.Delivered || r[4].Outcome != channels.Delivered {
		t.Errorf("after 41 minutes: %s %q", r[0].Outcome, r[0].Reason)
	}
	if bearer() == first {
		t.Error("the token was not re-signed after 41 minutes")
	}
}

func TestMaxInFlight(t *testing.T) {
	t.Parallel()
	key := newP256(t)
	f := apnsfake.New(apnsfake.Config{Keys: map[string]*ecdsa.PublicKey{testKID: &key.PublicKey}, TeamID: testTeam,
		Topics: map[string]string{testTopic: testApp}})
	var cur, peak atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		f.ServeHTTP(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	s, err := New(context.Background(), Credentials{KeyP8: p8(t, key), KeyID: testKID, TeamID: testTeam, Topic: testTopic, Host: srv.URL},
		Options{RootCAs: pool, MaxInFlight: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	msgs := make([]channels.Message, 9)
	for i := range msgs {
		msgs[i] = message(fmt.Sprint(i), fmt.Sprintf("tok%d-slow", i), alert("x"))
	}
	// Two batches at once share the bound.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for _, r := range s.Send(context.Background(), msgs) {
				if r.Outcome != channels.Delivered {
					t.Errorf("%s %q", r.Outcome, r.Reason)
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 3 {
		t.Errorf("peak of %d requests in flight, want 3", p)
	}
}

func TestTimeoutObserveCancelClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	short := e.sender(t, func(_ *Credentials, o *Options) { o.Timeout = 50 * time.Millisecond }) // the slow token takes 200 ms
	r := short.Send(context.Background(), []channels.Message{message("slow", "tok-slow", alert("x"))})[0]
	if r.Outcome != channels.Retry || r.Reason != ReasonTimeout || r.Pause {
		t.Errorf("slow: %s %q pause %v", r.Outcome, r.Reason, r.Pause)
	}

	var observed atomic.Int64
	s := e.sender(t, func(_ *Credentials, o *Options) {
		o.Observe = func(d time.Duration) {
			if d > 0 {
				observed.Add(1)
			}
		}
	})
	res := s.Send(context.Background(), []channels.Message{
		message("ok1", "tok-ok1", alert("x")),
		message("ok2", "tok-ok2", alert("x")),
		message("bad", "tok-bad", map[string]any{}),
	})
	if res[0].Outcome != channels.Delivered || res[1].Outcome != channels.Delivered || res[2].Outcome != channels.Permanent {
		t.Errorf("ok: %s %q, bad: %s", res[0].Outcome, res[0].Reason, res[2].Outcome)
	}
	if n := observed.Load(); n != 2 {
		t.Errorf("Observe called %d times, want 2 (round trips only)", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := e.srv.Fake.Requests()
	for _, r := range s.Send(ctx, []channels.Message{message("a", "tok-a", alert("x")), message("b", "tok-b", alert("x"))}) {
		if r.Outcome != channels.Retry || r.Reason != ReasonCanceled {
			t.Errorf("canceled: %s %q", r.Outcome, r.Reason)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if r := s.Send(context.Background(), []channels.Message{message("c", "tok-c", alert("x"))})[0]; r.Outcome != channels.Retry || r.Reason != ReasonSenderClosed {
		t.Errorf("after Close: %s %q", r.Outcome, r.Reason)
	}
	if n := e.srv.Fake.Requests() - before; n != 0 {
		t.Errorf("%d requests after cancel and close", n)
	}
}

func TestNoSecretInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	otherKey := p8(t, newP256(t))
	good := e.sender(t, func(_ *Credentials, o *Options) { o.Logger = logger })
	bad := e.sender(t, func(c *Credentials, o *Options) { c.KeyP8 = otherKey; o.Logger = logger })
	longToken := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	msgs := []channels.Message{message("a", longToken, alert("x"))}
	for i := range 4 {
		msgs = append(msgs, message(fmt.Sprint(i), fmt.Sprintf("%s-baddevice-%d", longToken, i), alert("x")))
	}
	var text strings.Builder
	results := append(bad.Send(context.Background(), msgs[:1]), good.Send(context.Background(), msgs)...)
	if results[0].Reason != "InvalidProviderToken" || !results[2].Pause {
		t.Fatalf("the scenario did not happen: %q, pause %v", results[0].Reason, results[2].Pause)
	}
	for _, r := range results {
		fmt.Fprintf(&text, "%v %s\n", r.Err, r.Reason)
	}
	_, err := New(context.Background(), Credentials{KeyP8: otherKey[:len(otherKey)-40] + "-----END PRIVATE KEY-----\n",
		KeyID: testKID, TeamID: testTeam, Topic: testTopic}, Options{})
	if err == nil {
		t.Fatal("a truncated key was accepted")
	}
	text.WriteString(err.Error())
	text.WriteString(logs.String())
	if logs.Len() == 0 {
		t.Error("nothing was logged: the check is void")
	}
	keyBody := strings.Split(otherKey, "\n")[1]
	for _, secret := range []string{keyBody, bad.tok.Bearer, good.tok.Bearer, "bearer"} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("a secret (%.12s…) leaked into errors or logs:\n%s", secret, text.String())
		}
	}
	if strings.Contains(text.String(), longToken) {
		t.Errorf("a whole device token is in errors or logs")
	}
}
