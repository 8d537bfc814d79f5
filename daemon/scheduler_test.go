package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/herald-oss/herald/campaigns"
)

// A panic in a scheduler tick is logged and does not end the scheduler: the
// tick returns and the next one runs as usual.
func TestSchedulerTickRecoversPanics(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := &scheduler{n: &node{log: slog.New(slog.NewTextHandler(&buf, nil))}} // no campaign service: the tick panics
	for range 2 {
		s.tick(campaigns.SchedulerOptions{})
	}
	if n := strings.Count(buf.String(), "scheduler tick panicked"); n != 2 {
		t.Fatalf("%d panics logged, want 2:\n%s", n, buf.String())
	}
}
