package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/webhook"
)

// received is one request a test receiver saw.
type received struct {
	method, path, body string
	header             http.Header
}

// receiver is an httptest server answering with the statuses of answer in
// turn (the last one repeats) and recording every request.
type receiver struct {
	mu     sync.Mutex
	got    []received
	answer []int
	header http.Header
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, received{method: r.Method, path: r.URL.RequestURI(), body: string(b), header: r.Header.Clone()})
	status := http.StatusOK
	if len(rc.answer) > 0 {
		status = rc.answer[min(n, len(rc.answer)-1)]
	}
	for k, v := range rc.header {
		w.Header()[k] = v
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func msg(id, url string, obj map[string]any) channels.Message {
	o := map[string]any{"url": url}
	for k, v := range obj {
		o[k] = v
	}
	return channels.Message{ID: id, DispatchID: "d1", Object: o}
}

func TestMethodsHeadersBodyAndIdempotencyKey(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		rc := &receiver{}
		var srv *httptest.Server
		if tls {
			srv = httptest.NewTLSServer(rc)
		} else {
			srv = httptest.NewServer(rc)
		}
		defer srv.Close()
		opts := webhook.Options{AllowPrivate: true}
		if tls {
			opts.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		}
		s := webhook.New(opts)
		defer s.Close()
		var msgs []channels.Message
		for _, m := range webhook.Methods {
			msgs = append(msgs, msg("id-"+m, srv.URL+"/hook?m="+m, map[string]any{"request_method": strings.ToLower(m),
				"request_headers": map[string]any{"Authorization": "Bearer x", "Content-Type": "application/json"},
				"body":            `{"m":"` + m + `"}`}))
		}
		msgs = append(msgs, msg("id-default", srv.URL+"/plain", nil))
		res := s.Send(context.Background(), msgs)
		for i, r := range res {
			if r.Outcome != channels.Delivered {
				t.Fatalf("tls=%v %s: %+v", tls, msgs[i].ID, r)
			}
		}
		byKey := map[string]received{}
		for _, g := range rc.requests() {
			byKey[g.header.Get("Idempotency-Key")] = g
		}
		for _, m := range webhook.Methods {
			g, ok := byKey["id-"+m]
			if !ok {
				t.Fatalf("tls=%v: no request with Idempotency-Key id-%s", tls, m)
			}
			if g.method != m || g.path != "/hook?m="+m || g.body != `{"m":"`+m+`"}` ||
				g.header.Get("Authorization") != "Bearer x" || g.header.Get("Content-Type") != "application/json" {
				t.Errorf("tls=%v %s: got %+v", tls, m, g)
			}
		}
		if g := byKey["id-default"]; g.method != http.MethodPost || g.body != "" {
			t.Errorf("default: %+v", g)
		}
	}
}

func TestIdempotencyKeyStableOnResendAndNotOverridden(t *testing.T) {
	t.Parallel()
	rc := &receiver{answer: []int{503, 200}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := webhook.New(webhook.Options{AllowPrivate: true})
	m := msg("row-42", srv.URL, map[string]any{"request_headers": map[string]any{"Idempotency-Key": "forged"}, "body": "x"})
	if r := s.Send(context.Background(), []channels.Message{m})[0]; r.Outcome != channels.Retry {
		t.Fatalf("first: %+v", r)
	}
	if r := s.Send(context.Background(), []channels.Message{m})[0]; r.Outcome != channels.Delivered {
		t.Fatalf("second: %+v", r)
	}
	got := rc.requests()
	if len(got) != 2 || got[0].header.Get("Idempotency-Key") != "row-42" || got[1].header.Get("Idempotency-Key") != "row-42" {
		t.Fatalf("%+v", got)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		status     int
		retryAfter string
		want       channels.Outcome
		after      time.Duration
	}{
		{200, "", channels.Delivered, 0},
		{201, "", channels.Delivered, 0},
		{204, "", channels.Delivered, 0},
		{301, "", channels.Permanent, 0},
		{302, "", channels.Permanent, 0},
		{400, "", channels.Permanent, 0},
		{401, "", channels.Permanent, 0},
		{403, "", channels.Permanent, 0},
		{404, "", channels.Permanent, 0},
		{410, "", channels.Permanent, 0},
		{413, "", channels.Permanent, 0},
		{408, "", channels.Retry, 0},
		{429, "7", channels.Retry, 7 * time.Second},
		{429, now.Add(90 * time.Second).Format(http.TimeFormat), channels.Retry, 90 * time.Second},
		{500, "", channels.Retry, 0},
		{502, "", channels.Retry, 0},
		{503, "30", channels.Retry, 30 * time.Second},
	} {
		h := http.Header{}
		if c.retryAfter != "" {
			h.Set("Retry-After", c.retryAfter)
		}
		r := webhook.Classify(c.status, h, []byte("oops"), now)
		if r.Outcome != c.want || r.After != c.after {
			t.Errorf("%d %q: got %s after %s, want %s after %s", c.status, c.retryAfter, r.Outcome, r.After, c.want, c.after)
		}
		var perr *channels.ProviderError
		if c.want != channels.Delivered && (!errors.As(r.Err, &perr) || perr.Status != c.status || perr.Channel != channels.Webhook) {
			t.Errorf("%d: err %v", c.status, r.Err)
		}
	}
}

func TestRetryAfterOverTheWire(t *testing.T) {
	t.Parallel()
	rc := &receiver{answer: []int{429}, header: http.Header{"Retry-After": {"12"}}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	r := webhook.New(webhook.Options{AllowPrivate: true}).Send(context.Background(), []channels.Message{msg("a", srv.URL, nil)})[0]
	if r.Outcome != channels.Retry || r.After != 12*time.Second {
		t.Fatalf("%+v", r)
	}
}

func TestPrivateAddressesRefusedByDefault(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	s := webhook.New(webhook.Options{})
	for _, u := range []string{srv.URL, localhost, "http://10.0.0.1:9/x", "http://192.168.1.1:9/", "http://169.254.169.254/latest/meta-data", "http://[::1]:9/"} {
		r := s.Send(context.Background(), []channels.Message{msg("a", u, nil)})[0]
		if r.Outcome != channels.Permanent || r.Reason != webhook.ReasonAddressNotAllowed || !errors.Is(r.Err, webhook.ErrAddressNotAllowed) {
			t.Errorf("%s: %+v", u, r)
		}
		if strings.Contains(r.Err.Error(), "/latest/meta-data") {
			t.Errorf("%s: error quotes the path: %v", u, r.Err)
		}
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("%d requests reached a loopback receiver", n)
	}
	allowed := webhook.New(webhook.Options{AllowPrivate: true})
	if r := allowed.Send(context.Background(), []channels.Message{msg("a", localhost, nil)})[0]; r.Outcome != channels.Delivered {
		t.Fatalf("allowed: %+v", r)
	}
}

func TestRedirectsNotFollowed(t *testing.T) {
	t.Parallel()
	target := &receiver{}
	tsrv := httptest.NewServer(target)
	defer tsrv.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, tsrv.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	r := webhook.New(webhook.Options{AllowPrivate: true}).Send(context.Background(), []channels.Message{msg("a", srv.URL, map[string]any{"body": "b"})})[0]
	if r.Outcome != channels.Permanent {
		t.Fatalf("%+v", r)
	}
	if n := len(target.requests()); n != 0 {
		t.Fatalf("redirect followed: %d requests", n)
	}
}

func TestInvalidRequestsArePermanent(t *testing.T) {
	t.Parallel()
	s := webhook.New(webhook.Options{AllowPrivate: true})
	for name, obj := range map[string]map[string]any{
		"no url":     {"url": ""},
		"ftp":        {"url": "ftp://example.com/x"},
		"relative":   {"url": "/x"},
		"user info":  {"url": "https://u:p@example.com/"},
		"method":     {"url": "https://example.com/", "request_method": "TRACE"},
		"header":     {"url": "https://example.com/", "request_headers": map[string]any{"X-A": "a\r\nB: c"}},
		"host":       {"url": "https://example.com/", "request_headers": map[string]any{"Host": "evil"}},
		"not string": {"url": "https://example.com/", "request_headers": map[string]any{"X-A": 1.0}},
		"big body":   {"url": "https://example.com/", "body": strings.Repeat("x", webhook.MaxBodyBytes+1)},
	} {
		r := s.Send(context.Background(), []channels.Message{{ID: "a", Object: obj}})[0]
		if r.Outcome != channels.Permanent || r.Reason != webhook.ReasonInvalidRequest {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

func TestTransportErrorRetries(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // nothing listens there now
	r := webhook.New(webhook.Options{AllowPrivate: true}).Send(context.Background(), []channels.Message{msg("a", u, nil)})[0]
	if r.Outcome != channels.Retry || r.Reason != webhook.ReasonTransport {
		t.Fatalf("%+v", r)
	}
}
