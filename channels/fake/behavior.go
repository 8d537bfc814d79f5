package fake

import (
	"strings"
	"sync"
	"time"
)

// Behavior is what a fake does with a message, decided by its token.
type Behavior struct {
	Unregistered bool // answer "gone"
	BadDevice    bool // answer "invalid token"
	Throttle     bool // 429, Retry-After: 1, on the first attempt
	Flaky        bool // 503 on the first attempt
	Slow         bool // 200 ms latency
}

// Latency of a "slow" token.
const Latency = 200 * time.Millisecond

// ParseBehavior reads the behaviour words in a token.
func ParseBehavior(token string) Behavior {
	t := strings.ToLower(token)
	return Behavior{
		Unregistered: strings.Contains(t, "unregistered"),
		BadDevice:    strings.Contains(t, "baddevice"),
		Throttle:     strings.Contains(t, "throttle"),
		Flaky:        strings.Contains(t, "flaky"),
		Slow:         strings.Contains(t, "slow"),
	}
}

// Attempts counts attempts per token, so throttle and flaky tokens fail only the
// first time. It is safe for concurrent use.
type Attempts struct {
	mu   sync.Mutex
	seen map[string]int
}

// Next records an attempt for key and returns its number (1 for the first).
func (a *Attempts) Next(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil || len(a.seen) >= maxAttemptKeys {
		a.seen = map[string]int{} // bounded memory in long dev sessions
	}
	a.seen[key]++
	return a.seen[key]
}

// maxAttemptKeys bounds the tokens Attempts remembers.
const maxAttemptKeys = 100000

// Decision is what a fake answers for one attempt.
type Decision int

// Decisions, in the order a fake checks them.
const (
	Accept Decision = iota
	Gone
	Invalid
	Throttled
	Unavailable
)

// Decide applies a token's behaviour to an attempt, sleeping for slow tokens
// (until done is closed).
func Decide(b Behavior, attempt int, done <-chan struct{}) Decision {
	if b.Slow {
		select {
		case <-time.After(Latency):
		case <-done:
		}
	}
	switch {
	case b.Unregistered:
		return Gone
	case b.BadDevice:
		return Invalid
	case b.Throttle && attempt == 1:
		return Throttled
	case b.Flaky && attempt == 1:
		return Unavailable
	}
	return Accept
}
