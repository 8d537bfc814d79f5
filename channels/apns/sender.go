package apns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"

	"github.com/herald-oss/herald/channels"
)

// TokenRefresh is how often the shared provider token is re-signed: Apple
// refuses tokens older than an hour and answers TooManyProviderTokenUpdates
// to a refresh more often than every 20 minutes.
const TokenRefresh = 40 * time.Minute

// Sender sends one app's notifications through one long-lived HTTP/2 client.
// It is safe for concurrent use.
type Sender struct {
	client  *apns2.Client
	conns   *conns       // the client's open connections
	tok     *token.Token // nil for certificate auth
	signed  atomic.Int64 // when tok was last signed, by now (unix ns)
	topic   string
	work    *channels.Workers
	now     func() time.Time
	observe func(time.Duration)
	log     *slog.Logger
	timeout time.Duration // Options.Timeout: bounds a request, so Close's wait
	closed  atomic.Bool

	// mu guards sending and idle: Close waits for the Send calls running when
	// it is called, so that their connections can be closed once idle.
	mu      sync.Mutex
	sending int           // Send calls running
	idle    chan struct{} // closed when the sender is closed and sending is 0
}

var _ channels.Sender = (*Sender)(nil)

// New builds the Sender of one app. It checks the credentials and, for token
// auth, signs the first provider token, so a bad key fails here. It does not
// connect: the connection is made by the first send and kept open.
func New(ctx context.Context, creds Credentials, opts Options) (*Sender, error) {
	_ = ctx // nothing to wait for: the connection is made lazily
	opts = opts.withDefaults()
	host, err := creds.validate()
	if err != nil {
		return nil, fmt.Errorf("apns: %w", err)
	}
	dial := newConns()
	client, tok, err := newClient(creds, host, opts, dial)
	if err != nil {
		return nil, err
	}
	s := &Sender{
		client: client, conns: dial, tok: tok, topic: strings.TrimSpace(creds.Topic),
		work: channels.NewWorkers(opts.MaxInFlight),
		now:  opts.Now, observe: opts.Observe, log: opts.Logger,
		timeout: opts.Timeout, idle: make(chan struct{}),
	}
	s.signed.Store(opts.Now().UnixNano())
	return s, nil
}

// Send sends msgs concurrently, at most MaxInFlight at once across all calls,
// and returns their results in order. It never retries.
func (s *Sender) Send(ctx context.Context, msgs []channels.Message) []channels.Result {
	results := make([]channels.Result, len(msgs))
	if !s.enter() {
		for i := range results {
			results[i] = closedResult()
		}
		return results
	}
	defer s.leave()
	var wg sync.WaitGroup
	for i := range msgs {
		if s.closed.Load() {
			results[i] = closedResult()
			continue
		}
		if err := ctx.Err(); err != nil {
			results[i] = ClassifyError(err, msgs[i].Token)
			continue
		}
		wg.Add(1)
		if !s.work.Run(ctx, func() { defer wg.Done(); results[i] = s.send(ctx, msgs[i]) }) {
			wg.Done()
			if err := ctx.Err(); err != nil {
				results[i] = ClassifyError(err, msgs[i].Token)
			} else {
				results[i] = closedResult()
			}
		}
	}
	wg.Wait()
	// No mass-invalidation guard here: the app's channels.Pausable weighs
	// invalid tokens over a window, with IsInvalidToken as its predicate.
	return results
}

// enter counts a Send call in, unless the sender is closed.
func (s *Sender) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.sending++
	return true
}

// leave counts a Send call out; the last one out after Close wakes Close.
func (s *Sender) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sending--
	if s.sending == 0 && s.closed.Load() {
		close(s.idle)
	}
}

// send sends one message.
func (s *Sender) send(ctx context.Context, m channels.Message) channels.Result {
	n, res, ok := s.prepare(m, s.now())
	if !ok {
		return res
	}
	s.refreshToken()
	tap := new(answerTap)
	// The HTTP client's Timeout (Options.Timeout) bounds the request.
	start := time.Now()
	r, err := s.client.PushWithContext(context.WithValue(ctx, tapKey{}, tap), n)
	channels.ObserveSince(ctx, s.observe, start)
	if err != nil {
		return ClassifyError(err, m.Token)
	}
	return Classify(Answer{Status: r.StatusCode, Reason: r.Reason, RetryAfter: tap.retryAfter,
		ApnsID: r.ApnsID, Timestamp: r.Timestamp.Time}, s.now())
}

// prepare builds the notification of m, or the final result of a message
// Herald refuses to send: a payload that cannot be built or is over the size
// limit (Permanent), a token that cannot be a device token (DropToken).
func (s *Sender) prepare(m channels.Message, now time.Time) (*apns2.Notification, channels.Result, bool) {
	p, err := BuildPayload(m, now)
	if err != nil {
		return nil, channels.PermanentResult(channels.ReasonInvalidPayload, err), false
	}
	if !validToken(m.Token) {
		// Herald's own verdict, not APNs': a reason of its own keeps it out of
		// IsInvalidToken, so malformed tokens cannot pause the app.
		return nil, channels.Result{Outcome: channels.DropToken, Reason: ReasonInvalidTokenFormat,
			Err: &channels.ProviderError{Channel: channels.APNs, Reason: ReasonInvalidTokenFormat,
				Err: errors.New("the token cannot be a device token (checked by Herald; not sent)")}}, false
	}
	return &apns2.Notification{
		DeviceToken: m.Token,
		Topic:       TopicFor(s.topic, p.PushType),
		CollapseID:  p.CollapseID,
		Priority:    p.Priority,
		Expiration:  p.Expiration,
		PushType:    p.PushType,
		Payload:     p.Body,
	}, channels.Result{}, true
}

// refreshToken re-signs the shared provider token every TokenRefresh; apns2
// itself would only do it after 50 minutes.
func (s *Sender) refreshToken() {
	if s.tok == nil {
		return
	}
	due := func(now time.Time) bool { return now.Sub(time.Unix(0, s.signed.Load())) >= TokenRefresh }
	now := s.now()
	if !due(now) {
		return
	}
	s.tok.Lock()
	defer s.tok.Unlock()
	if !due(now) {
		return // another request re-signed it
	}
	if _, err := s.tok.Generate(); err != nil {
		s.log.Error("apns: re-signing the provider token failed; the previous one stays in use", "topic", s.topic, "err", err)
		return
	}
	s.signed.Store(now.UnixNano())
}

// Close closes the sender: later sends answer Retry (sender_closed). It waits,
// at most Options.Timeout (which bounds every request), for the sends running
// to finish, then closes the client's connections. A connection busy when
// closed would otherwise stay open for good, its PINGs keeping it alive (the
// transport's IdleConnTimeout is only a backstop).
func (s *Sender) Close() error {
	s.mu.Lock()
	if s.closed.CompareAndSwap(false, true) {
		s.work.Stop()
		if s.sending == 0 {
			close(s.idle)
		}
	}
	s.mu.Unlock()
	wait := time.NewTimer(s.timeout)
	defer wait.Stop()
	select {
	case <-s.idle:
	case <-wait.C:
		s.log.Warn("apns: closing the sender while requests are still running; they fail",
			"topic", s.topic, "waited", s.timeout.String())
	}
	s.client.CloseIdleConnections()
	// The transport releases a stream in a goroutine of its own, after the
	// response reached the send: a connection it still counts as busy is
	// closed here.
	s.conns.closeAll()
	return nil
}

func closedResult() channels.Result {
	return channels.Result{Outcome: channels.Retry, Reason: ReasonSenderClosed,
		Err: &channels.ProviderError{Channel: channels.APNs, Reason: ReasonSenderClosed, Err: errors.New("the sender is closed")}}
}

// validToken reports whether a token can go in the request path unescaped.
// APNs tokens are hexadecimal; fakes use words and dashes.
func validToken(t string) bool {
	if t == "" || len(t) > 200 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// tapKey carries an answerTap in a request's context, so the transport can
// hand back the one response header apns2 does not expose.
type tapKey struct{}

// answerTap receives the Retry-After header of one request's response.
type answerTap struct{ retryAfter string }

// tapTransport wraps apns2's HTTP/2 transport to read Retry-After.
type tapTransport struct{ base *http2.Transport }

func (t tapTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(r)
	if err == nil {
		if tap, ok := r.Context().Value(tapKey{}).(*answerTap); ok {
			tap.retryAfter = res.Header.Get("Retry-After")
		}
	}
	return res, err
}

// CloseIdleConnections lets apns2's Client.CloseIdleConnections reach the
// HTTP/2 transport.
func (t tapTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }
