package fcm

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/herald-oss/herald/channels"
)

// ScopeMessaging is the OAuth scope Herald asks for: sending FCM messages.
const ScopeMessaging = "https://www.googleapis.com/auth/firebase.messaging"

// serviceAccount is the part of a service-account JSON key Herald checks.
type serviceAccount struct {
	Type        string `json:"type"`
	ProjectID   string `json:"project_id"`
	PrivateKey  string `json:"private_key"`
	ClientEmail string `json:"client_email"`
}

// parseServiceAccount checks a service-account JSON key. Its errors never
// quote the key.
func parseServiceAccount(b []byte) (*serviceAccount, error) {
	if len(b) == 0 {
		return nil, errors.New("service account JSON is empty")
	}
	var sa serviceAccount
	if err := json.Unmarshal(b, &sa); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("service account JSON is malformed at byte %d", se.Offset)
		}
		return nil, errors.New("service account JSON has a field of the wrong type")
	}
	if sa.Type != "service_account" {
		return nil, fmt.Errorf("service account JSON: type %q, want \"service_account\"", sa.Type)
	}
	if sa.ClientEmail == "" {
		return nil, errors.New("service account JSON: client_email is missing")
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		return nil, errors.New("service account JSON: private_key is not PEM-encoded")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	if _, ok := key.(*rsa.PrivateKey); err != nil || !ok {
		return nil, errors.New("service account JSON: private_key is not an RSA private key")
	}
	return &sa, nil
}

// newTransport is the HTTP transport both the token fetch and the API calls
// use, so both trust roots (nil: the system's). It sets no
// ResponseHeaderTimeout: its expiry is a network error, which the SDK
// retries (sending the message again); API calls are bounded by noRetry's
// context deadline, token fetches by their client's Timeout.
func newTransport(roots *x509.CertPool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	t.ForceAttemptHTTP2 = true
	t.MaxIdleConnsPerHost = 100
	t.HTTP2 = &http.HTTP2Config{SendPingTimeout: 15 * time.Second, PingTimeout: 15 * time.Second}
	return t
}

// newTokenSource returns the service account's access tokens: a JWT-bearer
// exchange at the key's token_uri through client, cached until shortly before
// expiry. ctx only carries the client; the source outlives it.
func newTokenSource(ctx context.Context, jsonKey []byte, client *http.Client) (oauth2.TokenSource, error) {
	conf, err := google.JWTConfigFromJSON(jsonKey, ScopeMessaging)
	if err != nil {
		return nil, errors.New("service account JSON: not usable for a JWT grant")
	}
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, client)
	return conf.TokenSource(ctx), nil
}

// observed times each API round trip for Options.Observe and the context's
// latency recorder (channels.WithLatencyRecorder).
type observed struct {
	base    http.RoundTripper
	observe func(time.Duration)
}

func (o observed) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := o.base.RoundTrip(r)
	channels.ObserveSince(r.Context(), o.observe, start)
	return resp, err
}

// limited bounds the requests in flight: each holds a slot from before it is
// sent until its response body is closed (or it fails).
type limited struct {
	base  http.RoundTripper
	slots chan struct{}
}

func (l limited) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case l.slots <- struct{}{}:
	case <-r.Context().Done():
		if r.Body != nil {
			_ = r.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, r.Context().Err()
	}
	resp, err := l.base.RoundTrip(r)
	if err != nil {
		<-l.slots
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, slots: l.slots}
	return resp, nil
}

// releasingBody gives its request's slot back when closed.
type releasingBody struct {
	io.ReadCloser
	slots chan struct{}
	once  sync.Once
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { <-b.slots })
	return err
}

// tokenFailure is the Result of every message of a batch when no access
// token could be had. A token endpoint refusing the key (4xx other than 429)
// is a credential problem: Retry with Pause. Otherwise (network, 5xx, 429)
// the endpoint is only unavailable: Retry.
func tokenFailure(err error, now time.Time) channels.Result {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return channels.Result{Outcome: channels.Retry, Reason: "token_unavailable",
			Err: &channels.ProviderError{Channel: channels.FCM, Reason: "token_unavailable",
				Err: fmt.Errorf("fetching an OAuth2 access token: %w", err)}}
	}
	status := re.Response.StatusCode
	var body struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(re.Body, &body)
	reason := body.Error
	if reason == "" {
		reason = "token_refused"
	}
	r := channels.Result{Outcome: channels.Retry, Reason: reason}
	after := channels.ParseRetryAfter(re.Response.Header.Get("Retry-After"), now)
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
		r.Pause = true
	} else {
		r.After = after
	}
	r.Err = &channels.ProviderError{Channel: channels.FCM, Status: status, Reason: reason, RetryAfter: after,
		Err: fmt.Errorf("fetching an OAuth2 access token: %w", err)}
	return r
}
