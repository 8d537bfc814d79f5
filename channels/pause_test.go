package channels_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
)

// scripted is a Sender answering from a script; it stands for a provider, not
// for anything of Herald's own.
type scripted struct {
	calls   atomic.Int32
	results func(n int) []channels.Result
}

func (s *scripted) Send(_ context.Context, msgs []channels.Message) []channels.Result {
	s.calls.Add(1)
	return s.results(len(msgs))
}
func (s *scripted) Close() error { return nil }

func repeat(n int, r channels.Result) []channels.Result {
	out := make([]channels.Result, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func TestPausableStopsSendingAfterACredentialError(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	authErr := channels.Result{Outcome: channels.Retry, Pause: true, Reason: "InvalidProviderToken", Err: errors.New("403")}
	inner := &scripted{results: func(n int) []channels.Result { return repeat(n, authErr) }}
	pauses := 0
	p := channels.NewPausable(inner, "app-1", channels.APNs, channels.PauseOptions{
		Cooldown: time.Minute, Now: func() time.Time { return now }, OnPause: func(string, string) { pauses++ }})
	msgs := make([]channels.Message, 3)
	if got := p.Send(context.Background(), msgs); got[0].Reason != "InvalidProviderToken" {
		t.Fatalf("first batch: %+v", got[0])
	}
	if paused, until, reason := p.Paused(); !paused || !until.Equal(now.Add(time.Minute)) || reason != "InvalidProviderToken" || pauses != 1 {
		t.Fatalf("Paused = %v %v %q, pauses %d", paused, until, reason, pauses)
	}
	now = now.Add(20 * time.Second)
	got := p.Send(context.Background(), msgs)
	if inner.calls.Load() != 1 {
		t.Fatal("a paused channel contacted the provider")
	}
	for _, r := range got {
		if r.Outcome != channels.Retry || r.After != 40*time.Second || r.Reason != "channel_paused" {
			t.Fatalf("paused result = %+v", r)
		}
	}
	// after the cooldown the next batch probes the provider again
	inner.results = func(n int) []channels.Result { return repeat(n, channels.Result{Outcome: channels.Delivered}) }
	now = now.Add(41 * time.Second)
	if got := p.Send(context.Background(), msgs); got[0].Outcome != channels.Delivered || inner.calls.Load() != 2 {
		t.Fatalf("after the cooldown: %+v, %d calls", got[0], inner.calls.Load())
	}
	// Resume lifts a pause at once
	inner.results = func(n int) []channels.Result { return repeat(n, authErr) }
	p.Send(context.Background(), msgs)
	p.Resume()
	if paused, _, _ := p.Paused(); paused {
		t.Fatal("still paused after Resume")
	}
}

func TestGuardMassInvalidation(t *testing.T) {
	t.Parallel()
	bad := channels.Result{Outcome: channels.DropToken, Reason: "BadDeviceToken"}
	ok := channels.Result{Outcome: channels.Delivered}
	isBad := func(r channels.Result) bool { return r.Reason == "BadDeviceToken" }
	cases := []struct {
		name        string
		bad, good   int
		wantRewrite bool
	}{
		{"one bad token in a small batch is pruned", 1, 2, false},
		{"two of a hundred are pruned", 2, 98, false},
		{"four of a hundred (over 3, under 5%) are pruned", 4, 96, false},
		{"six of a hundred pause instead", 6, 94, true},
		{"three of three pause instead", 3, 0, true},
	}
	for _, c := range cases {
		results := append(repeat(c.bad, bad), repeat(c.good, ok)...)
		rewrote := channels.GuardMassInvalidation(results, isBad)
		if rewrote != c.wantRewrite {
			t.Errorf("%s: rewrote = %v", c.name, rewrote)
			continue
		}
		for i, r := range results[:c.bad] {
			if c.wantRewrite && (r.Outcome != channels.Retry || !r.Pause) {
				t.Errorf("%s: result %d = %+v", c.name, i, r)
			}
			if !c.wantRewrite && r.Outcome != channels.DropToken {
				t.Errorf("%s: result %d = %+v", c.name, i, r)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{"": 0, "7": 7 * time.Second, "0": 0, "-3": 0, "junk": 0, "999999": time.Hour,
		"Thu, 01 Jan 2026 12:00:30 GMT": 30 * time.Second, "Thu, 01 Jan 2026 11:00:00 GMT": 0}
	for in, want := range cases {
		if got := channels.ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}
