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
	for _, want := range []PushMark{marks[1], marks[2], marks[3]} { // the latest on apple_push
		m, ok, err := l.RecentPush(ctx, want.UserID, want.Channel)
		if err != nil || !ok || m.DispatchID != want.DispatchID || m.CampaignID != want.CampaignID || !m.At.Equal(want.At) {
			t.Errorf("mark of user %d on %s: %+v %v %v, want %+v", want.UserID, want.Channel, m, ok, err, want)
		}
	}
	if ttl := rdb.PTTL(ctx, prefix+"recentpush:7:apple_push").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("ttl %s", ttl)
	}
	if m, ok, err := l.RecentPush(ctx, 7, "android_push"); err != nil || ok {
		t.Errorf("a channel without pushes: %+v %v %v", m, ok, err)
	}
}
