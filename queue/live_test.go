package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/internal/testdeps"
)

// Counters added from several writers at once sum up per campaign, and a
// campaign's hash expires after the TTL from its last change.
func TestLiveCountersSumAndExpire(t *testing.T) {
	t.Parallel()
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	l := NewLiveCounters(rdb, prefix, time.Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := l.Add(ctx, map[string]map[string]int64{"c1": {"apple_push.delivery": 2, "apple_push.send": 2}, "c2": {"web_push.bounce": 1}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := l.Get(ctx, "c1")
	if err != nil || len(got) != 2 || got["apple_push.delivery"] != 16 || got["apple_push.send"] != 16 {
		t.Fatalf("c1: %v %v", got, err)
	}
	if got, _ := l.Get(ctx, "c2"); got["web_push.bounce"] != 8 {
		t.Fatalf("c2: %v", got)
	}
	if got, err := l.Get(ctx, "none"); err != nil || len(got) != 0 {
		t.Fatalf("a campaign without counters: %v %v", got, err)
	}
	if ttl := rdb.TTL(ctx, prefix+"live:c1").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("ttl %s, want about an hour", ttl)
	}
	rdb.HSet(ctx, prefix+"live:bad", "x", "not a number")
	if _, err := l.Get(ctx, "bad"); err == nil {
		t.Fatal("a corrupt counter was read as a number")
	}
}

// testRedis connects to the test Redis under a key prefix of the test's own.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	addr, prefix := testdeps.RedisOrMini(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb, prefix
}

// A user's latest push per channel is kept for the window and read back.
func TestPushMarks(t *testing.T) {
	t.Parallel()
	rdb, prefix := testRedis(t)
	ctx := context.Background()
	l := NewLiveCounters(rdb, prefix, 0)
	at := time.UnixMilli(1_760_000_000_000)
	marks := []PushMark{{UserID: 7, Channel: "apple_push", DispatchID: "d1", CampaignID: "c1", At: at},
		{UserID: 7, Channel: "apple_push", DispatchID: "d2", CampaignID: "c2", At: at.Add(time.Minute)},
		{UserID: 7, Channel: "web_push", DispatchID: "d3", CampaignID: "c3", At: at},
		{UserID: 8, Channel: "apple_push", DispatchID: "d1", CampaignID: "c1", At: at}}
	if err := l.MarkPushes(ctx, marks, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := l.RecentPushes(ctx, 7)
	if err != nil || len(got) != 2 {
		t.Fatalf("marks of user 7: %+v %v", got, err)
	}
	for _, m := range got {
		want := marks[1] // the latest on apple_push
		if m.Channel == "web_push" {
			want = marks[2]
		}
		if m.DispatchID != want.DispatchID || m.CampaignID != want.CampaignID || !m.At.Equal(want.At) || m.UserID != 7 {
			t.Errorf("mark %+v, want %+v", m, want)
		}
	}
	if ttl := rdb.PTTL(ctx, prefix+"recentpush:7").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("ttl %s", ttl)
	}
	if got, err := l.RecentPushes(ctx, 9); err != nil || len(got) != 0 {
		t.Errorf("a user without pushes: %+v %v", got, err)
	}
}
