package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// LiveCounters keeps real-time counters per campaign in Redis, one hash a
// campaign (<prefix>live:<campaign id>), for live views: incremented by the
// workers and the API as they record, read in one HGETALL. They are a view,
// not the record: the store's engagement rows are.
type LiveCounters struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// DefaultLiveTTL is how long a campaign's counters are kept after their last
// change.
const DefaultLiveTTL = 30 * 24 * time.Hour

// NewLiveCounters returns the counters of the given Redis under prefix;
// ttl <= 0 takes DefaultLiveTTL.
func NewLiveCounters(rdb redis.UniversalClient, prefix string, ttl time.Duration) *LiveCounters {
	if ttl <= 0 {
		ttl = DefaultLiveTTL
	}
	return &LiveCounters{rdb: rdb, prefix: prefix, ttl: ttl}
}

func (l *LiveCounters) key(campaignID string) string { return l.prefix + "live:" + campaignID }

// Add adds counts (field -> delta) to each campaign's counters, all in one
// round trip.
func (l *LiveCounters) Add(ctx context.Context, counts map[string]map[string]int64) error {
	if len(counts) == 0 {
		return nil
	}
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, fields := range counts {
			for f, n := range fields {
				if n != 0 {
					p.HIncrBy(ctx, l.key(id), f, n)
				}
			}
			p.Expire(ctx, l.key(id), l.ttl)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: live counters: %w", err)
	}
	return nil
}

// Get returns a campaign's counters (empty when it has none).
func (l *LiveCounters) Get(ctx context.Context, campaignID string) (map[string]int64, error) {
	m, err := l.rdb.HGetAll(ctx, l.key(campaignID)).Result()
	if err != nil {
		return nil, fmt.Errorf("queue: live counters: %w", err)
	}
	out := make(map[string]int64, len(m))
	for f, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("queue: live counter %s of %s: %w", f, campaignID, err)
		}
		out[f] = n
	}
	return out, nil
}

// PushMark is the latest push a user was delivered on a channel, kept for
// influenced opens.
type PushMark struct {
	UserID                          int64
	Channel, DispatchID, CampaignID string
	At                              time.Time
}

func (l *LiveCounters) pushKey(userID int64, channel string) string {
	return l.prefix + "recentpush:" + strconv.FormatInt(userID, 10) + ":" + channel
}

// MarkPushes records each user's latest delivered push per channel for
// window (a key per user and channel, one SET each), in one round trip.
func (l *LiveCounters) MarkPushes(ctx context.Context, marks []PushMark, window time.Duration) error {
	if len(marks) == 0 {
		return nil
	}
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range marks {
			p.Set(ctx, l.pushKey(m.UserID, m.Channel), m.DispatchID+"|"+m.CampaignID+"|"+strconv.FormatInt(m.At.UnixMilli(), 10), window)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: push marks: %w", err)
	}
	return nil
}

// RecentPush returns a user's latest delivered push on a channel, if one
// was marked within the window MarkPushes kept it for.
func (l *LiveCounters) RecentPush(ctx context.Context, userID int64, channel string) (PushMark, bool, error) {
	v, err := l.rdb.Get(ctx, l.pushKey(userID, channel)).Result()
	if errors.Is(err, redis.Nil) {
		return PushMark{}, false, nil
	}
	if err != nil {
		return PushMark{}, false, fmt.Errorf("queue: push marks: %w", err)
	}
	parts := strings.SplitN(v, "|", 3)
	if len(parts) != 3 {
		return PushMark{}, false, fmt.Errorf("queue: push mark of user %d on %s: %q", userID, channel, v)
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return PushMark{}, false, fmt.Errorf("queue: push mark of user %d on %s: %w", userID, channel, err)
	}
	return PushMark{UserID: userID, Channel: channel, DispatchID: parts[0], CampaignID: parts[1], At: time.UnixMilli(ms)}, true, nil
}
