package webpush

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

func TestSendDeliversWhatTheBrowserCanRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webpushfake.Config{}, Options{})
	tok := e.subscribe(t, "")
	msg := message("m1", tok)
	msg.Object["time_to_live"] = float64(3600)
	msg.Object["extra"] = map[string]any{"k": "v"}
	res := e.sender.Send(context.Background(), []channels.Message{msg})
	if len(res) != 1 || res[0].Outcome != channels.Delivered || res[0].Err != nil {
		t.Fatalf("result %+v", res)
	}
	if !strings.HasPrefix(res[0].ProviderID, e.srv.URL+"/m/") {
		t.Errorf("ProviderID %q, want the Location", res[0].ProviderID)
	}
	recs := e.srv.Recorder().List()
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	want, _ := BuildPayload(msg)
	var got, exp map[string]any
	_ = json.Unmarshal(r.Payload, &got)
	_ = json.Unmarshal(want.Payload, &exp)
	if string(r.Payload) != string(want.Payload) {
		t.Errorf("decrypted payload\n got %s\nwant %s", r.Payload, want.Payload)
	}
	if got["herald_message_id"] != "m1" || got["herald_dispatch_id"] != "dispatch-1" || got["tag"] != "collapse-m1" {
		t.Errorf("ids in payload: %v", got)
	}
	if r.AppID != "app-1" || r.Token != subscriptionID(t, tok) || r.CollapseID != Topic("collapse-m1") {
		t.Errorf("record %+v", r)
	}
	for h, v := range map[string]string{"TTL": "3600", "Urgency": "normal", "Topic": Topic("collapse-m1"), "Content-Encoding": "aes128gcm"} {
		if r.Headers[h] != v {
			t.Errorf("header %s = %q, want %q", h, r.Headers[h], v)
		}
	}
}

func TestSendSameCollapseIDSameTopic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webpushfake.Config{}, Options{})
	tok := e.subscribe(t, "")
	a, b := message("m1", tok), message("m2", tok)
	b.CollapseID = a.CollapseID
	for _, r := range e.sender.Send(context.Background(), []channels.Message{a, b}) {
		if r.Outcome != channels.Delivered {
			t.Fatalf("%+v", r)
		}
	}
	recs := e.srv.Recorder().List()
	if len(recs) != 2 || recs[0].CollapseID != recs[1].CollapseID || recs[0].CollapseID == "" {
		t.Fatalf("topics %q, %q: want the same", recs[0].CollapseID, recs[1].CollapseID)
	}
}

func TestSendBatchInOrderWithTokenBehaviours(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webpushfake.Config{}, Options{MaxInFlight: 4})
	toks := []string{
		e.subscribe(t, ""), e.subscribe(t, "unregistered"), e.subscribe(t, "baddevice"),
		e.subscribe(t, "throttle"), e.subscribe(t, "flaky"), `{"endpoint":"nope"}`, e.subscribe(t, "slow"),
	}
	var msgs []channels.Message
	for i, tok := range toks {
		msgs = append(msgs, message(string(rune('a'+i)), tok))
	}
	want := []struct {
		outcome channels.Outcome
		after   time.Duration
		reason  string
	}{
		{channels.Delivered, 0, ""},
		{channels.DropToken, 0, "410 Gone"},
		{channels.DropToken, 0, "404 Not Found"},
		{channels.Retry, time.Second, "429 Too Many Requests"},
		{channels.Retry, 0, "503 Service Unavailable"},
		{channels.DropToken, 0, ReasonInvalidSubscription},
		{channels.Delivered, 0, ""},
	}
	res := e.sender.Send(context.Background(), msgs)
	for i, w := range want {
		if res[i].Outcome != w.outcome || res[i].After != w.after || res[i].Reason != w.reason {
			t.Errorf("message %d: %s after %s reason %q (%v); want %s after %s reason %q",
				i, res[i].Outcome, res[i].After, res[i].Reason, res[i].Err, w.outcome, w.after, w.reason)
		}
	}
	var pe *channels.ProviderError
	if !errors.As(res[1].Err, &pe) || pe.Status != 410 || pe.Channel != "webpush" {
		t.Errorf("410: err %v, want a ProviderError", res[1].Err)
	}
	// the queue retries: throttle and flaky succeed the second time
	res = e.sender.Send(context.Background(), []channels.Message{msgs[3], msgs[4]})
	for i, r := range res {
		if r.Outcome != channels.Delivered {
			t.Errorf("retry %d: %+v", i, r)
		}
	}
}

func TestSendRefusedEndpointIsNeverContacted(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	script := func(webpushfake.Attempt) (webpushfake.Reply, bool) { calls.Add(1); return webpushfake.Reply{}, false }
	// production policy: the loopback fake is not a push service
	e := newEnv(t, webpushfake.Config{Script: script}, Options{Policy: DefaultPolicy()})
	res := e.sender.Send(context.Background(), []channels.Message{message("m", e.subscribe(t, ""))})
	if res[0].Outcome != channels.Permanent || res[0].Reason != ReasonEndpointNotAllowed || !errors.Is(res[0].Err, ErrEndpointNotAllowed) {
		t.Fatalf("result %+v", res[0])
	}
	// a custom list without the fake, loopback off
	e2 := newEnv(t, webpushfake.Config{Script: script}, Options{Policy: EndpointPolicy{AllowedHosts: []string{"push.example.com"}}})
	res = e2.sender.Send(context.Background(), []channels.Message{message("m", e2.subscribe(t, ""))})
	if res[0].Outcome != channels.Permanent || res[0].Reason != ReasonEndpointNotAllowed {
		t.Fatalf("result %+v", res[0])
	}
	if calls.Load() != 0 || e.srv.Recorder().Len()+e2.srv.Recorder().Len() != 0 {
		t.Fatalf("the fake was contacted %d times", calls.Load())
	}
}

func TestSendFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	var e *env
	e = newEnv(t, webpushfake.Config{Script: func(a webpushfake.Attempt) (webpushfake.Reply, bool) {
		calls.Add(1)
		return webpushfake.Reply{Status: http.StatusTemporaryRedirect, Header: http.Header{"Location": {e.srv.URL + "/push/elsewhere"}}}, true
	}}, Options{})
	res := e.sender.Send(context.Background(), []channels.Message{message("m", e.subscribe(t, ""))})
	if res[0].Outcome != channels.Permanent || res[0].Reason != "307 Temporary Redirect" {
		t.Fatalf("result %+v", res[0])
	}
	if calls.Load() != 1 {
		t.Fatalf("%d requests, want 1 (no redirect followed)", calls.Load())
	}
}

func TestSendBoundsInFlight(t *testing.T) {
	t.Parallel()
	var cur, peak atomic.Int64
	e := newEnv(t, webpushfake.Config{Script: func(webpushfake.Attempt) (webpushfake.Reply, bool) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		cur.Add(-1)
		return webpushfake.Reply{}, false
	}}, Options{MaxInFlight: 3})
	var msgs []channels.Message
	for i := range 15 {
		msgs = append(msgs, message(string(rune('a'+i)), e.subscribe(t, "")))
	}
	// two concurrent batches share the bound
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for _, r := range e.sender.Send(context.Background(), msgs) {
				if r.Outcome != channels.Delivered {
					t.Errorf("%+v", r)
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak of %d requests in flight, want at most 3 (and concurrency)", p)
	}
}

func TestSendObservesLatency(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	var slowest atomic.Int64
	e := newEnv(t, webpushfake.Config{}, Options{Observe: func(d time.Duration) {
		n.Add(1)
		if int64(d) > slowest.Load() {
			slowest.Store(int64(d))
		}
	}})
	msgs := []channels.Message{message("a", e.subscribe(t, "")), message("b", e.subscribe(t, "slow")), message("c", e.subscribe(t, "unregistered"))}
	e.sender.Send(context.Background(), msgs)
	if n.Load() != 3 {
		t.Fatalf("observed %d round trips, want 3", n.Load())
	}
	if time.Duration(slowest.Load()) < 200*time.Millisecond {
		t.Fatalf("slowest round trip %s, want the slow token's 200 ms", time.Duration(slowest.Load()))
	}
}

func TestSendTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webpushfake.Config{}, Options{Timeout: 50 * time.Millisecond})
	tok := e.subscribe(t, "slow")
	res := e.sender.Send(context.Background(), []channels.Message{message("m", tok)})
	if res[0].Outcome != channels.Retry || res[0].Reason != ReasonTransport {
		t.Fatalf("timeout: %+v", res[0])
	}
	if strings.Contains(res[0].Err.Error(), subscriptionID(t, tok)) {
		t.Fatalf("the error quotes the endpoint: %v", res[0].Err)
	}
	if !strings.Contains(res[0].Err.Error(), e.srv.URL) {
		t.Errorf("the error does not name the push service: %v", res[0].Err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range e.sender.Send(ctx, []channels.Message{message("a", e.subscribe(t, "")), message("b", e.subscribe(t, ""))}) {
		if r.Outcome != channels.Retry || r.Reason != ReasonCanceled {
			t.Errorf("canceled: %+v", r)
		}
	}
}

func TestSendAfterClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webpushfake.Config{}, Options{})
	_ = e.sender.Close()
	res := e.sender.Send(context.Background(), []channels.Message{message("m", e.subscribe(t, ""))})
	if res[0].Outcome != channels.Retry || res[0].Reason != ReasonClosed || e.srv.Recorder().Len() != 0 {
		t.Fatalf("%+v", res[0])
	}
}

func TestSendLeaksNoSecret(t *testing.T) {
	t.Parallel()
	var e *env
	e = newEnv(t, webpushfake.Config{Script: func(a webpushfake.Attempt) (webpushfake.Reply, bool) {
		if strings.HasPrefix(a.ID, "echo") { // a push service quoting the endpoint back
			return webpushfake.Reply{Status: 400, Body: `{"errno":1,"message":"bad endpoint ` + e.srv.URL + `/push/` + a.ID + ` (token ` + a.ID + `)"}`}, true
		}
		return webpushfake.Reply{}, false
	}}, Options{})
	other := newEnv(t, webpushfake.Config{}, Options{}) // its key is unknown to e's fake: 403
	// a push service that is down: connection refused, a transport error
	p256dh, auth := testKeys(t)
	down := `{"endpoint":"https://127.0.0.1:1/push/downsecret0123456789","keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`
	toks := []string{e.subscribe(t, "echo"), e.subscribe(t, "unregistered"), down, e.subscribe(t, "throttle")}
	var msgs []channels.Message
	for i, tok := range toks {
		msgs = append(msgs, message(string(rune('a'+i)), tok))
	}
	bad := message("bad", toks[0])
	bad.Object["title"] = 7
	msgs = append(msgs, bad)
	results := e.sender.Send(context.Background(), msgs)
	otherSender, _ := New(context.Background(), other.creds, Options{RootCAs: e.srv.Pool(), Policy: EndpointPolicy{AllowLoopback: true}, Logger: e.sender.log})
	defer otherSender.Close()
	results = append(results, otherSender.Send(context.Background(), []channels.Message{message("x", e.subscribe(t, ""))})...)
	if results[len(results)-1].Reason != "403 Forbidden" || !results[len(results)-1].Pause {
		t.Fatalf("unknown key: %+v", results[len(results)-1])
	}
	if results[2].Reason != ReasonTransport {
		t.Errorf("push service down: %+v", results[2])
	}
	if !strings.Contains(results[0].Err.Error(), "<endpoint>") {
		t.Errorf("echoed endpoint not redacted: %v", results[0].Err)
	}
	var secrets []string
	for _, tok := range toks {
		sub, _ := ParseSubscription(tok)
		secrets = append(secrets, subscriptionID(t, tok), sub.Keys.Auth, sub.Keys.P256dh)
	}
	secrets = append(secrets, e.creds.VAPIDPrivateKey, other.creds.VAPIDPrivateKey)
	text := e.logs.String()
	for _, r := range results {
		if r.Outcome == channels.Delivered {
			t.Fatalf("unexpected delivery: %+v", r)
		}
		text += "\n" + r.Reason + " " + r.Err.Error()
	}
	if !strings.Contains(e.logs.String(), "web push not delivered") || !strings.Contains(e.logs.String(), "level=WARN") {
		t.Errorf("logs lack the failures:\n%s", e.logs.String())
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("secret %q… leaked into:\n%s", s[:6], text)
		}
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	pub, priv, _ := GenerateVAPIDKeys()
	if _, err := New(context.Background(), Credentials{VAPIDPublicKey: pub, VAPIDPrivateKey: priv}, Options{}); err == nil {
		t.Error("no subject accepted")
	}
	if _, err := New(context.Background(), Credentials{VAPIDPublicKey: priv, VAPIDPrivateKey: pub, Subject: "a@b.c"}, Options{}); err == nil {
		t.Error("swapped keys accepted")
	}
	_, err := New(context.Background(), Credentials{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "a@b.c"}, Options{Policy: EndpointPolicy{AllowedHosts: []string{"https://x"}}})
	if err == nil || !strings.Contains(err.Error(), "allowed_hosts[0]") {
		t.Errorf("bad policy: %v", err)
	}
	s, err := New(context.Background(), Credentials{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "a@b.c"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if cap(s.sem) != DefaultMaxInFlight || s.transport.MaxConnsPerHost != DefaultMaxConnsPerHost || s.transport.ResponseHeaderTimeout != DefaultTimeout {
		t.Errorf("defaults: in flight %d, conns %d, timeout %s", cap(s.sem), s.transport.MaxConnsPerHost, s.transport.ResponseHeaderTimeout)
	}
}
