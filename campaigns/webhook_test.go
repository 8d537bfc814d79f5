package campaigns_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/channels/webhook"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/templates"
)

// hookReceiver records webhook requests and answers with the statuses of
// answer in turn (then 200).
type hookReceiver struct {
	mu     sync.Mutex
	bodies []string
	keys   []string
	answer []int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bodies = append(h.bodies, r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Campaign")+" "+string(b))
	h.keys = append(h.keys, r.Header.Get("Idempotency-Key"))
	status := http.StatusOK
	if len(h.answer) > 0 {
		status, h.answer = h.answer[0], h.answer[1:]
	}
	w.WriteHeader(status)
}

func TestWebhookCampaignDeliversOnePerUserAndRetries(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	e := newEnv(t, st)
	e.track(t, `{"attributes":[{"external_id":"w1","first_name":"Ann"},{"external_id":"w2","first_name":"Bo"},{"external_id":"w3","first_name":"Cy"}]}`)
	ids := e.userIDs(t, "w1", "w2", "w3")
	rc := &hookReceiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook := webhook.New(webhook.Options{AllowPrivate: true})
	pipe, err := campaigns.NewPipeline(st, senders{e.snd}, e.client, e.eng, noSegments,
		campaigns.PipelineOptions{PageRetry: time.Second, Webhook: hook})
	if err != nil {
		t.Fatal(err)
	}
	spec := campaigns.Spec{Messages: map[string]map[string]any{campaigns.Webhook: {
		"url": srv.URL + "/hooks/{{ ${user_id} }}", "request_method": "PUT",
		"request_headers": map[string]any{"X-Campaign": "spring"},
		"body":            `{"hello":"{{ ${first_name} }}"}`}}}
	page := pageOf(t, st, "hooks", spec, ids)
	if err := pipe.Deliver(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	got := append([]string(nil), rc.bodies...)
	sort.Strings(got)
	want := []string{`PUT /hooks/w1 spring {"hello":"Ann"}`, `PUT /hooks/w2 spring {"hello":"Bo"}`, `PUT /hooks/w3 spring {"hello":"Cy"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if counts, _ := st.LedgerCounts(context.Background(), page.DispatchID); counts[campaigns.LedgerDelivered] != 3 {
		t.Errorf("ledger: %v", counts)
	}

	// a 503 then a 200: retried once, delivered, with the same key
	rc2 := &hookReceiver{answer: []int{http.StatusServiceUnavailable}}
	srv2 := httptest.NewServer(rc2)
	defer srv2.Close()
	spec.Messages[campaigns.Webhook] = map[string]any{"url": srv2.URL + "/once", "body": "{{ ${first_name} }}"}
	page = pageOf(t, st, "hook-retry", spec, ids[:1])
	var backoff *queue.Backoff
	if err := pipe.Deliver(context.Background(), page); !errors.As(err, &backoff) {
		t.Fatalf("first run: %v; want a backoff", err)
	}
	if counts, _ := st.LedgerCounts(context.Background(), page.DispatchID); counts[campaigns.LedgerRetry] != 1 {
		t.Errorf("ledger after a 503: %v", counts)
	}
	if err := pipe.Deliver(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if len(rc2.keys) != 2 || rc2.keys[0] == "" || rc2.keys[0] != rc2.keys[1] {
		t.Fatalf("Idempotency-Keys %q: want two equal", rc2.keys)
	}
	if counts, _ := st.LedgerCounts(context.Background(), page.DispatchID); counts[campaigns.LedgerDelivered] != 1 {
		t.Errorf("ledger after the retry: %v", counts)
	}
	if err := pipe.Deliver(context.Background(), page); err != nil || len(rc2.keys) != 2 {
		t.Errorf("a finished page sent again: %v, %d requests", err, len(rc2.keys))
	}

	// a loopback receiver is refused by default: the row fails, nothing is sent
	strict, err := campaigns.NewPipeline(st, senders{e.snd}, e.client, e.eng, noSegments,
		campaigns.PipelineOptions{PageRetry: time.Second, Webhook: webhook.New(webhook.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	page = pageOf(t, st, "hook-private", spec, ids[:1])
	if err := strict.Deliver(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if counts, _ := st.LedgerCounts(context.Background(), page.DispatchID); counts[campaigns.LedgerFailed] != 1 || len(rc2.keys) != 2 {
		t.Errorf("loopback refused: ledger %v, %d requests", counts, len(rc2.keys))
	}
}

func TestWebhookValidation(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc := campaigns.NewService(st, nil, templates.New(templates.Options{}), noSegments, nil)
	in, err := campaigns.DecodeInput(strings.NewReader(`{"name":"x","audience":{"filter":{"push_enabled":{}}},"messages":{
	  "webhook": {"url": "ftp://example.com", "request_method": "TRACE", "request_headers": {"A": 1}, "body": 2, "extra": true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Create(context.Background(), in)
	var verr *campaigns.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Create: %v", err)
	}
	got := map[string]bool{}
	for _, p := range verr.Problems {
		got[p.Field] = true
	}
	for _, f := range []string{"url", "request_method", "request_headers.A", "body", "extra"} {
		if !got["messages.webhook."+f] {
			t.Errorf("no problem for %s: %v", f, verr.Problems)
		}
	}
	for body, field := range map[string]string{
		`{"request_method":"POST"}`:                   "messages.webhook.url",
		`{"url":"https://x.test/{{ oops"}`:            "messages.webhook.url",
		`{"url":"https://u:p@x.test/"}`:               "messages.webhook.url",
		`{"url":"https://x.test/","body":"{% if %}"}`: "messages.webhook.body",
	} {
		in, _ := campaigns.DecodeInput(strings.NewReader(`{"name":"x","audience":{"filter":{"push_enabled":{}}},"messages":{"webhook":` + body + `}}`))
		_, err := svc.Create(context.Background(), in)
		if !errors.As(err, &verr) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v; want a problem at %s", body, err, field)
		}
	}
	var raw json.RawMessage = []byte(`{"url":"https://hooks.example.com/{{ ${user_id} }}","request_method":"{{ 'patch' }}","request_headers":{"Authorization":"Bearer t"},"body":"{{ ${first_name} }}"}`)
	if _, err := svc.Create(context.Background(), &campaigns.Input{Name: "ok", Audience: &campaigns.Audience{Filter: json.RawMessage(`{"push_enabled":{}}`)},
		Messages: map[string]json.RawMessage{"webhook": raw}}); err != nil {
		t.Errorf("a valid webhook: %v", err)
	}
}
