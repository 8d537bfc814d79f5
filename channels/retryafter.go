package channels

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps a provider's requested wait.
const maxRetryAfter = time.Hour

// ParseRetryAfter reads a Retry-After header value: delay seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs >= int(maxRetryAfter/time.Second) {
			return maxRetryAfter // before multiplying: a huge value must not overflow
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}
