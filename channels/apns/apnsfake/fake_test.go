package apnsfake_test

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels/apns/apnsfake"
	"github.com/herald-oss/herald/channels/fake"
)

func TestAcceptsAndRecords(t *testing.T) {
	t.Parallel()
	b := start(t, nil)
	h := goodHeaders()
	h["apns-collapse-id"] = "c-1"
	h["apns-expiration"] = "1900000000"
	h["apns-id"] = "123e4567-e89b-12d3-a456-426655440000"
	a := b.do(t, nil, request{path: "/3/device/abc123", headers: h, body: goodBody})
	if a.status != http.StatusOK || a.proto != 2 {
		t.Fatalf("status %d over HTTP/%d, reason %q; want 200 over HTTP/2", a.status, a.proto, a.reason)
	}
	if got := a.header.Get("apns-id"); got != h["apns-id"] {
		t.Errorf("apns-id %q, want the request's %q", got, h["apns-id"])
	}
	recs := b.srv.Recorder().List()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.Channel != "apns" || r.Token != "abc123" || r.AppID != testApp || r.CollapseID != "c-1" {
		t.Errorf("record %+v", r)
	}
	for _, k := range []string{"apns-topic", "apns-push-type", "apns-priority", "apns-expiration", "apns-collapse-id", "apns-id"} {
		want := h[k]
		if r.Headers[k] != want {
			t.Errorf("recorded header %s = %q, want %q", k, r.Headers[k], want)
		}
	}
	if _, ok := r.Headers["authorization"]; ok {
		t.Error("the record holds the provider token")
	}
	if string(r.Payload) != goodBody {
		t.Errorf("payload %s, want %s", r.Payload, goodBody)
	}
}

func TestMakesAnApnsID(t *testing.T) {
	t.Parallel()
	b := start(t, nil)
	a := b.do(t, nil, request{path: "/3/device/abc", headers: goodHeaders(), body: goodBody})
	id := a.header.Get("apns-id")
	if a.status != http.StatusOK || len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Fatalf("status %d, apns-id %q: want 200 and a UUID", a.status, id)
	}
	if got := b.srv.Recorder().List()[0].Headers["apns-id"]; got != id {
		t.Errorf("recorded apns-id %q, answered %q", got, id)
	}
}

func TestRecorderRoutes(t *testing.T) {
	t.Parallel()
	b := start(t, nil)
	b.do(t, nil, request{path: "/3/device/abc", headers: goodHeaders(), body: goodBody})
	res, err := b.client.Get(b.srv.URL + "/_fake/messages")
	if err != nil {
		t.Fatal(err)
	}
	var list []fake.Record
	err = json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if err != nil || len(list) != 1 || list[0].Token != "abc" {
		t.Fatalf("GET /_fake/messages: %v %+v", err, list)
	}
	req, _ := http.NewRequest(http.MethodDelete, b.srv.URL+"/_fake/messages", nil)
	res, err = b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if n := b.srv.Recorder().Len(); n != 0 {
		t.Errorf("%d records after DELETE", n)
	}
}

func TestVerification(t *testing.T) {
	t.Parallel()
	b := start(t, nil)
	other := newKey(t)
	now := time.Now().Unix()
	with := func(k, v string) map[string]string {
		h := goodHeaders()
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	cases := []struct {
		name   string
		rq     request
		status int
		reason string
	}{
		{"method", request{method: http.MethodGet, path: "/3/device/abc", headers: goodHeaders()}, 405, "MethodNotAllowed"},
		{"path", request{path: "/3/devices/abc", headers: goodHeaders(), body: goodBody}, 404, "BadPath"},
		{"nested path", request{path: "/3/device/abc/def", headers: goodHeaders(), body: goodBody}, 404, "BadPath"},
		{"no token", request{path: "/3/device/", headers: goodHeaders(), body: goodBody}, 400, "MissingDeviceToken"},
		{"no jwt", request{path: "/3/device/abc", headers: goodHeaders(), body: goodBody, noAuth: true}, 403, "MissingProviderToken"},
		{"not bearer", request{path: "/3/device/abc", headers: with("Authorization", "Basic Zm9vOmJhcg=="), body: goodBody}, 403, "MissingProviderToken"},
		{"garbage jwt", request{path: "/3/device/abc", headers: with("Authorization", "bearer a.b.c"), body: goodBody}, 403, "InvalidProviderToken"},
		{"other key", request{path: "/3/device/abc", headers: with("Authorization", "bearer "+signJWT(t, other, "ES256", testKID, testTeam, now)), body: goodBody}, 403, "InvalidProviderToken"},
		{"unknown kid", request{path: "/3/device/abc", headers: with("Authorization", "bearer "+signJWT(t, b.key, "ES256", "OTHERKEY00", testTeam, now)), body: goodBody}, 403, "InvalidProviderToken"},
		{"wrong team", request{path: "/3/device/abc", headers: with("Authorization", "bearer "+signJWT(t, b.key, "ES256", testKID, "OTHERTEAM0", now)), body: goodBody}, 403, "InvalidProviderToken"},
		{"wrong alg", request{path: "/3/device/abc", headers: with("Authorization", "bearer "+signJWT(t, b.key, "HS256", testKID, testTeam, now)), body: goodBody}, 403, "InvalidProviderToken"},
		{"old iat", request{path: "/3/device/abc", headers: with("Authorization", "bearer "+signJWT(t, b.key, "ES256", testKID, testTeam, now-3601)), body: goodBody}, 403, "ExpiredProviderToken"},
		{"future iat", request{path: "/3/device/abc", headers: with("Authorization", "bearer "+signJWT(t, b.key, "ES256", testKID, testTeam, now+600)), body: goodBody}, 403, "InvalidProviderToken"},
		{"no topic", request{path: "/3/device/abc", headers: with("apns-topic", ""), body: goodBody}, 400, "MissingTopic"},
		{"unknown topic", request{path: "/3/device/abc", headers: with("apns-topic", "com.other.app"), body: goodBody}, 400, "TopicDisallowed"},
		{"push type", request{path: "/3/device/abc", headers: with("apns-push-type", "loud"), body: goodBody}, 400, "InvalidPushType"},
		{"priority", request{path: "/3/device/abc", headers: with("apns-priority", "7"), body: goodBody}, 400, "BadPriority"},
		{"background at 10", request{path: "/3/device/abc", headers: with("apns-push-type", "background"), body: goodBody}, 400, "BadPriority"},
		{"expiration", request{path: "/3/device/abc", headers: with("apns-expiration", "tomorrow"), body: goodBody}, 400, "BadExpirationDate"},
		{"apns-id", request{path: "/3/device/abc", headers: with("apns-id", "not-a-uuid"), body: goodBody}, 400, "BadMessageId"},
		{"collapse id", request{path: "/3/device/abc", headers: with("apns-collapse-id", strings.Repeat("c", 65)), body: goodBody}, 400, "BadCollapseId"},
		{"repeated header", request{path: "/3/device/abc", headers: with("apns-topic", ""), multi: map[string][]string{"apns-topic": {testTopic, testTopic}}, body: goodBody}, 400, "DuplicateHeaders"},
		{"too large", request{path: "/3/device/abc", headers: goodHeaders(), body: `{"aps":{"alert":"` + strings.Repeat("x", 4096) + `"}}`}, 413, "PayloadTooLarge"},
		{"empty", request{path: "/3/device/abc", headers: goodHeaders()}, 400, "PayloadEmpty"},
		{"no aps", request{path: "/3/device/abc", headers: goodHeaders(), body: `{"x":1}`}, 400, "PayloadEmpty"},
		{"aps not a dictionary", request{path: "/3/device/abc", headers: goodHeaders(), body: `{"aps":"hi"}`}, 400, "PayloadEmpty"},
		{"not json", request{path: "/3/device/abc", headers: goodHeaders(), body: `{"aps":`}, 400, "BadPayload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := b.do(t, nil, c.rq)
			if a.status != c.status || a.reason != c.reason {
				t.Errorf("got %d %q, want %d %q", a.status, a.reason, c.status, c.reason)
			}
			if a.header.Get("apns-id") == "" {
				t.Error("no apns-id on an error")
			}
		})
	}
	if n := b.srv.Recorder().Len(); n != 0 {
		t.Errorf("%d refused requests were recorded", n)
	}
	// The limits themselves pass.
	h := goodHeaders()
	h["apns-collapse-id"] = strings.Repeat("c", 64)
	body := `{"aps":{"alert":"` + strings.Repeat("x", 4096-len(`{"aps":{"alert":""}}`)) + `"}}`
	if a := b.do(t, nil, request{path: "/3/device/abc", headers: h, body: body}); a.status != 200 {
		t.Errorf("a 4096-byte body with a 64-byte collapse id: %d %q", a.status, a.reason)
	}
}

func TestHTTP2Only(t *testing.T) {
	t.Parallel()
	b := start(t, nil)
	h1 := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: b.srv.Pool()}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	t.Cleanup(h1.CloseIdleConnections)
	a := b.do(t, h1, request{path: "/3/device/abc", headers: goodHeaders(), body: goodBody})
	if a.proto != 1 || a.status != http.StatusHTTPVersionNotSupported {
		t.Errorf("HTTP/%d: %d %q, want 505 to HTTP/1", a.proto, a.status, a.reason)
	}
	if b.srv.Recorder().Len() != 0 {
		t.Error("an HTTP/1 request was recorded")
	}
}

func TestBehaviours(t *testing.T) {
	t.Parallel()
	b := start(t, nil)
	send := func(token string) answer {
		return b.do(t, nil, request{path: "/3/device/" + token, headers: goodHeaders(), body: goodBody})
	}
	a := send("tok-unregistered")
	if ts, _ := a.body["timestamp"].(float64); a.status != 410 || a.reason != "Unregistered" || ts < float64(time.Now().Add(-time.Minute).UnixMilli()) {
		t.Errorf("unregistered: %d %v", a.status, a.body)
	}
	if a := send("tok-baddevice"); a.status != 400 || a.reason != "BadDeviceToken" {
		t.Errorf("baddevice: %d %q", a.status, a.reason)
	}
	if a := send("tok-throttle"); a.status != 429 || a.reason != "TooManyRequests" || a.header.Get("Retry-After") != "1" {
		t.Errorf("throttle, first: %d %q Retry-After %q", a.status, a.reason, a.header.Get("Retry-After"))
	}
	if a := send("tok-throttle"); a.status != 200 {
		t.Errorf("throttle, second: %d %q", a.status, a.reason)
	}
	if a := send("tok-flaky"); a.status != 503 || a.reason != "ServiceUnavailable" {
		t.Errorf("flaky, first: %d %q", a.status, a.reason)
	}
	if a := send("tok-flaky"); a.status != 200 {
		t.Errorf("flaky, second: %d %q", a.status, a.reason)
	}
	begin := time.Now()
	if a := send("tok-slow"); a.status != 200 || time.Since(begin) < fake.Latency {
		t.Errorf("slow: %d after %s", a.status, time.Since(begin))
	}
	if got := b.srv.Recorder().Len(); got != 3 {
		t.Errorf("%d records, want 3 (throttle, flaky, slow once each)", got)
	}
}

func TestScript(t *testing.T) {
	t.Parallel()
	b := start(t, func(c *apnsfake.Config) {
		c.Script = func(token string) (int, string, string, bool) {
			switch token {
			case "s429":
				return 429, "TooManyRequests", "7", true
			case "s200-unregistered":
				return 200, "", "", true
			}
			return 0, "", "", false
		}
	})
	a := b.do(t, nil, request{path: "/3/device/s429", headers: goodHeaders(), body: goodBody})
	if a.status != 429 || a.reason != "TooManyRequests" || a.header.Get("Retry-After") != "7" {
		t.Errorf("scripted 429: %d %q %q", a.status, a.reason, a.header.Get("Retry-After"))
	}
	if a := b.do(t, nil, request{path: "/3/device/s200-unregistered", headers: goodHeaders(), body: goodBody}); a.status != 200 {
		t.Errorf("scripted 200 wins over the token's behaviour: %d", a.status)
	}
	if a := b.do(t, nil, request{path: "/3/device/s429", headers: goodHeaders(), body: ""}); a.status != 400 {
		t.Errorf("a scripted token still gets verified: %d %q", a.status, a.reason)
	}
}

func TestCachedTokenStillAges(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	b := start(t, func(c *apnsfake.Config) { c.Now = now })
	rq := request{path: "/3/device/abc", headers: goodHeaders(), body: goodBody}
	if a := b.do(t, nil, rq); a.status != 200 {
		t.Fatalf("fresh token: %d %q", a.status, a.reason)
	}
	mu.Lock()
	clock = clock.Add(61 * time.Minute)
	mu.Unlock()
	if a := b.do(t, nil, rq); a.status != 403 || a.reason != "ExpiredProviderToken" {
		t.Errorf("the same token an hour later: %d %q", a.status, a.reason)
	}
}

func TestTokenUpdateInterval(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	b := start(t, func(c *apnsfake.Config) { c.Now = now; c.TokenUpdateInterval = 20 * time.Minute })
	rq := func(bearer string) request {
		h := goodHeaders()
		h["Authorization"] = "bearer " + bearer
		return request{path: "/3/device/abc", headers: h, body: goodBody}
	}
	first := signJWT(t, b.key, "ES256", testKID, testTeam, clock.Unix())
	second := signJWT(t, b.key, "ES256", testKID, testTeam, clock.Unix())
	if a := b.do(t, nil, rq(first)); a.status != 200 {
		t.Fatalf("first token: %d %q", a.status, a.reason)
	}
	if a := b.do(t, nil, rq(first)); a.status != 200 {
		t.Fatalf("first token again: %d %q", a.status, a.reason)
	}
	if a := b.do(t, nil, rq(second)); a.status != 429 || a.reason != "TooManyProviderTokenUpdates" {
		t.Errorf("a new token at once: %d %q", a.status, a.reason)
	}
	mu.Lock()
	clock = clock.Add(21 * time.Minute)
	mu.Unlock()
	if a := b.do(t, nil, rq(second)); a.status != 200 {
		t.Errorf("a new token after 21 minutes: %d %q", a.status, a.reason)
	}
}

func TestCertificateAuth(t *testing.T) {
	t.Parallel()
	pool, cert := clientCert(t)
	_, stranger := clientCert(t)
	b := start(t, func(c *apnsfake.Config) { c.ClientCAs = pool })
	withCert := func(c tls.Certificate) *http.Client {
		cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{RootCAs: b.srv.Pool(), Certificates: []tls.Certificate{c}}}}
		t.Cleanup(cl.CloseIdleConnections)
		return cl
	}
	if a := b.do(t, withCert(cert), request{path: "/3/device/abc", headers: goodHeaders(), body: goodBody, noAuth: true}); a.status != 200 {
		t.Errorf("a certificate from the CA: %d %q", a.status, a.reason)
	}
	h := goodHeaders()
	h["apns-topic"] = "com.other.app"
	if a := b.do(t, withCert(cert), request{path: "/3/device/abc", headers: h, body: goodBody, noAuth: true}); a.status != 400 || a.reason != "BadTopic" {
		t.Errorf("a topic the certificate lacks: %d %q", a.status, a.reason)
	}
	if a := b.do(t, withCert(stranger), request{path: "/3/device/abc", headers: goodHeaders(), body: goodBody, noAuth: true}); a.status != 403 || a.reason != "BadCertificate" {
		t.Errorf("a certificate from another CA: %d %q", a.status, a.reason)
	}
}

func TestRegisterOnAMux(t *testing.T) {
	t.Parallel()
	f := apnsfake.New(apnsfake.Config{})
	mux := http.NewServeMux()
	f.Register(mux)
	if _, pattern := mux.Handler(&http.Request{Method: http.MethodPost, URL: mustURL(t, "https://x/3/device/abc")}); pattern != "/3/" {
		t.Errorf("pattern %q, want /3/", pattern)
	}
	if f.Recorder() == nil {
		t.Error("no default recorder")
	}
}
