package webpushfake

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"github.com/herald-oss/herald/channels/fake"
)

type vapidKeys struct{ pub, priv string }

func newVAPID(t testing.TB) vapidKeys {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return vapidKeys{b64(k.PublicKey().Bytes()), b64(k.Bytes())}
}

// signJWT signs claims with ES256 the way a VAPID sender does.
func signJWT(t testing.TB, k vapidKeys, claims map[string]any) string {
	t.Helper()
	d, _ := base64.RawURLEncoding.DecodeString(k.priv)
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := json.Marshal(claims)
	signing := b64([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + b64(c)
	digest := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + b64(sig)
}

// tamperClient changes a request webpush-go built before sending it.
type tamperClient struct {
	c      *http.Client
	tamper func(*http.Request)
}

func (tc tamperClient) Do(r *http.Request) (*http.Response, error) {
	if tc.tamper != nil {
		tc.tamper(r)
	}
	return tc.c.Do(r)
}

func client(s *Server) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: s.Pool()},
		ForceAttemptHTTP2: true,
	}, Timeout: 10 * time.Second}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	proto  int
}

// push sends payload to the subscription token with webpush-go, as a sender
// would, after tamper (may be nil).
func push(t *testing.T, s *Server, token string, k vapidKeys, subject string, payload []byte, o *webpushgo.Options, tamper func(*http.Request)) answer {
	t.Helper()
	var sub webpushgo.Subscription
	if err := json.Unmarshal([]byte(token), &sub); err != nil {
		t.Fatalf("subscription %q: %v", token, err)
	}
	if o == nil {
		o = &webpushgo.Options{TTL: 60, Urgency: webpushgo.UrgencyHigh, Topic: "abc_-0123"}
	}
	o.HTTPClient = tamperClient{client(s), tamper}
	o.Subscriber = subject
	o.VAPIDPublicKey, o.VAPIDPrivateKey = k.pub, k.priv
	resp, err := webpushgo.SendNotification(payload, &sub, o)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header, proto: resp.ProtoMajor}
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &a.body); err != nil {
			t.Fatalf("error body %q is not JSON: %v", b, err)
		}
	}
	return a
}

func subscribe(t *testing.T, s *Server, behavior string) string {
	t.Helper()
	tok, err := s.Subscribe(behavior)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAcceptsAndRecordsDecryptedPayload(t *testing.T) {
	t.Parallel()
	k := newVAPID(t)
	s := Start(t, Config{VAPIDKeys: map[string]string{k.pub: "app-1"}})
	tok := subscribe(t, s, "")
	payload := []byte(`{"title":"Hi","body":"there"}`)
	a := push(t, s, tok, k, "ops@example.com", payload, nil, nil)
	if a.status != http.StatusCreated {
		t.Fatalf("status %d %v, want 201", a.status, a.body)
	}
	if a.proto != 2 {
		t.Errorf("HTTP/%d, want HTTP/2", a.proto)
	}
	if loc := a.header.Get("Location"); !strings.HasPrefix(loc, s.URL+"/m/") {
		t.Errorf("Location %q", loc)
	}
	recs := s.Recorder().List()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	var sub struct{ Endpoint string }
	_ = json.Unmarshal([]byte(tok), &sub)
	id := sub.Endpoint[strings.LastIndexByte(sub.Endpoint, '/')+1:]
	if r.Channel != "webpush" || r.Endpoint != sub.Endpoint || r.Token != id || r.AppID != "app-1" || r.CollapseID != "abc_-0123" {
		t.Errorf("record %+v", r)
	}
	if string(r.Payload) != string(payload) {
		t.Errorf("payload %s, want the plaintext %s", r.Payload, payload)
	}
	want := map[string]string{"TTL": "60", "Urgency": "high", "Topic": "abc_-0123", "Content-Encoding": "aes128gcm"}
	for h, v := range want {
		if r.Headers[h] != v {
			t.Errorf("header %s = %q, want %q", h, r.Headers[h], v)
		}
	}
}

func TestNonJSONPlaintextIsRecordedAsString(t *testing.T) {
	t.Parallel()
	k := newVAPID(t)
	s := Start(t, Config{})
	a := push(t, s, subscribe(t, s, ""), k, "ops@example.com", []byte("plain text"), nil, nil)
	if a.status != http.StatusCreated {
		t.Fatalf("status %d %v", a.status, a.body)
	}
	if got := string(s.Recorder().List()[0].Payload); got != `"plain text"` {
		t.Fatalf("payload %s", got)
	}
}

func TestHTTPSubjectAccepted(t *testing.T) {
	t.Parallel()
	k := newVAPID(t)
	s := Start(t, Config{})
	if a := push(t, s, subscribe(t, s, ""), k, "https://example.com/contact", []byte(`{}`), nil, nil); a.status != 201 {
		t.Fatalf("status %d %v", a.status, a.body)
	}
}

func TestSubscriptionsOverHTTP(t *testing.T) {
	t.Parallel()
	k, other := newVAPID(t), newVAPID(t)
	s := Start(t, Config{})
	c := client(s)
	post := func(url, body string) (int, string) {
		resp, err := c.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, tok := post(s.URL+"/_fake/webpush/subscribe?behavior=unregistered", "")
	if status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", status, tok)
	}
	var sub webpushgo.Subscription
	if err := json.Unmarshal([]byte(tok), &sub); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sub.Endpoint, s.URL+"/push/unregistered-") {
		t.Errorf("endpoint %q does not embed the behaviour", sub.Endpoint)
	}
	p, _ := base64.RawURLEncoding.DecodeString(sub.Keys.P256dh)
	a, _ := base64.RawURLEncoding.DecodeString(sub.Keys.Auth)
	if _, err := ecdh.P256().NewPublicKey(p); err != nil || len(a) != 16 {
		t.Errorf("keys: p256dh %d bytes (%v), auth %d bytes", len(p), err, len(a))
	}
	if ans := push(t, s, tok, k, "ops@example.com", []byte(`{}`), nil, nil); ans.status != http.StatusGone {
		t.Errorf("unregistered subscription: %d, want 410", ans.status)
	}

	// restricted to one applicationServerKey
	status, tok = post(s.URL+"/_fake/webpush/subscribe", `{"applicationServerKey":"`+k.pub+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", status, tok)
	}
	if ans := push(t, s, tok, other, "ops@example.com", []byte(`{}`), nil, nil); ans.status != http.StatusForbidden {
		t.Errorf("push with another key: %d, want 403", ans.status)
	}
	if ans := push(t, s, tok, k, "ops@example.com", []byte(`{}`), nil, nil); ans.status != http.StatusCreated {
		t.Errorf("push with the subscription's key: %d %v, want 201", ans.status, ans.body)
	}

	// refused subscribe requests
	for _, bad := range []struct{ url, body string }{
		{s.URL + "/_fake/webpush/subscribe?behavior=../x", ""},
		{s.URL + "/_fake/webpush/subscribe", `{"applicationServerKey":"AAAA"}`},
		{s.URL + "/_fake/webpush/subscribe", `not json`},
	} {
		if status, body := post(bad.url, bad.body); status != http.StatusBadRequest {
			t.Errorf("%s %s: %d %s, want 400", bad.url, bad.body, status, body)
		}
	}

	// unsubscribe, unknown ids
	_ = json.Unmarshal([]byte(tok), &sub)
	id := sub.Endpoint[strings.LastIndexByte(sub.Endpoint, '/')+1:]
	req, _ := http.NewRequest(http.MethodDelete, s.URL+"/_fake/webpush/subscriptions/"+id, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unsubscribe: %d", resp.StatusCode)
	}
	if ans := push(t, s, tok, k, "ops@example.com", []byte(`{}`), nil, nil); ans.status != http.StatusGone || ans.body["errno"] != float64(103) {
		t.Errorf("push after unsubscribe: %d %v, want 410 errno 103", ans.status, ans.body)
	}
	unknown := strings.Replace(tok, id, "0123456789abcdef", 1)
	if ans := push(t, s, unknown, k, "ops@example.com", []byte(`{}`), nil, nil); ans.status != http.StatusNotFound || ans.body["errno"] != float64(102) {
		t.Errorf("push to an unknown id: %d %v, want 404 errno 102", ans.status, ans.body)
	}
}

func TestTokenBehaviours(t *testing.T) {
	t.Parallel()
	k := newVAPID(t)
	s := Start(t, Config{})
	cases := []struct {
		behavior string
		statuses []int
	}{
		{"unregistered", []int{410, 410}},
		{"baddevice", []int{404, 404}},
		{"throttle", []int{429, 201}},
		{"flaky", []int{503, 201}},
		{"slow", []int{201}},
	}
	for _, c := range cases {
		tok := subscribe(t, s, c.behavior)
		for i, want := range c.statuses {
			start := time.Now()
			a := push(t, s, tok, k, "ops@example.com", []byte(`{}`), nil, nil)
			if a.status != want {
				t.Errorf("%s attempt %d: %d %v, want %d", c.behavior, i+1, a.status, a.body, want)
			}
			if want == 429 && a.header.Get("Retry-After") != "1" {
				t.Errorf("throttle: Retry-After %q, want 1", a.header.Get("Retry-After"))
			}
			if c.behavior == "slow" && time.Since(start) < fake.Latency {
				t.Errorf("slow answered in %s", time.Since(start))
			}
		}
	}
	if n := s.Recorder().Len(); n != 3 {
		t.Errorf("%d records, want 3 (throttle, flaky and slow once each)", n)
	}
}

func TestScript(t *testing.T) {
	t.Parallel()
	k := newVAPID(t)
	var seen []Attempt
	s := Start(t, Config{
		VAPIDKeys: map[string]string{k.pub: "app-9"},
		Script: func(a Attempt) (Reply, bool) {
			seen = append(seen, a)
			if a.N == 1 {
				return Reply{Status: 429, Header: http.Header{"Retry-After": {"7"}}}, true
			}
			if a.N == 2 {
				return Reply{Status: 400, Body: `{"reason":"BadWebPushTopic"}`}, true
			}
			return Reply{}, false
		},
	})
	tok := subscribe(t, s, "")
	a := push(t, s, tok, k, "ops@example.com", []byte(`{"n":1}`), nil, nil)
	if a.status != 429 || a.header.Get("Retry-After") != "7" || a.body["code"] != float64(429) {
		t.Errorf("first: %d %v %v", a.status, a.header, a.body)
	}
	a = push(t, s, tok, k, "ops@example.com", []byte(`{"n":2}`), nil, nil)
	if a.status != 400 || a.body["reason"] != "BadWebPushTopic" {
		t.Errorf("second: %d %v", a.status, a.body)
	}
	if a = push(t, s, tok, k, "ops@example.com", []byte(`{"n":3}`), nil, nil); a.status != 201 {
		t.Errorf("third: %d", a.status)
	}
	if len(seen) != 3 || seen[0].AppID != "app-9" || string(seen[1].Plaintext) != `{"n":2}` || seen[2].Header.Get("TTL") != "60" {
		t.Errorf("script saw %+v", seen)
	}
	if s.Recorder().Len() != 1 {
		t.Errorf("%d records, want 1", s.Recorder().Len())
	}
}

func TestMessagesListing(t *testing.T) {
	t.Parallel()
	k := newVAPID(t)
	s := Start(t, Config{})
	push(t, s, subscribe(t, s, ""), k, "ops@example.com", []byte(`{"a":1}`), nil, nil)
	resp, err := client(s).Get(s.URL + "/_fake/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var recs []fake.Record
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || string(recs[0].Payload) != `{"a":1}` {
		t.Fatalf("records %+v", recs)
	}
}
