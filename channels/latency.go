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

// ObserveLatency reports one round trip's latency to the recorder ctx
// carries, if any. Senders call it wherever they time a round trip.
func ObserveLatency(ctx context.Context, d time.Duration) {
	if record, ok := ctx.Value(latencyKey{}).(func(time.Duration)); ok {
		record(d)
	}
}
