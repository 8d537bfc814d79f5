package apns

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
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
		{channels.DropToken, ReasonInvalidTokenFormat, 0},
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
	// The guard is the app's channels.Pausable (IsInvalidToken is its
	// predicate): the sender reports each answer as APNs gave it, even when
	// most of a batch comes back invalid.
	e := newEnv(t, nil)
	s := e.sender(t, nil)
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
	for _, c := range []struct{ n, bad int }{{20, 3}, {10, 9}, {100, 3}} {
		res := s.Send(context.Background(), batch(c.n, c.bad))
		for i, r := range res {
			switch {
			case i < c.bad:
				if r.Outcome != channels.DropToken || r.Pause || r.Reason != "BadDeviceToken" || !IsInvalidToken(r) {
					t.Errorf("%d of %d invalid, token %d: %s pause %v %q (IsInvalidToken %v); want drop_token BadDeviceToken",
						c.bad, c.n, i, r.Outcome, r.Pause, r.Reason, IsInvalidToken(r))
				}
			case i == c.n-1:
				if r.Outcome != channels.DropToken || r.Reason != "Unregistered" || r.Pause || IsInvalidToken(r) {
					t.Errorf("unregistered: %s pause %v %q (IsInvalidToken %v)", r.Outcome, r.Pause, r.Reason, IsInvalidToken(r))
				}
			default:
				if r.Outcome != channels.Delivered {
					t.Errorf("%d of %d invalid, message %d: %s %q", c.bad, c.n, i, r.Outcome, r.Reason)
				}
			}
		}
	}
}

func TestMalformedTokensRefusedLocally(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := e.sender(t, nil)
	tokens := []string{"", "tok/../x", "tok en", "tok%2F", strings.Repeat("a", 201)}
	msgs := make([]channels.Message, 0, len(tokens)+1)
	for i, tok := range tokens {
		msgs = append(msgs, message(fmt.Sprint("m", i), tok, alert("x")))
	}
	msgs = append(msgs, message("ok", "tok-ok", alert("x")))
	res := s.Send(context.Background(), msgs)
	for i, r := range res[:len(tokens)] {
		var pe *channels.ProviderError
		if r.Outcome != channels.DropToken || r.Reason != ReasonInvalidTokenFormat || r.Pause ||
			!errors.As(r.Err, &pe) || pe.Reason != ReasonInvalidTokenFormat {
			t.Errorf("token %q: %s %q pause %v (%v); want drop_token %s", tokens[i], r.Outcome, r.Reason, r.Pause, r.Err, ReasonInvalidTokenFormat)
		}
		if IsInvalidToken(r) {
			t.Errorf("token %q: a token Herald refused counts as invalid for the mass-invalidation guard", tokens[i])
		}
	}
	if r := res[len(tokens)]; r.Outcome != channels.Delivered {
		t.Errorf("the well-formed token: %s %q", r.Outcome, r.Reason)
	}
	if n := e.srv.Fake.Requests(); n != 1 {
		t.Errorf("%d requests reached the fake, want 1 (malformed tokens are never sent)", n)
	}
	// APNs' own verdicts are the guard's business.
	for _, reason := range []string{"BadDeviceToken", "DeviceTokenNotForTopic"} {
		if r := Classify(Answer{Status: 400, Reason: reason}, time.Now()); !IsInvalidToken(r) {
			t.Errorf("400 %s: IsInvalidToken false", reason)
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

// clientReadLoops counts the read loops of HTTP/2 client connections in the
// process: one per open connection.
func clientReadLoops() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "http2.(*ClientConn).readLoop(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestCloseMidRequestLeavesNoConnection(t *testing.T) {
	// Not parallel: it counts the HTTP/2 client read loops of the whole
	// process, which no other test's connections share while it runs.
	e := newEnv(t, nil)
	before := clientReadLoops()
	s := e.sender(t, nil)
	tr := s.client.HTTPClient.Transport.(tapTransport).base
	if tr.IdleConnTimeout != idleConnTimeout {
		t.Errorf("the transport's IdleConnTimeout is %s, want %s (a backstop against a connection kept alive by PINGs)", tr.IdleConnTimeout, idleConnTimeout)
	}

	sent := make(chan channels.Result, 1)
	go func() {
		sent <- s.Send(context.Background(), []channels.Message{message("slow", "tok-slow", alert("x"))})[0] // 200 ms at the fake
	}()
	for deadline := time.Now().Add(5 * time.Second); e.srv.Fake.Requests() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the fake")
		}
	}
	if n := clientReadLoops(); n <= before || s.conns.count() != 1 {
		t.Fatalf("the scenario did not happen: %d read loops (%d before), %d connections open", n, before, s.conns.count())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-sent:
		if r.Outcome != channels.Delivered {
			t.Errorf("the send running at Close: %s %q (%v), want delivered", r.Outcome, r.Reason, r.Err)
		}
	case <-time.After(50 * time.Millisecond):
		t.Error("Close returned before the send running at Close finished")
		<-sent
	}
	deadline := time.Now().Add(time.Second)
	for clientReadLoops() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := s.conns.count(); n != 0 {
		t.Errorf("%d connections still open after Close", n)
	}
	if n := clientReadLoops(); n > before {
		t.Errorf("%d HTTP/2 client read loops left running after Close (%d before the sender)", n-before, before)
	}

	requests := e.srv.Fake.Requests()
	for _, r := range s.Send(context.Background(), []channels.Message{message("a", "tok-a", alert("x")), message("b", "tok-b", alert("x"))}) {
		if r.Outcome != channels.Retry || r.Reason != ReasonSenderClosed {
			t.Errorf("after Close: %s %q, want retry %s", r.Outcome, r.Reason, ReasonSenderClosed)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if n := e.srv.Fake.Requests() - requests; n != 0 || s.conns.count() != 0 {
		t.Errorf("%d requests and %d connections after Close", n, s.conns.count())
	}
}

func TestNoSecretInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	otherKey := p8(t, newP256(t))
	c := newClock()
	good := e.sender(t, func(_ *Credentials, o *Options) { o.Logger = logger; o.Now = c.Now })
	bad := e.sender(t, func(c *Credentials, o *Options) { c.KeyP8 = otherKey; o.Logger = logger })
	longToken := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	msgs := []channels.Message{message("a", longToken, alert("x"))}
	for i := range 4 {
		msgs = append(msgs, message(fmt.Sprint(i), fmt.Sprintf("%s-baddevice-%d", longToken, i), alert("x")))
	}
	var text strings.Builder
	results := append(bad.Send(context.Background(), msgs[:1]), good.Send(context.Background(), msgs)...)
	// A re-signing that fails is logged (the previous token stays in use).
	c.Add(TokenRefresh + time.Minute)
	good.tok.Lock()
	good.tok.AuthKey = nil
	good.tok.Unlock()
	results = append(results, good.Send(context.Background(), msgs[:1])...)
	if results[0].Reason != "InvalidProviderToken" || results[2].Reason != "BadDeviceToken" || results[6].Outcome != channels.Delivered {
		t.Fatalf("the scenario did not happen: %q, %q, %s", results[0].Reason, results[2].Reason, results[6].Outcome)
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

func TestCloseDuringConcurrentSends(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := e.sender(t, func(_ *Credentials, o *Options) { o.MaxInFlight = 4 })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 5 {
				msgs := []channels.Message{message("a", fmt.Sprintf("tok-%d-a", g), alert("x")), message("b", fmt.Sprintf("tok-%d-b", g), alert("x"))}
				for _, r := range s.Send(context.Background(), msgs) {
					if r.Outcome != channels.Delivered && r.Reason != ReasonSenderClosed {
						t.Errorf("%s %q (%v)", r.Outcome, r.Reason, r.Err)
					}
				}
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	var closers sync.WaitGroup
	for range 3 {
		closers.Go(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
			if n := s.conns.count(); n != 0 {
				t.Errorf("%d connections open after Close returned", n)
			}
		})
	}
	closers.Wait()
	wg.Wait()
	if r := s.Send(context.Background(), []channels.Message{message("c", "tok-c", alert("x"))})[0]; r.Reason != ReasonSenderClosed {
		t.Errorf("after Close: %s %q", r.Outcome, r.Reason)
	}
}
