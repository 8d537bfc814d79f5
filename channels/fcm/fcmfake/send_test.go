package fcmfake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"
)

// tokenSource exchanges a generated service account's key at the fake.
func tokenSource(t *testing.T, srv *Server, project string) oauth2.TokenSource {
	t.Helper()
	key, _, err := srv.NewServiceAccount(project)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := google.JWTConfigFromJSON(key, ScopeMessaging)
	if err != nil {
		t.Fatal(err)
	}
	return conf.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, httpClient(srv)))
}

// accessToken returns a valid access token for project's service account.
func accessToken(t *testing.T, srv *Server, project string) string {
	t.Helper()
	tok, err := tokenSource(t, srv, project).Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// sdk returns a firebase messaging client sending to the fake for project.
func sdk(t *testing.T, srv *Server, project string) *messaging.Client {
	t.Helper()
	hc := &http.Client{Transport: &oauth2.Transport{Source: tokenSource(t, srv, project), Base: httpClient(srv).Transport}}
	app, err := firebase.NewApp(context.Background(), &firebase.Config{ProjectID: project},
		option.WithHTTPClient(hc), option.WithEndpoint(srv.Endpoint))
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Messaging(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// post sends a raw messages:send request and decodes the answer.
func post(t *testing.T, srv *Server, project, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.Endpoint+"/projects/"+project+"/messages:send", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := httpClient(srv).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("served over %s, want HTTP/2", resp.Proto)
	}
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return resp.StatusCode, out
}

// fcmCode returns an error answer's rpc status and FcmError code.
func fcmCode(body map[string]any) (status, code string) {
	e, _ := body["error"].(map[string]any)
	status, _ = e["status"].(string)
	details, _ := e["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if m["@type"] == fcmErrorType {
			code, _ = m["errorCode"].(string)
		}
	}
	return status, code
}

func TestSendAuthentication(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	srv := start(t, Config{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	tok := accessToken(t, srv, testProject)
	body := `{"message":{"token":"abc"}}`

	for _, c := range []struct{ name, bearer string }{{"no token", ""}, {"unknown token", "ya29.not-issued"}} {
		status, out := post(t, srv, testProject, c.bearer, body)
		if rpc, _ := fcmCode(out); status != 401 || rpc != "UNAUTHENTICATED" {
			t.Errorf("%s: %d %s, want 401 UNAUTHENTICATED", c.name, status, rpc)
		}
	}
	if status, out := post(t, srv, testProject, tok, body); status != 200 || !strings.HasPrefix(out["name"].(string), "projects/"+testProject+"/messages/") {
		t.Fatalf("issued token: %d %v", status, out)
	}
	clock.Store(now.Add(DefaultTokenTTL + time.Second).UnixNano())
	if status, _ := post(t, srv, testProject, tok, body); status != 401 {
		t.Errorf("expired token: %d, want 401", status)
	}
	clock.Store(now.UnixNano())
	srv.Fake.RevokeTokens()
	if status, _ := post(t, srv, testProject, tok, body); status != 401 {
		t.Errorf("revoked token: %d, want 401", status)
	}
}

func TestSendProjectChecks(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{Projects: map[string]string{testProject: "app-1", "other": "app-2"}})
	tok := accessToken(t, srv, testProject)
	body := `{"message":{"token":"abc"}}`
	for _, p := range []string{"unknown-project", "other"} {
		status, out := post(t, srv, p, tok, body)
		if rpc, _ := fcmCode(out); status != 403 || rpc != "PERMISSION_DENIED" {
			t.Errorf("project %s: %d %s, want 403 PERMISSION_DENIED", p, status, rpc)
		}
	}
}

func TestSendValidation(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{})
	tok := accessToken(t, srv, testProject)
	big := strings.Repeat("x", MaxPayloadBytes)
	cases := []struct {
		name, body string
		fcmDetail  bool // FCM's own validation (FcmError) rather than the JSON parser's
	}{
		{"unknown field", `{"message":{"token":"a","bogus":1}}`, false},
		{"non-string data", `{"message":{"token":"a","data":{"n":1}}}`, false},
		{"not JSON", `{"message":`, false},
		{"trailing data", `{"message":{"token":"a"}} {}`, false},
		{"no message", `{}`, true},
		{"no target", `{"message":{"data":{"a":"b"}}}`, true},
		{"two targets", `{"message":{"token":"a","topic":"news"}}`, true},
		{"reserved data key", `{"message":{"token":"a","data":{"google.x":"1"}}}`, true},
		{"reserved android data key", `{"message":{"token":"a","android":{"data":{"from":"me"}}}}`, true},
		{"ttl without s", `{"message":{"token":"a","android":{"ttl":"60"}}}`, true},
		{"ttl over 4 weeks", `{"message":{"token":"a","android":{"ttl":"2419201s"}}}`, true},
		{"bad priority", `{"message":{"token":"a","android":{"priority":"urgent"}}}`, true},
		{"bad color", `{"message":{"token":"a","android":{"notification":{"color":"red"}}}}`, true},
		{"bad image", `{"message":{"token":"a","android":{"notification":{"image":"not a url"}}}}`, true},
		{"bad notification priority", `{"message":{"token":"a","android":{"notification":{"notification_priority":"LOUD"}}}}`, true},
		{"too big", `{"message":{"token":"a","data":{"k":"` + big + `"}}}`, true},
	}
	for _, c := range cases {
		status, out := post(t, srv, testProject, tok, c.body)
		rpc, code := fcmCode(out)
		if status != 400 || rpc != "INVALID_ARGUMENT" {
			t.Errorf("%s: %d %s, want 400 INVALID_ARGUMENT", c.name, status, rpc)
		}
		if want := map[bool]string{true: CodeInvalidArgument}[c.fcmDetail]; code != want {
			t.Errorf("%s: FcmError code %q, want %q", c.name, code, want)
		}
	}
	ok := `{"message":{"token":"a","data":{"k":"v"},"android":{"ttl":"3.5s","priority":"high","collapse_key":"c",` +
		`"notification":{"title":"t","body":"b","color":"#00FF00","image":"https://x.test/i.png","notification_priority":"PRIORITY_HIGH"}}}}`
	if status, out := post(t, srv, testProject, tok, ok); status != 200 {
		t.Errorf("valid message: %d %v", status, out)
	}
	if n := srv.Recorder().Len(); n != 1 {
		t.Errorf("%d records, want only the valid message", n)
	}
}

func TestSendRecordsAcceptedMessages(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{})
	c := sdk(t, srv, testProject)
	msg := &messaging.Message{Token: "tok-1", Data: map[string]string{"herald_message_id": "m1"},
		Android: &messaging.AndroidConfig{CollapseKey: "promo", Notification: &messaging.AndroidNotification{Title: "Hi", Body: "there"}}}
	if _, err := c.SendDryRun(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if n := srv.Recorder().Len(); n != 0 {
		t.Fatalf("a dry run was recorded (%d records)", n)
	}
	id, err := c.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "projects/"+testProject+"/messages/") {
		t.Errorf("message name %q", id)
	}
	recs := srv.Recorder().List()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.Channel != "fcm" || r.Token != "tok-1" || r.AppID != "app-1" || r.CollapseID != "promo" {
		t.Errorf("record %+v", r)
	}
	for k := range r.Headers {
		if strings.EqualFold(k, "Authorization") {
			t.Errorf("record keeps the Authorization header")
		}
	}
	if r.Headers["X-Goog-Api-Format-Version"] != "2" {
		t.Errorf("headers %v", r.Headers)
	}
	want, _ := json.Marshal(msg)
	if !bytes.Equal(r.Payload, want) {
		t.Errorf("payload %s, want the message JSON %s", r.Payload, want)
	}
}

// The SDK's own helpers must classify the fake's answers.
func TestSendBehavioursThroughSDK(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{Script: func(token string, attempt int) (Answer, bool) {
		if token == "mismatch" {
			return Answer{Status: 403, Code: CodeSenderIDMismatch, Message: "SenderId mismatch"}, true
		}
		return Answer{}, false
	}})
	c := sdk(t, srv, testProject)
	ctx := context.Background()
	send := func(tok string) error {
		_, err := c.Send(ctx, &messaging.Message{Token: tok})
		return err
	}
	if err := send("unregistered-1"); !messaging.IsUnregistered(err) || !errorutils.IsNotFound(err) {
		t.Errorf("unregistered: %v", err)
	}
	if err := send("baddevice-1"); !messaging.IsInvalidArgument(err) {
		t.Errorf("baddevice: %v", err)
	}
	if err := send("mismatch"); !messaging.IsSenderIDMismatch(err) || !errorutils.IsPermissionDenied(err) {
		t.Errorf("mismatch: %v", err)
	}
	err := send("throttle-1")
	if !messaging.IsQuotaExceeded(err) || errorutils.HTTPResponse(err).Header.Get("Retry-After") != "1" {
		t.Errorf("throttle, first attempt: %v", err)
	}
	if err := send("throttle-1"); err != nil {
		t.Errorf("throttle, second attempt: %v", err)
	}
	before := srv.Fake.Sends()
	if err := send("flaky-1"); err != nil {
		t.Errorf("flaky: %v (the SDK retries a 503)", err)
	}
	if n := srv.Fake.Sends() - before; n != 2 {
		t.Errorf("flaky took %d requests, want 2", n)
	}
	start := time.Now()
	if err := send("slow-1"); err != nil || time.Since(start) < 200*time.Millisecond {
		t.Errorf("slow: %v after %s", err, time.Since(start))
	}
	srv.Fake.RevokeTokens()
	if err := send("ok"); !errorutils.IsUnauthenticated(err) {
		t.Errorf("revoked token: %v", err)
	}
}

func TestRecorderListing(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{})
	tok := accessToken(t, srv, testProject)
	if status, _ := post(t, srv, testProject, tok, `{"message":{"token":"abc"}}`); status != 200 {
		t.Fatal(status)
	}
	resp, err := httpClient(srv).Get(srv.URL + "/_fake/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var recs []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0]["token"] != "abc" || recs[0]["channel"] != "fcm" {
		t.Errorf("listing %v", recs)
	}
}
