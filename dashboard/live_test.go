package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-oss/herald/dashboard"
)

// sseEvent is one server-sent event.
type sseEvent struct{ name, data string }

// stream opens the live view of a campaign and returns its events.
func (b *browser) stream(t *testing.T, ctx context.Context, id string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.e.url+"/dashboard/campaigns/"+id+"/live", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: b.cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan sseEvent, 16)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "":
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
				ev = sseEvent{}
			}
		}
	}()
	return out, res
}

type liveEvent struct {
	Dispatch  string                      `json:"dispatch"`
	Status    string                      `json:"status"`
	Totals    map[string]int64            `json:"totals"`
	Delivered int64                       `json:"delivered"`
	Messages  int64                       `json:"messages"`
	Funnel    map[string]map[string]int64 `json:"funnel"`
}

func next(t *testing.T, events <-chan sseEvent) (string, liveEvent) {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the stream ended")
		}
		var le liveEvent
		if ev.name == "stats" {
			if err := json.Unmarshal([]byte(ev.data), &le); err != nil {
				t.Fatalf("event data %q: %v", ev.data, err)
			}
		}
		return ev.name, le
	case <-time.After(10 * time.Second):
		t.Fatal("no event in 10s")
	}
	return "", liveEvent{}
}

// countingStats is a swapped-in source (as real-time counters will be):
// every read delivers one more message.
type countingStats struct{ n atomic.Int64 }

func (c *countingStats) Stats(_ context.Context, id string) (*dashboard.CampaignStats, error) {
	n := c.n.Add(1)
	return &dashboard.CampaignStats{CampaignID: id, Engagement: map[string]map[string]int64{"web_push": {"delivery": n, "click": 1}},
		Dispatches: []dashboard.DispatchStats{{ID: "d1", Status: "running", Totals: map[string]int64{"delivered": n, "aborted:no_valid_token": 2}}}}, nil
}

func TestLiveStreamFromStatsSource(t *testing.T) {
	t.Parallel()
	src := &countingStats{}
	e := newEnv(t, envOptions{driver: "sqlite", deps: func(d *dashboard.Deps) { d.Stats = src }})
	b := e.signIn(e.admin)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := src.n.Load()
	events, res := b.stream(t, ctx, "any")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %v", res.StatusCode, res.Header)
	}
	name, first := next(t, events)
	_, second := next(t, events)
	if name != "stats" || first.Dispatch != "d1" || first.Status != "running" || first.Funnel["web_push"]["click"] != 1 {
		t.Fatalf("first event: %s %+v", name, first)
	}
	if first.Delivered != before+1 || second.Delivered != first.Delivered+1 || second.Messages != second.Delivered+2 {
		t.Fatalf("the counts do not follow the source: %+v then %+v", first, second)
	}
}

// The default source is GET /manage/campaigns/{id}/stats: the stream shows
// its numbers, an unknown campaign is the API's 404, and a revoked key ends
// the stream.
func TestLiveStreamDefaultSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn(e.key("live", "manage"))
	id := b.launched("Live")
	var api struct {
		Dispatches []struct {
			ID     string           `json:"id"`
			Status string           `json:"status"`
			Totals map[string]int64 `json:"totals"`
		} `json:"dispatches"`
	}
	if err := json.Unmarshal([]byte(e.apiCall("GET", "/manage/campaigns/"+id+"/stats", nil).body), &api); err != nil || len(api.Dispatches) != 1 {
		t.Fatalf("API stats: %v %+v", err, api)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, _ := b.stream(t, ctx, id)
	name, ev := next(t, events)
	if name != "stats" || ev.Dispatch != api.Dispatches[0].ID || ev.Status != api.Dispatches[0].Status || len(ev.Totals) != len(api.Dispatches[0].Totals) {
		t.Fatalf("stream %s %+v, API %+v", name, ev, api.Dispatches[0])
	}
	if res := b.get("/dashboard/campaigns/nope/live", "Accept", "text/event-stream"); res.status != http.StatusNotFound {
		t.Fatalf("unknown campaign: %d %s", res.status, res.body)
	}
	// revoke the session's key: the stream says so and ends
	keys, _ := e.store.ListAPIKeys(ctx)
	for _, k := range keys {
		if k.Name == "live" {
			if err := e.store.RevokeAPIKey(ctx, k.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	endsWith(t, events, "signedout")
}

// A server's graceful shutdown ends the live streams at once (the browser
// reconnects) instead of waiting for them until its drain timeout.
func TestLiveStreamEndsAtShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{driver: "sqlite", deps: func(d *dashboard.Deps) { d.Stats = &countingStats{} }})
	b := e.signIn(e.admin)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, _ := b.stream(t, ctx, "any")
	if name, _ := next(t, events); name != "stats" {
		t.Fatalf("first event: %s", name)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	start := time.Now()
	if err := e.server.Config.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown with a live stream open: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	endsWith(t, events, "shutdown")
}

// endsWith reads events until one named last, after which the stream must
// end.
func endsWith(t *testing.T, events <-chan sseEvent, last string) {
	t.Helper()
	for {
		if name, _ := next(t, events); name == last {
			break
		}
	}
	if _, ok := <-events; ok {
		t.Fatalf("the stream went on after %q", last)
	}
}

// missingStats knows no campaign.
type missingStats struct{}

func (missingStats) Stats(_ context.Context, id string) (*dashboard.CampaignStats, error) {
	return nil, fmt.Errorf("campaign %s: %w", id, dashboard.ErrNotFound)
}

// A swapped-in source's unknown campaign is a 404, as the API's is.
func TestLiveStreamSourceNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{driver: "sqlite", deps: func(d *dashboard.Deps) { d.Stats = missingStats{} }})
	b := e.signIn(e.admin)
	_, res := b.stream(t, context.Background(), "nope")
	if res.StatusCode != 404 {
		t.Fatalf("stream of an unknown campaign: %d, want 404", res.StatusCode)
	}
}
