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

func TestMassInvalidationIsJudgedOverTheAppsRecentAnswers(t *testing.T) {
	t.Parallel()
	bad := channels.Result{Outcome: channels.DropToken, Reason: "BadDeviceToken"}
	ok := channels.Result{Outcome: channels.Delivered}
	isBad := func(r channels.Result) bool { return r.Reason == "BadDeviceToken" }
	type batch struct{ bad, good int }
	cases := []struct {
		name      string
		before    []batch // earlier batches of the app within the window
		now       batch
		wantPause bool
	}{
		{"one bad token in a small batch is pruned", nil, batch{1, 2}, false},
		{"three sandbox tokens in a page of 40 of a healthy app are pruned", nil, batch{3, 37}, false},
		{"a wrong environment: every token invalid", nil, batch{20, 0}, true},
		{"three of three invalid with nothing delivered pauses", nil, batch{3, 0}, true},
		{"a small batch of a healthy app is judged with its history", []batch{{0, 500}}, batch{3, 0}, false},
		{"a small batch after a run of invalid answers pauses", []batch{{10, 0}}, batch{1, 0}, true},
	}
	for _, c := range cases {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var current []channels.Result
		inner := &scripted{results: func(int) []channels.Result { return current }}
		p := channels.NewPausable(inner, "app", channels.APNs, channels.PauseOptions{Now: func() time.Time { return now }, IsInvalid: isBad})
		var got []channels.Result
		for _, b := range append(c.before, c.now) {
			current = append(repeat(b.bad, bad), repeat(b.good, ok)...)
			got = p.Send(context.Background(), make([]channels.Message, len(current)))
			now = now.Add(time.Second)
		}
		current = got // the last batch's results
		paused, _, _ := p.Paused()
		if paused != c.wantPause {
			t.Errorf("%s: paused = %v", c.name, paused)
			continue
		}
		for i, r := range current[:c.now.bad] {
			if c.wantPause && (r.Outcome != channels.Retry || r.After <= 0) {
				t.Errorf("%s: result %d = %+v, want a paused retry", c.name, i, r)
			}
			if !c.wantPause && r.Outcome != channels.DropToken {
				t.Errorf("%s: result %d = %+v, want drop_token", c.name, i, r)
			}
		}
	}
}

func TestPerTokenCredentialRefusals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	forbidden := channels.Result{Outcome: channels.Retry, Pause: true, Reason: "403 Forbidden"}
	var current []channels.Result
	inner := &scripted{results: func(int) []channels.Result { return current }}
	p := channels.NewPausable(inner, "web", channels.WebPush, channels.PauseOptions{Now: func() time.Time { return now },
		PerToken: func(r channels.Result) bool { return r.Reason == "403 Forbidden" }})
	// a subscription made with an old VAPID key while the app's others deliver: dropped
	current = []channels.Result{{Outcome: channels.Delivered}, forbidden}
	got := p.Send(context.Background(), make([]channels.Message, 2))
	if got[1].Outcome != channels.DropToken {
		t.Fatalf("lone 403 among deliveries = %+v", got[1])
	}
	if paused, _, _ := p.Paused(); paused {
		t.Fatal("a per-subscription refusal paused the app")
	}
	// every answer refused and nothing delivered for this app: its credentials are wrong
	q := channels.NewPausable(inner, "web2", channels.WebPush, channels.PauseOptions{Now: func() time.Time { return now },
		PerToken: func(r channels.Result) bool { return r.Reason == "403 Forbidden" }})
	current = []channels.Result{forbidden, forbidden}
	got = q.Send(context.Background(), make([]channels.Message, 2))
	if paused, _, _ := q.Paused(); !paused || got[0].Outcome != channels.Retry || got[0].After != 5*time.Minute {
		t.Fatalf("all refused: paused %v, result %+v", paused, got[0])
	}
}

func TestConcurrentPauseIsOnePause(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pauses := 0
	inner := &scripted{results: func(n int) []channels.Result {
		return repeat(n, channels.Result{Outcome: channels.Retry, Pause: true, Reason: "InvalidProviderToken"})
	}}
	p := channels.NewPausable(inner, "app", channels.APNs, channels.PauseOptions{Now: func() time.Time { return now },
		Cooldown: time.Minute, OnPause: func(string, string) { pauses++ }})
	first := p.Send(context.Background(), make([]channels.Message, 1))
	// a batch that was already in flight when the pause began does not extend it
	now = now.Add(30 * time.Second)
	p.Resume()
	p.Send(context.Background(), make([]channels.Message, 1))
	if pauses != 2 || first[0].After != time.Minute {
		t.Fatalf("pauses %d, first after %s", pauses, first[0].After)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{"": 0, "7": 7 * time.Second, "0": 0, "-3": 0, "junk": 0, "999999": time.Hour,
		"9223372037": time.Hour, "99999999999999999999": 0,
		"Thu, 01 Jan 2026 12:00:30 GMT": 30 * time.Second, "Thu, 01 Jan 2026 11:00:00 GMT": 0}
	for in, want := range cases {
		if got := channels.ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}
