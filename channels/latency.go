package channels

import (
	"context"
	"time"
)

type latencyKey struct{}

// WithLatencyRecorder returns a context whose provider round trips (the
// requests a Sender makes with it) report their latency to record, beside
// the sender's own Observe option: how a caller learns the latencies of its
// own messages. record may be called from several goroutines at once.
func WithLatencyRecorder(ctx context.Context, record func(time.Duration)) context.Context {
	return context.WithValue(ctx, latencyKey{}, record)
}

// ObserveSince reports the latency of a round trip that started at start
// to the sender's own observe option (when set) and to the recorder ctx
// carries (when any). Senders call it wherever they time a round trip.
func ObserveSince(ctx context.Context, observe func(time.Duration), start time.Time) {
	d := time.Since(start)
	if observe != nil {
		observe(d)
	}
	if record, ok := ctx.Value(latencyKey{}).(func(time.Duration)); ok {
		record(d)
	}
}
