package campaigns

import (
	"fmt"
	"testing"
	"time"
)

func TestLatencyBuckets(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", 1001 * time.Microsecond: "2",
		7 * time.Millisecond: "10", 250 * time.Millisecond: "250", 9 * time.Second: "10000", 11 * time.Second: "inf"} {
		if got := latencyBucket(d); got != want {
			t.Errorf("bucket of %s = %s, want %s", d, got, want)
		}
	}
}

// The live view groups counters by channel and kind, and reads the
// latency percentiles off the buckets: the bound of the bucket holding the
// ceil(q*n)-th round trip.
func TestParseLive(t *testing.T) {
	t.Parallel()
	l := parseLive(map[string]int64{"apple_push.delivery": 90, "apple_push.send": 100, "web_push.open": 3,
		"latency.apple_push.5": 50, "latency.apple_push.25": 40, "latency.apple_push.250": 9, "latency.apple_push.inf": 1,
		"latency.web_push.100": 1, "junk": 4})
	if fmt.Sprint(l.Counts) != "map[apple_push:map[delivery:90 send:100] web_push:map[open:3]]" {
		t.Errorf("counts %v", l.Counts)
	}
	if got := l.Latency["apple_push"]; got != (LatencyPercentiles{Count: 100, P50: 5, P90: 25, P99: 250}) {
		t.Errorf("apple_push latency %+v", got)
	}
	if got := l.Latency["web_push"]; got != (LatencyPercentiles{Count: 1, P50: 100, P90: 100, P99: 100}) {
		t.Errorf("web_push latency %+v", got)
	}
	all := parseLive(map[string]int64{"latency.x.inf": 2})
	if got := all.Latency["x"]; got.P50 != -1 || got.P99 != -1 {
		t.Errorf("above the last bound: %+v", got)
	}
}
