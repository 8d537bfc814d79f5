package fcm

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"
	"golang.org/x/oauth2"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// failingBody fails after its first bytes, as a reset stream does.
type failingBody struct{ sent bool }

func (b *failingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, `{"name":"proj`), nil
	}
	return 0, syscall.ECONNRESET
}

func (b *failingBody) Close() error { return nil }

func answerWith(status int, h http.Header, body io.ReadCloser) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: status, Header: h, Body: body}
}

// noRetry turns transport errors and 503 into answers the SDK does not
// retry, marks them for the classifier, and leaves other answers (and an
// ended Send context) alone.
func TestNoRetryTransport(t *testing.T) {
	t.Parallel()
	blockUntilDone := func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	cases := []struct {
		name       string
		base       roundTripFunc
		status     int
		transport  string
		realStatus string
		retryAfter string
	}{
		{"dial", func(*http.Request) (*http.Response, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		}, statusNoRetry, ReasonConnectFailed, "", ""},
		{"reset", func(*http.Request) (*http.Response, error) {
			return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
		}, statusNoRetry, ReasonTransportError, "", ""},
		{"deadline", blockUntilDone, statusNoRetry, ReasonTimeout, "", ""},
		{"body cut after 200", func(*http.Request) (*http.Response, error) {
			return answerWith(200, nil, &failingBody{}), nil
		}, statusNoRetry, ReasonTransportError, "", ""},
		{"503", func(*http.Request) (*http.Response, error) {
			return answerWith(503, http.Header{"Retry-After": {"9"}}, io.NopCloser(strings.NewReader(`{"error":{}}`))), nil
		}, statusNoRetry, "", "503", "9"},
		{"200 with forged marks", func(*http.Request) (*http.Response, error) {
			h := http.Header{headerTransportError: {"x"}, headerStatus: {"503"}}
			return answerWith(200, h, io.NopCloser(strings.NewReader(`{"name":"n"}`))), nil
		}, 200, "", "", ""},
		{"429", func(*http.Request) (*http.Response, error) {
			return answerWith(429, http.Header{"Retry-After": {"4"}}, io.NopCloser(strings.NewReader(`{}`))), nil
		}, 429, "", "", "4"},
	}
	for _, c := range cases {
		rt := noRetry{base: c.base, timeout: 30 * time.Millisecond}
		req, _ := http.NewRequest(http.MethodPost, "https://fcm.test/v1/projects/p/messages:send", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Errorf("%s: error %v, want an answer", c.name, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		if resp.StatusCode != c.status || resp.Header.Get(headerTransportError) != c.transport ||
			resp.Header.Get(headerStatus) != c.realStatus || resp.Header.Get("Retry-After") != c.retryAfter || err != nil || len(body) == 0 {
			t.Errorf("%s: %d %v body %q (%v)", c.name, resp.StatusCode, resp.Header, body, err)
		}
	}

	// Send's context ended: its error goes up as is (the SDK then returns
	// without another attempt).
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://fcm.test/v1/projects/p/messages:send", nil)
	time.AfterFunc(10*time.Millisecond, cancel)
	resp, err := noRetry{base: roundTripFunc(blockUntilDone), timeout: time.Minute}.RoundTrip(req)
	if resp != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v %v, want context.Canceled", resp, err)
	}
}

// failingTokens fails every Token call and counts them.
type failingTokens struct{ calls atomic.Int32 }

func (f *failingTokens) Token() (*oauth2.Token, error) {
	f.calls.Add(1)
	return nil, errors.New("token endpoint unreachable")
}

// An access token refresh failing under the SDK (mid-batch) is an answer:
// one attempt, Retry, nothing sent; the SDK treated it as a network error
// and retried it for seconds.
func TestTokenRefreshFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	tokens := &failingTokens{}
	client, err := newClient(context.Background(), testProject, e.srv.Endpoint, tokens, newTransport(e.srv.Pool()),
		Options{MaxInFlight: 10, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = client.Send(context.Background(), &messaging.Message{Token: "ok-1"})
	r := result("", err, time.Now())
	if r.Outcome != channels.Retry || r.Pause || r.Reason != ReasonTokenUnavailable {
		t.Errorf("%s pause %v reason %q (%v)", r.Outcome, r.Pause, r.Reason, r.Err)
	}
	if n := tokens.calls.Load(); n != 1 || time.Since(start) > 500*time.Millisecond {
		t.Errorf("%d token attempts in %s, want 1", n, time.Since(start))
	}
	if n := e.srv.Fake.Sends(); n != 0 {
		t.Errorf("%d POSTs without a token", n)
	}
}
