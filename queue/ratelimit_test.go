package queue

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A budget of 5 a minute is shared by every taker (several workers) and
// starts again the next minute.
func TestRateLimiterSharesAMinuteBudget(t *testing.T) {
	t.Parallel()
	rdb, prefix := testRedis(t)
	now := time.Date(2026, 6, 1, 12, 0, 45, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l1, l2 := NewRateLimiter(rdb, prefix, clock), NewRateLimiter(rdb, prefix, clock)
	ctx := context.Background()
	if got, wait, err := l1.Take(ctx, "c1", 3, 5); err != nil || got != 3 || wait != 15*time.Second {
		t.Fatalf("first take: %d %s %v", got, wait, err)
	}
	if got, _, err := l2.Take(ctx, "c1", 5, 5); err != nil || got != 2 {
		t.Fatalf("second worker: %d %v, want the 2 left", got, err)
	}
	if got, _, _ := l1.Take(ctx, "c1", 1, 5); got != 0 {
		t.Fatalf("over the budget: got %d", got)
	}
	if got, _, _ := l1.Take(ctx, "c2", 4, 5); got != 4 {
		t.Fatalf("another key: got %d", got)
	}
	mu.Lock()
	now = now.Add(20 * time.Second)
	mu.Unlock()
	if got, _, _ := l2.Take(ctx, "c1", 9, 5); got != 5 {
		t.Fatalf("next minute: got %d, want 5", got)
	}
}
