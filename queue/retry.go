package queue

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
)

// Backoff is the error a handler returns when a provider or a rate limit asks
// to wait: not a failure (IsFailure is false, so the task's retry count is not
// used), the task runs again after After. Wrap it with %w freely.
type Backoff struct {
	// After is how long to wait; at least MinBackoff is waited.
	After time.Duration
	// Reason says who asked (e.g. "apns 429", "rate_limit"); it is logged.
	Reason string
}

func (b *Backoff) Error() string {
	return fmt.Sprintf("backoff %s: %s", b.After, b.Reason)
}

// MinBackoff is the shortest wait after a Backoff.
const MinBackoff = time.Second

// Retry delays of failed runs: exponential from firstRetry, capped at maxRetry.
const (
	firstRetry = time.Second
	maxRetry   = 5 * time.Minute
)

// asBackoff finds a Backoff in err's chain.
func asBackoff(err error) (*Backoff, bool) {
	var b *Backoff
	if errors.As(err, &b) && b != nil {
		return b, true
	}
	return nil, false
}

// isFailure tells asynq whether an error counts against the retry budget.
func isFailure(err error) bool {
	_, backoff := asBackoff(err)
	return !backoff
}

// retryDelay is asynq's RetryDelayFunc: the Backoff's wait, else an
// exponential delay with up to 25% jitter (n is the number of failed runs so
// far); either is waited at least, and up to 2s more.
func retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if b, ok := asBackoff(err); ok {
		return notBefore(max(b.After, MinBackoff), time.Now())
	}
	d := maxRetry
	if n < 16 {
		d = min(firstRetry<<max(n, 0), maxRetry)
	}
	return notBefore(d+rand.N(d/4+1), time.Now())
}

// notBefore returns a delay that makes a task run no earlier than wait from
// now: asynq stores a retry time in whole Unix seconds (truncated), so the
// wait is rounded up to whole seconds and counted from the next second.
func notBefore(wait time.Duration, now time.Time) time.Duration {
	wait = (wait + time.Second - 1).Truncate(time.Second)
	return wait + time.Second - time.Duration(now.Nanosecond())
}
