package apns

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/payload"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/apns/apnsfake"
	"github.com/herald-oss/herald/channels/fake"
)

// The same load for both benchmarks: benchInFlight requests in flight on one
// HTTP/2 client, against the same fake on loopback, one op per message. The
// fake runs in the benchmark's process, so its CPU and allocations count in
// both figures; compare the two, not the absolute numbers.
const (
	benchInFlight = 256
	benchBatch    = 500 // one page of a campaign delivery
	benchCallers  = 4   // delivery tasks calling Send at once
	benchTokens   = 500 // distinct device tokens (the fake counts attempts per token)
)

func benchEnv(b *testing.B) *env {
	// A small record window: Recorder.Add copies the whole window once it is full.
	return newEnv(b, func(c *apnsfake.Config) { c.Recorder = fake.NewRecorder(16) })
}

// BenchmarkSender is Herald's layer: build the payload from the rendered
// object, bound in-flight requests, classify, guard the batch.
func BenchmarkSender(b *testing.B) {
	e := benchEnv(b)
	s := e.sender(b, func(_ *Credentials, o *Options) { o.MaxInFlight = benchInFlight })
	obj := map[string]any{"alert": map[string]any{"title": "Hi Ada", "body": "Your order has shipped."}}
	msgs := make([]channels.Message, benchBatch)
	for i := range msgs {
		msgs[i] = message(fmt.Sprint("msg-", i), fmt.Sprintf("%064x", i%benchTokens), obj)
	}
	if r := s.Send(context.Background(), msgs[:1]); r[0].Outcome != channels.Delivered {
		b.Fatalf("warm-up: %s %q", r[0].Outcome, r[0].Reason)
	}
	var next atomic.Int64
	var failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	var wg sync.WaitGroup
	for range benchCallers {
		wg.Go(func() {
			for {
				n := int(next.Add(benchBatch)) - benchBatch
				if n >= b.N {
					return
				}
				for _, r := range s.Send(context.Background(), msgs[:min(benchBatch, b.N-n)]) {
					if r.Outcome != channels.Delivered {
						failed.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	reportRate(b, start, cpu)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d messages not delivered", f)
	}
}

// BenchmarkBareApns2 is apns2 alone: one token client, a worker pool of the
// same size, apns2's payload builder, a check of the status.
func BenchmarkBareApns2(b *testing.B) {
	e := benchEnv(b)
	tok := &token.Token{AuthKey: e.key, KeyID: testKID, TeamID: testTeam}
	if _, err := tok.Generate(); err != nil {
		b.Fatal(err)
	}
	client := apns2.NewTokenClient(tok)
	client.Host = e.srv.URL
	client.HTTPClient.Transport.(*http2.Transport).TLSClientConfig = &tls.Config{RootCAs: e.srv.Pool()}
	defer client.CloseIdleConnections()
	push := func(i int) bool {
		p := payload.NewPayload().AlertTitle("Hi Ada").AlertBody("Your order has shipped.").
			Custom(KeyMessageID, fmt.Sprint("msg-", i%benchBatch)).Custom(KeyDispatchID, "d1")
		res, err := client.PushWithContext(context.Background(), &apns2.Notification{
			DeviceToken: fmt.Sprintf("%064x", i%benchTokens), Topic: testTopic, Payload: p})
		return err == nil && res.StatusCode == 200
	}
	if !push(0) {
		b.Fatal("warm-up failed")
	}
	var next atomic.Int64
	var failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	var wg sync.WaitGroup
	for range benchInFlight {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if !push(i) {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	reportRate(b, start, cpu)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d messages not delivered", f)
	}
}

// reportRate reports messages per second and the CPU time (sender and fake
// together) per message, which the machine's other load disturbs less.
func reportRate(b *testing.B, start time.Time, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	if used := processCPU() - cpu; used > 0 {
		b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/msg")
	}
}

// BenchmarkBuildPayload is the payload builder alone.
func BenchmarkBuildPayload(b *testing.B) {
	m := message("msg-1", "tok", map[string]any{
		"alert": map[string]any{"title": "Hi Ada", "body": "Your order has shipped."},
		"badge": 1.0, "sound": "default", "extra": map[string]any{"order": "A-1"},
	})
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildPayload(m, now); err != nil {
			b.Fatal(err)
		}
	}
}
