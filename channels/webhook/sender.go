package webhook

import (
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/herald-oss/herald/channels"
)

// Defaults of Options.
const (
	DefaultMaxInFlight = 64
	DefaultTimeout     = 15 * time.Second
	// MaxBodyBytes bounds a rendered request body.
	MaxBodyBytes = 1 << 20
)

// Reasons Herald gives to failures that are not a receiver's answer.
const (
	ReasonAddressNotAllowed = "address_not_allowed"
	// ReasonInvalidRequest: the rendered object is not a valid request (the
	// pipeline aborts it as an invalid payload).
	ReasonInvalidRequest = channels.ReasonInvalidPayload
	ReasonTransport      = "transport_error"
	ReasonCanceled       = "canceled"
	ReasonClosed         = "sender_closed"
)

// ErrAddressNotAllowed is returned (wrapped) when a URL's host resolves to a
// loopback, private, link-local, multicast or unspecified address.
var ErrAddressNotAllowed = errors.New("webhook: address not allowed")

// Options tune a Sender. The zero value is usable.
type Options struct {
	// Timeout bounds one request, from dial to the end of the answer. Default
	// DefaultTimeout (15 s).
	Timeout time.Duration
	// MaxInFlight bounds the requests under way at once. Default
	// DefaultMaxInFlight (64).
	MaxInFlight int
	// AllowPrivate allows loopback, private and link-local addresses (herald
	// dev, tests, receivers on the local network). Default false.
	AllowPrivate bool
	// RootCAs are the CAs trusted for receivers' certificates; nil uses the
	// system roots.
	RootCAs *x509.CertPool
	// Now is the clock (Retry-After dates). Default time.Now.
	Now func() time.Time
	// Observe, when set, is called with each round-trip latency.
	Observe func(time.Duration)
	// Logger gets a debug line per failure. Default: discard.
	Logger *slog.Logger
}

// Sender sends webhooks. It is safe for concurrent use.
type Sender struct {
	client    *http.Client
	transport *http.Transport
	sem       chan struct{}
	now       func() time.Time
	observe   func(time.Duration)
	log       *slog.Logger
	closed    atomic.Bool
}

var _ channels.Sender = (*Sender)(nil)

// New returns a Sender.
func New(opts Options) *Sender {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dialer := &net.Dialer{Timeout: min(opts.Timeout, 10*time.Second), KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error { return checkAddress(address, opts.AllowPrivate) }}
	tr := &http.Transport{
		// No proxy: the dialer's check must see the receiver's own address.
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Sender{
		client: &http.Client{Transport: tr, Timeout: opts.Timeout,
			// Following a redirect would send to a URL no template produced.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		transport: tr,
		sem:       make(chan struct{}, opts.MaxInFlight),
		now:       opts.Now,
		observe:   opts.Observe,
		log:       opts.Logger,
	}
}

// checkAddress refuses the addresses a webhook may not reach unless allowed.
func checkAddress(address string, allowPrivate bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("%w: %q is not an IP address", ErrAddressNotAllowed, host)
	}
	if ip.IsUnspecified() || ip.IsMulticast() || ip.IsLinkLocalMulticast() {
		return fmt.Errorf("%w: %s", ErrAddressNotAllowed, ip)
	}
	if !allowPrivate && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast()) {
		return fmt.Errorf("%w: %s is a loopback, private or link-local address (providers.webhook.allow_private)", ErrAddressNotAllowed, ip)
	}
	return nil
}

// Send sends msgs concurrently within MaxInFlight and returns their results in
// order. It never retries.
func (s *Sender) Send(ctx context.Context, msgs []channels.Message) []channels.Result {
	return channels.SendEach(msgs, cap(s.sem), func(m channels.Message) channels.Result { return s.send(ctx, m) })
}

// Close releases idle connections; later sends answer Retry.
func (s *Sender) Close() error {
	s.closed.Store(true)
	s.transport.CloseIdleConnections()
	return nil
}

func (s *Sender) send(ctx context.Context, msg channels.Message) channels.Result {
	if s.closed.Load() {
		return channels.Result{Outcome: channels.Retry, Reason: ReasonClosed, Err: errors.New("webhook: sender closed")}
	}
	req, err := NewRequest(ctx, msg)
	if err != nil {
		return s.fail(msg, channels.PermanentResult(ReasonInvalidRequest, err))
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return channels.Result{Outcome: channels.Retry, Reason: ReasonCanceled, Err: ctx.Err()}
	}
	defer func() { <-s.sem }()
	start := time.Now()
	resp, err := s.client.Do(req)
	channels.ObserveSince(ctx, s.observe, start)
	if err != nil {
		return s.fail(msg, transportError(ctx, err, req.URL))
	}
	defer resp.Body.Close()
	var body []byte
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	r := Classify(resp.StatusCode, resp.Header, body, s.now())
	if r.Outcome == channels.Delivered {
		return r
	}
	return s.fail(msg, r)
}

// transportError classifies a failure before an answer: a refused address is
// Permanent, anything else Retry.
func transportError(ctx context.Context, err error, u *url.URL) channels.Result {
	var ue *url.Error
	if errors.As(err, &ue) { // keep only the origin: the path and query may hold secrets
		err = &url.Error{Op: ue.Op, URL: u.Scheme + "://" + u.Host, Err: ue.Err}
	}
	if errors.Is(err, ErrAddressNotAllowed) {
		return channels.Result{Outcome: channels.Permanent, Reason: ReasonAddressNotAllowed, Err: err}
	}
	reason := ReasonTransport
	if ctx.Err() != nil {
		reason = ReasonCanceled
	}
	return channels.Result{Outcome: channels.Retry, Reason: reason,
		Err: &channels.ProviderError{Channel: channels.Webhook, Reason: reason, Err: err}}
}

func (s *Sender) fail(msg channels.Message, r channels.Result) channels.Result {
	s.log.Debug("webhook not delivered", "message_id", msg.ID, "dispatch_id", msg.DispatchID,
		"outcome", r.Outcome.String(), "reason", r.Reason, "error", r.Err)
	return r
}
