package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeScript takes up to ARGV[1] of a fixed-window budget of ARGV[2] from
// KEYS[1] and returns how many it took; the key expires after the window.
var takeScript = redis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local want, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local take = math.min(want, limit - used)
if take <= 0 then return 0 end
redis.call('INCRBY', KEYS[1], take)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return take
`)

// RateLimiter shares per-minute budgets (campaign rate limits) between every
// worker through Redis: one counter per key and minute.
type RateLimiter struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewRateLimiter returns a limiter whose keys start with prefix (the
// config's Redis key prefix).
func NewRateLimiter(rdb redis.UniversalClient, prefix string, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	return &RateLimiter{rdb: rdb, prefix: prefix, now: now}
}

// Take takes up to n of key's per-minute limit for the current minute and
// returns how many it got and how long until the next minute.
func (l *RateLimiter) Take(ctx context.Context, key string, n, limit int) (int, time.Duration, error) {
	now := l.now()
	minute := now.Unix() / 60
	wait := time.Unix((minute+1)*60, 0).Sub(now)
	if n <= 0 {
		return 0, wait, nil
	}
	k := fmt.Sprintf("%sratelimit:{%s}:%d", l.prefix, key, minute)
	got, err := takeScript.Run(ctx, l.rdb, []string{k}, n, limit, 120).Int()
	if err != nil {
		return 0, wait, fmt.Errorf("queue: rate limit %s: %w", key, err)
	}
	return got, wait, nil
}
