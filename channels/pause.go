package channels

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Pausable wraps one app's Sender. When a result reports a credential or
// environment problem (Result.Pause), the app's channel is paused for a cooldown:
// until then Send contacts nobody and answers every message Retry, after the
// time left. An error log names the app once per pause, and OnPause lets the
// caller count it; the channel resumes by itself after the cooldown (the next
// batch probes the provider) or when Resume is called (new credentials).
type Pausable struct {
	inner    Sender
	appID    string
	channel  string
	cooldown time.Duration
	now      func() time.Time
	log      *slog.Logger
	onPause  func(appID, channel string)

	mu     sync.Mutex
	until  time.Time
	reason string
}

// PauseOptions configure a Pausable.
type PauseOptions struct {
	Cooldown time.Duration // default 5m
	Now      func() time.Time
	Logger   *slog.Logger
	// OnPause is called each time the channel is paused (for a metric).
	OnPause func(appID, channel string)
}

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
	return &Pausable{inner: inner, appID: appID, channel: channel, cooldown: o.Cooldown, now: o.Now, log: o.Logger, onPause: o.OnPause}
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
	for _, r := range results {
		if r.Pause {
			p.pause(r)
			break
		}
	}
	return results
}

func (p *Pausable) left() (time.Duration, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.until.Sub(p.now()); d > 0 {
		return d, p.reason
	}
	return 0, ""
}

func (p *Pausable) pause(r Result) {
	p.mu.Lock()
	p.until = p.now().Add(p.cooldown)
	p.reason = r.Reason
	p.mu.Unlock()
	p.log.Error("pausing a channel: the provider refused this app's credentials or environment",
		"app_id", p.appID, "channel", p.channel, "reason", r.Reason, "for", p.cooldown.String(), "err", r.Err)
	if p.onPause != nil {
		p.onPause(p.appID, p.channel)
	}
}

// Paused reports whether the channel is paused, until when and why.
func (p *Pausable) Paused() (bool, time.Time, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now().Before(p.until), p.until, p.reason
}

// Resume lifts a pause (for example after the app's credentials changed).
func (p *Pausable) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.until = time.Time{}
}

// Close closes the wrapped sender.
func (p *Pausable) Close() error { return p.inner.Close() }
