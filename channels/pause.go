package channels

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Pausable wraps one app's Sender and protects the app from its own
// misconfiguration:
//
//   - When a result reports a credential or environment problem (Result.Pause),
//     the app's channel is paused for a cooldown: until then Send contacts
//     nobody and answers Retry after the time left. An error log names the app
//     and OnPause is called once per pause; the channel resumes by itself after
//     the cooldown (the next batch probes the provider).
//   - Answers that would prune a token for being invalid for this app (IsInvalid:
//     APNs BadDeviceToken, FCM SENDER_ID_MISMATCH) are counted over a window of
//     the app's recent sends. When they are more than 5 % of the answers (and at
//     least 3) while less than half were delivered — the sign of a wrong
//     environment, topic or project — they are retried and the channel paused
//     instead of pruning every token. When the app's other tokens are being
//     delivered, they are pruned.
//   - Credential answers that may concern one token only (PerToken: a Web Push
//     subscription made with another VAPID key) pause the channel only when
//     nothing of the app is being delivered; otherwise the token is dropped.
type Pausable struct {
	inner    Sender
	appID    string
	channel  string
	cooldown time.Duration
	now      func() time.Time
	log      *slog.Logger
	onPause  func(appID, channel string)
	invalid  func(Result) bool
	perToken func(Result) bool

	mu     sync.Mutex
	until  time.Time
	reason string
	win    window
}

// PauseOptions configure a Pausable.
type PauseOptions struct {
	Cooldown time.Duration // default 5m
	Now      func() time.Time
	Logger   *slog.Logger
	// OnPause is called each time the channel is paused (for a metric).
	OnPause func(appID, channel string)
	// IsInvalid picks answers that prune a token for being invalid for this app.
	IsInvalid func(Result) bool
	// PerToken picks credential answers that may concern one token only.
	PerToken func(Result) bool
	// Window is how far back the app's answers count. Default 10m.
	Window time.Duration
}

// Guard thresholds: at least massInvalidMin invalid answers, more than
// massInvalidShare of all answers, with less than half delivered.
const (
	massInvalidMin   = 3
	massInvalidShare = 0.05
)

// NewPausable wraps inner, the sender of appID on channel.
func NewPausable(inner Sender, appID, channel string, o PauseOptions) *Pausable {
	if o.Cooldown <= 0 {
		o.Cooldown = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Minute
	}
	return &Pausable{inner: inner, appID: appID, channel: channel, cooldown: o.Cooldown, now: o.Now, log: o.Logger,
		onPause: o.OnPause, invalid: o.IsInvalid, perToken: o.PerToken, win: newWindow(o.Window)}
}

// Send sends through the wrapped sender unless the channel is paused.
func (p *Pausable) Send(ctx context.Context, msgs []Message) []Result {
	if left, reason := p.left(); left > 0 {
		out := make([]Result, len(msgs))
		for i := range out {
			out[i] = Result{Outcome: Retry, After: left, Reason: "channel_paused",
				Err: fmt.Errorf("%s channel of app %s is paused after %s", p.channel, p.appID, reason)}
		}
		return out
	}
	results := p.inner.Send(ctx, msgs)
	p.judge(results)
	return results
}

// judge counts a batch's answers and rewrites them by the rules above; it pauses
// the channel when a result still asks for it.
func (p *Pausable) judge(results []Result) {
	now := p.now()
	var delivered, invalid int
	for _, r := range results {
		switch {
		case r.Outcome == Delivered:
			delivered++
		case r.Outcome == DropToken && p.invalid != nil && p.invalid(r):
			invalid++
		}
	}
	p.mu.Lock()
	p.win.add(now, len(results), delivered, invalid)
	total, wDelivered, wInvalid := p.win.sum(now)
	p.mu.Unlock()

	if invalid > 0 && wInvalid >= massInvalidMin && float64(wInvalid) > massInvalidShare*float64(total) && 2*wDelivered < total {
		for i, r := range results {
			if r.Outcome == DropToken && p.invalid(r) {
				results[i] = Result{Outcome: Retry, Reason: r.Reason, Pause: true,
					Err: fmt.Errorf("%d of the app's last %d answers were invalid tokens and few were delivered: likely a wrong environment, topic or project, so none is pruned: %w", wInvalid, total, r.Err)}
			}
		}
	}
	var pause *Result
	for i, r := range results {
		if !r.Pause {
			continue
		}
		if p.perToken != nil && p.perToken(r) && wDelivered > 0 {
			// the app's credentials work for other tokens: this one is the problem
			results[i] = Result{Outcome: DropToken, Reason: r.Reason,
				Err: fmt.Errorf("refused for this token while the app's other tokens are delivered: %w", r.Err)}
			continue
		}
		if pause == nil {
			pause = &results[i]
		}
	}
	if pause == nil {
		return
	}
	r := *pause
	left := p.pause(now, r)
	for i := range results {
		if results[i].Pause && results[i].After < left {
			results[i].After = left // do not come back before the channel resumes
		}
	}
}

func (p *Pausable) left() (time.Duration, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.until.Sub(p.now()); d > 0 {
		return d, p.reason
	}
	return 0, ""
}

// pause starts a pause unless one is running (concurrent batches do not extend
// it or log twice); it returns the time left.
func (p *Pausable) pause(now time.Time, r Result) time.Duration {
	p.mu.Lock()
	if left := p.until.Sub(now); left > 0 {
		p.mu.Unlock()
		return left
	}
	p.until = now.Add(p.cooldown)
	p.reason = r.Reason
	p.mu.Unlock()
	p.log.Error("pausing a channel: the provider refused this app's credentials or environment",
		"app_id", p.appID, "channel", p.channel, "reason", r.Reason, "for", p.cooldown.String(), "err", r.Err)
	if p.onPause != nil {
		p.onPause(p.appID, p.channel)
	}
	return p.cooldown
}

// Paused reports whether the channel is paused, until when and why.
func (p *Pausable) Paused() (bool, time.Time, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now().Before(p.until), p.until, p.reason
}

// Resume lifts a pause.
func (p *Pausable) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.until = time.Time{}
}

// Close closes the wrapped sender.
func (p *Pausable) Close() error { return p.inner.Close() }

// window counts answers in minute buckets over a span.
type window struct {
	span    time.Duration
	buckets []bucket
}

type bucket struct {
	minute                    int64
	total, delivered, invalid int
}

func newWindow(span time.Duration) window {
	n := int(span/time.Minute) + 1
	return window{span: span, buckets: make([]bucket, n)}
}

func (w *window) add(now time.Time, total, delivered, invalid int) {
	m := now.Unix() / 60
	b := &w.buckets[m%int64(len(w.buckets))]
	if b.minute != m {
		*b = bucket{minute: m}
	}
	b.total += total
	b.delivered += delivered
	b.invalid += invalid
}

func (w *window) sum(now time.Time) (total, delivered, invalid int) {
	oldest := now.Add(-w.span).Unix() / 60
	for _, b := range w.buckets {
		if b.minute >= oldest && b.total > 0 {
			total += b.total
			delivered += b.delivered
			invalid += b.invalid
		}
	}
	return total, delivered, invalid
}
