package webpush

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

// headerTap records the Authorization header of every request.
type headerTap struct {
	inner interface {
		Do(*http.Request) (*http.Response, error)
	}
	mu   sync.Mutex
	seen []string
}

func (h *headerTap) Do(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.seen = append(h.seen, r.Header.Get("Authorization"))
	h.mu.Unlock()
	return h.inner.Do(r)
}

func (h *headerTap) distinct() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := map[string]bool{}
	for _, s := range h.seen {
		m[s] = true
	}
	return len(m)
}

// The signed VAPID header is reused for the same push service (the fake
// verifies every one), and signed again an hour before its 12-hour token
// expires.
func TestVAPIDHeaderReused(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, webpushfake.Config{}, Options{Now: clock})
	tap := &headerTap{inner: e.sender.client}
	e.sender.client = tap
	var msgs []channels.Message
	for _, id := range []string{"a", "b", "c"} {
		msgs = append(msgs, message(id, e.subscribe(t, "")))
	}
	for _, r := range e.sender.Send(context.Background(), msgs) {
		if r.Outcome != channels.Delivered {
			t.Fatalf("first sends: %+v", r)
		}
	}
	if n := tap.distinct(); n != 1 || len(tap.seen) != 3 {
		t.Fatalf("%d requests with %d distinct Authorization headers, want 3 with 1", len(tap.seen), n)
	}
	mu.Lock()
	now = now.Add(10*time.Hour + 59*time.Minute)
	mu.Unlock()
	if r := e.sender.Send(context.Background(), msgs[:1]); r[0].Outcome != channels.Delivered || tap.distinct() != 1 {
		t.Fatalf("within the reuse window: %+v, %d headers", r[0], tap.distinct())
	}
	mu.Lock()
	now = now.Add(2 * time.Minute) // 11h01m after the first signature
	mu.Unlock()
	if r := e.sender.Send(context.Background(), msgs[1:2]); r[0].Outcome != channels.Delivered || tap.distinct() != 2 {
		t.Fatalf("after the reuse window: %+v, %d headers, want a new one", r[0], tap.distinct())
	}
}
