package webpush

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"github.com/herald-oss/herald/channels"
)

// Defaults of Options.
const (
	DefaultMaxInFlight     = 256
	DefaultTimeout         = 30 * time.Second
	DefaultMaxConnsPerHost = 32
)

// Options tune a Sender. The zero value is usable.
type Options struct {
	// RootCAs are the CAs trusted for push services' certificates; nil uses the
	// system roots (a pool replaces them: add the system roots to it when both
	// are wanted).
	RootCAs *x509.CertPool
	// MaxInFlight bounds the requests (and encryptions) under way at once across
	// all Send calls. Default DefaultMaxInFlight (256).
	MaxInFlight int
	// Timeout bounds one request, from dial to the end of the answer. Default
	// DefaultTimeout (30 s).
	Timeout time.Duration
	// MaxConnsPerHost bounds the connections to one push service. Default
	// DefaultMaxConnsPerHost (32); HTTP/2 multiplexes requests on each.
	MaxConnsPerHost int
	// Policy says which endpoints may be contacted: every message's endpoint is
	// checked before anything is sent. The zero value allows the default push
	// services, https only.
	Policy EndpointPolicy
	// DefaultTTL is the TTL of a message whose object sets no time_to_live.
	// Default DefaultTTL (4 weeks), also the maximum.
	DefaultTTL time.Duration
	// Now is the clock (Retry-After dates). Default time.Now.
	Now func() time.Time
	// Observe, when set, is called with each push service round-trip latency.
	Observe func(time.Duration)
	// Logger, when set, gets a line per failure (never a key or an endpoint's
	// path). Default: discard.
	Logger *slog.Logger
}

// Sender sends Web Push messages for one app. It is safe for concurrent use.
type Sender struct {
	creds      Credentials // normalized
	policy     EndpointPolicy
	defaultTTL time.Duration
	transport  *http.Transport
	client     webpushgo.HTTPClient
	// vapid reuses the signed VAPID header per push service for most of
	// its token's 12 hours instead of signing one per message.
	vapid  *webpushgo.VAPIDHeaderCache
	sem    chan struct{}
	work   *channels.Workers // MaxInFlight goroutines kept between sends
	now    func() time.Time
	log    *slog.Logger
	closed atomic.Bool
}

var _ channels.Sender = (*Sender)(nil)

// New returns a Sender for one app's VAPID credentials. It checks the keys and
// the subject, and the policy's allow-list.
func New(ctx context.Context, creds Credentials, opts Options) (*Sender, error) {
	_ = ctx // nothing to fetch: keys are checked locally
	c, err := creds.normalize()
	if err != nil {
		return nil, err
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("webpush: endpoint policy: %w", err)
	}
	if opts.Policy.AllowedHosts == nil {
		opts.Policy.AllowedHosts = DefaultAllowedHosts()
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxConnsPerHost <= 0 {
		opts.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	tr := newTransport(opts)
	hc := &http.Client{
		Transport: tr,
		Timeout:   opts.Timeout,
		// A push service answers; it does not redirect. Following one would post
		// to a host the policy never saw.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Sender{
		creds:      c,
		policy:     opts.Policy,
		defaultTTL: opts.DefaultTTL,
		transport:  tr,
		client:     &observedClient{c: hc, observe: opts.Observe},
		vapid:      webpushgo.NewVAPIDHeaderCache(opts.Now),
		sem:        make(chan struct{}, opts.MaxInFlight),
		work:       channels.NewWorkers(opts.MaxInFlight),
		now:        opts.Now,
		log:        opts.Logger,
	}, nil
}

func newTransport(opts Options) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: opts.Timeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          4 * opts.MaxConnsPerHost,
		MaxIdleConnsPerHost:   opts.MaxConnsPerHost,
		MaxConnsPerHost:       opts.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout:  30 * time.Second, // find dead connections
			PingTimeout:      15 * time.Second,
			WriteByteTimeout: 30 * time.Second,
		},
	}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(true)
	tr.Protocols.SetHTTP2(true)
	return tr
}

// observedClient times each round trip for Options.Observe and the
// context's latency recorder (channels.WithLatencyRecorder).
type observedClient struct {
	c       *http.Client
	observe func(time.Duration)
}

func (o *observedClient) Do(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := o.c.Do(req)
	channels.ObserveSince(req.Context(), o.observe, start)
	return resp, err
}

// Send sends msgs concurrently within MaxInFlight and returns their results in
// order. It never retries.
func (s *Sender) Send(ctx context.Context, msgs []channels.Message) []channels.Result {
	results := make([]channels.Result, len(msgs))
	var wg sync.WaitGroup
	for i := range msgs {
		wg.Add(1)
		if !s.work.Run(ctx, func() { defer wg.Done(); results[i] = s.send(ctx, msgs[i]) }) {
			wg.Done()
			results[i] = channels.Result{Outcome: channels.Retry, Reason: ReasonCanceled, Err: ctx.Err()}
			if s.closed.Load() {
				results[i] = channels.Result{Outcome: channels.Retry, Reason: ReasonClosed, Err: errors.New("webpush: sender closed")}
			}
		}
	}
	wg.Wait()
	return results
}

// Close releases idle connections; later sends answer Retry.
func (s *Sender) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.work.Stop()
	}
	s.transport.CloseIdleConnections()
	return nil
}

func (s *Sender) send(ctx context.Context, msg channels.Message) channels.Result {
	if s.closed.Load() {
		return channels.Result{Outcome: channels.Retry, Reason: ReasonClosed, Err: errors.New("webpush: sender closed")}
	}
	sub, push, refused := s.prepare(msg)
	if refused != nil {
		return s.fail(msg, *refused, sub.Endpoint)
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return channels.Result{Outcome: channels.Retry, Reason: ReasonCanceled, Err: ctx.Err()}
	}
	defer func() { <-s.sem }()
	resp, err := webpushgo.SendNotificationWithContext(ctx, push.Payload,
		&webpushgo.Subscription{Endpoint: sub.Endpoint, Keys: webpushgo.Keys{Auth: sub.Keys.Auth, P256dh: sub.Keys.P256dh}},
		&webpushgo.Options{
			HTTPClient:      s.client,
			RecordSize:      RecordSize,
			Subscriber:      s.creds.Subject,
			Topic:           push.Topic,
			TTL:             push.TTL,
			Urgency:         webpushgo.Urgency(push.Urgency),
			VAPIDPublicKey:  s.creds.VAPIDPublicKey,
			VAPIDPrivateKey: s.creds.VAPIDPrivateKey,
			HeaderCache:     s.vapid,
		})
	if err != nil {
		return s.fail(msg, s.sendError(ctx, err, sub.Endpoint), sub.Endpoint)
	}
	defer resp.Body.Close()
	var body []byte
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		body = redact(body, sub.Endpoint)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	r := Classify(resp.StatusCode, resp.Header, body, s.now())
	if r.Outcome == channels.Delivered {
		return r
	}
	return s.fail(msg, r, sub.Endpoint)
}

// prepare checks a message before anything is sent: its token (DropToken when
// it is not a subscription), its endpoint (Permanent when the policy refuses
// it) and its payload (Permanent, invalid_push_payload).
func (s *Sender) prepare(msg channels.Message) (Subscription, Push, *channels.Result) {
	sub, err := ParseSubscription(msg.Token)
	if err != nil {
		return Subscription{}, Push{}, &channels.Result{Outcome: channels.DropToken, Reason: ReasonInvalidSubscription, Err: err}
	}
	if err := s.policy.Check(sub.Endpoint); err != nil {
		return sub, Push{}, &channels.Result{Outcome: channels.Permanent, Reason: ReasonEndpointNotAllowed, Err: err}
	}
	push, err := BuildPayload(msg)
	if err != nil {
		r := channels.PermanentResult(channels.ReasonInvalidPayload, err)
		return sub, Push{}, &r
	}
	if _, set := msg.Object["time_to_live"]; !set && s.defaultTTL > 0 && s.defaultTTL < DefaultTTL {
		push.TTL = int(s.defaultTTL / time.Second)
	}
	return sub, push, nil
}

// sendError classifies an error of webpush-go before or instead of an answer.
func (s *Sender) sendError(ctx context.Context, err error, endpoint string) channels.Result {
	var ue *url.Error
	if errors.As(err, &ue) {
		// the URL is the subscription's secret: keep only its origin
		err = &url.Error{Op: ue.Op, URL: origin(endpoint), Err: ue.Err}
		reason := ReasonTransport
		if ctx.Err() != nil {
			reason = ReasonCanceled
		}
		return channels.Result{Outcome: channels.Retry, Reason: reason,
			Err: &channels.ProviderError{Channel: channels.WebPush, Reason: reason, Err: err}}
	}
	if errors.Is(err, webpushgo.ErrMaxPadExceeded) {
		return channels.PermanentResult(channels.ReasonInvalidPayload, fmt.Errorf("webpush: payload does not fit one record: %w", err))
	}
	// key decoding, randomness or signing inside the library
	return channels.Result{Outcome: channels.Retry, Reason: ReasonEncrypt, Err: fmt.Errorf("webpush: encrypt or sign: %w", err)}
}

func (s *Sender) fail(msg channels.Message, r channels.Result, endpoint string) channels.Result {
	level := slog.LevelDebug
	if r.Pause {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "web push not delivered",
		"app_id", msg.AppID, "message_id", msg.ID, "push_service", origin(endpoint),
		"outcome", r.Outcome.String(), "reason", r.Reason, "pause", r.Pause, "error", r.Err)
	return r
}

// origin is scheme://host of an endpoint: what may be logged of it.
func origin(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// redact removes the endpoint and its path (the subscription's secret) from an
// answer's body.
func redact(body []byte, endpoint string) []byte {
	if endpoint == "" || len(body) == 0 {
		return body
	}
	body = bytes.ReplaceAll(body, []byte(endpoint), []byte("<endpoint>"))
	if u, err := url.Parse(endpoint); err == nil {
		path := strings.Trim(u.EscapedPath(), "/")
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			path = path[i+1:]
		}
		if len(path) >= 8 {
			body = bytes.ReplaceAll(body, []byte(path), []byte("<token>"))
		}
		if u.RawQuery != "" {
			body = bytes.ReplaceAll(body, []byte(u.RawQuery), []byte("<token>"))
		}
	}
	return body
}
