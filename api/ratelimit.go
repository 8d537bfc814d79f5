package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/apikeys"
)

// Rate limit classes: each endpoint counts against one, per API key.
const (
	classUsersTrack     = "users_track"
	classUsersTrackBulk = "users_track_bulk"
	classUsersExport    = "users_export"
	classUsersIdentity  = "users_identity"
	classDefault        = "default"
)

// Limiter counts requests per key and class in fixed windows kept in Redis, so
// every API node shares the same budget. The window index is part of the key, so
// correctness never depends on Redis expiring keys (TTLs only clean up).
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	log    *slog.Logger
	warned atomic.Int64 // unix second of the last "Redis down" warning
}

// NewLimiter returns a Limiter; keys are written under prefix.
func NewLimiter(rdb redis.UniversalClient, prefix string, now func() time.Time, log *slog.Logger) *Limiter {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{rdb: rdb, prefix: prefix, now: now, log: log}
}

var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// Decision is the outcome of one Take.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	Reset     time.Time
}

// Take counts one request. When Redis is unreachable it allows the request (the
// limiter fails open) and logs at most one warning a minute.
func (l *Limiter) Take(ctx context.Context, keyID, class string, lim Limit) (Decision, error) {
	now := l.now()
	win := lim.Window.Milliseconds()
	idx := now.UnixMilli() / win
	reset := time.UnixMilli((idx + 1) * win)
	key := l.prefix + "rl:" + keyID + ":" + class + ":" + strconv.FormatInt(idx, 10)
	n, err := incrScript.Run(ctx, l.rdb, []string{key}, win+1000).Int64()
	if err != nil {
		return Decision{Allowed: true, Limit: lim.Requests, Remaining: lim.Requests, Reset: reset}, err
	}
	rem := lim.Requests - int(n)
	if rem < 0 {
		rem = 0
	}
	return Decision{Allowed: int(n) <= lim.Requests, Limit: lim.Requests, Remaining: rem, Reset: reset}, nil
}

func (s *Server) limitFor(class string) Limit {
	l := s.opts.Limits
	switch class {
	case classUsersTrack:
		return l.UsersTrack
	case classUsersTrackBulk:
		return l.UsersTrackBulk
	case classUsersExport:
		return l.UsersExport
	case classUsersIdentity:
		return l.UsersIdentity
	}
	return l.Default
}

// rateLimit applies the key's limit for class, sets the X-RateLimit-* headers and
// answers 429 when the budget is spent.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, key *apikeys.Key, class string) bool {
	lim := s.limitFor(class)
	if lim.Requests <= 0 || s.deps.Limiter == nil {
		return true
	}
	d, err := s.deps.Limiter.Take(r.Context(), key.ID, class, lim)
	if err != nil {
		s.metrics.limiterErrors.Inc()
		l := s.deps.Limiter
		if now := l.now().Unix(); l.warned.Load() < now-60 {
			l.warned.Store(now)
			s.log.Warn("rate limiter unavailable, allowing requests", "err", err)
		}
	}
	h := w.Header()
	// Braze's spelling; header names are case-insensitive, but clients log them
	h["X-RateLimit-Limit"] = []string{strconv.Itoa(d.Limit)}
	h["X-RateLimit-Remaining"] = []string{strconv.Itoa(d.Remaining)}
	h["X-RateLimit-Reset"] = []string{strconv.FormatInt(d.Reset.Unix(), 10)}
	if !d.Allowed {
		s.metrics.rateLimited.WithLabelValues(class).Inc()
		h.Set("Retry-After", retryAfterSeconds(d.Reset.Sub(s.deps.Limiter.now())))
		writeMessage(w, http.StatusTooManyRequests, "rate limit exceeded for this API key, retry after the reset time")
		return false
	}
	return true
}
